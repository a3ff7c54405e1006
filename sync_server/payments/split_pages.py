"""Split payments as pages: the buyer splits a held ``SPLIT`` order among named payers and
follows their shares; each payer opens their share by the link mailed to them and pays it on
Stripe's hosted page. The same services as the JSON API (``splits``).

    GET/POST /my/orders/<id>/split   the buyer: the form, then the shares and the deadline
    GET      /split/<token>          a payer's share (public; the token is the key)
    POST     /split/<token>/pay      a payer's Pay button: 302 to their Checkout Session

A link whose token matches no share, or whose split closed more than ``LINK_DAYS_AFTER_CLOSE``
days ago, is a 404 page, the same for both, so a made-up token teaches nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.db import db_session, utcnow
from sync_server.errors import ApiError
from sync_server.events.models import Event
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.orders.services import hold_expires_at
from sync_server.payments import splits
from sync_server.payments.models import ShareStatus, SplitShare, SplitStatus
from sync_server.payments.split_forms import PayShareForm, SplitForm, dollars
from sync_server.payments.split_mail import share_page_path

logger = logging.getLogger(__name__)
bp = Blueprint("split_pages", __name__, template_folder="templates")

LINK_DAYS_AFTER_CLOSE = 7
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # secrets.token_urlsafe's alphabet
STATUS_WORDS = {ShareStatus.UNPAID: "Not paid yet", ShareStatus.OPEN: "Paying now",
                ShareStatus.PAID: "Paid", ShareStatus.REFUNDED: "Refunded",
                ShareStatus.CANCELLED: "Not paid (cancelled)"}


def _buyers_order(order_id: int) -> Order:
    order = db_session().get(Order, order_id)
    if order is None or order.user_id != g.user.id:
        abort(404)  # another buyer's order: nothing to learn
    return order


def _public_link(token: str) -> str:
    config = current_app.extensions["sync_config"]
    base = (config.public_url or url_for("accounts.home", _external=True)).rstrip("/")
    return base + share_page_path(token)


@bp.route("/my/orders/<id:order_id>/split", methods=["GET", "POST"])
@page_access(Access.USER)
def split(order_id: int) -> str | Response | tuple[str, int]:
    """The form while the order is held and not split; the shares once it is. A second submit
    of the form finds the order split and shows the shares (one split per order)."""
    session = db_session()
    order = _buyers_order(order_id)
    event = session.get(Event, order.event_id)
    found = splits.split_of(session, order.id)
    if found is not None:
        if request.method == "POST":  # a second submit of the form: show the one split
            return redirect(url_for("split_pages.split", order_id=order.id))
        return render_template("payments/split.html", order=order, event=event, split=found,
                               words=STATUS_WORDS, money=dollars, link=_public_link)
    held_until = hold_expires_at(session, order)
    if order.payment_method is not PaymentMethod.SPLIT \
            or order.payment_status is not PaymentStatus.PENDING \
            or held_until is None or held_until <= utcnow():
        flash("This order cannot be split: only an order held for a split payment can.", "error")
        return redirect(url_for("orders.order_page", order_id=order.id))
    form = SplitForm()
    status = 200
    if form.is_submitted() and form.more.data:
        if len(form.payers) < form.payers.max_entries:
            form.payers.append_entry()
    elif form.is_submitted():
        wanted = form.shares(order.total_cents)
        if wanted is not None:
            config = current_app.extensions["sync_config"]
            try:
                splits.create_split(session, order, wanted, hours=config.split_payment_hours)
                session.commit()  # each payer's link is e-mailed once this commits
            except IntegrityError:  # a second submit raced this one and split it first
                session.rollback()
            except ApiError as error:
                session.rollback()
                if splits.split_of(session, order.id) is None:
                    form.problems.append(error.message)
                    status = error.status
            if not form.problems:
                return redirect(url_for("split_pages.split", order_id=order.id))
        else:
            status = 422
    return render_template("payments/split_form.html", form=form, order=order, event=event,
                           held_until=held_until, money=dollars,
                           problems=getattr(form, "problems", [])), status


def _share_or_404(token: str) -> SplitShare:
    if not _TOKEN.fullmatch(token):  # (a NUL byte would reach PostgreSQL as an error)
        abort(404)
    try:
        found = splits.share_by_token(db_session(), token)
    except ApiError:
        abort(404)
    settled = found.split.settled_at
    if settled is not None and utcnow() - settled > timedelta(days=LINK_DAYS_AFTER_CLOSE):
        abort(404)  # an old link: the same answer as a made-up one
    return found


@bp.get("/split/<token>")
def share(token: str) -> str:
    """A payer's share: who asked, for which event, how much, and where it stands."""
    session = db_session()
    found = _share_or_404(token)
    order = session.get(Order, found.split.order_id)
    event = session.get(Event, order.event_id) if order is not None else None
    if order is None or event is None:
        abort(404)
    the_split = found.split
    paid = sum(1 for s in the_split.shares if s.status is ShareStatus.PAID)
    payable = the_split.status is SplitStatus.OPEN and found.status in splits.UNPAID_STATES \
        and the_split.deadline > utcnow()
    # Back from Stripe's page (?paid=1) before its webhook: say so, and look again shortly.
    confirming = payable and found.status is ShareStatus.OPEN and "paid" in request.args
    return render_template("payments/share.html", share=found, split=the_split, order=order,
                           event=event, paid=paid, payable=payable and not confirming,
                           confirming=confirming, form=PayShareForm(), money=dollars)


@bp.post("/split/<token>/pay")
def pay_share(token: str) -> Response:
    """The payer's Pay button: their own hosted payment page for exactly their share."""
    session = db_session()
    found = _share_or_404(token)
    form = PayShareForm()
    back = redirect(url_for("split_pages.share", token=token))
    if not form.validate_on_submit():
        flash("This page expired: press Pay again.", "error")
        return back
    try:
        return redirect(splits.open_share_payment(session, found))
    except ApiError as error:
        session.rollback()
        logger.info("share %s not opened for payment: %s", found.id, error.code)
        flash(error.message[:1].upper() + error.message[1:] + ".", "error")
        return back
