"""The stand-ins for Stripe's hosted pages: Checkout (pay / decline / abandon) and onboarding.

Plain HTML forms, one button per outcome, labelled for Playwright (``get_by_role("button",
name="Pay")``). After a payment the buyer is sent to ``success_url`` with ``{CHECKOUT_SESSION_ID}``
filled in, as Stripe does; "abandon" is the page's back link to ``cancel_url``; a declined card
stays on the page with Stripe's message, and the session stays open for another try.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from tests.fake_stripe import checkout
from tests.fake_stripe.params import StripeError

if TYPE_CHECKING:
    from tests.fake_stripe.server import FakeStripe

Obj = dict[str, Any]
Reply = tuple[int, dict[str, str], bytes]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}}
button{{display:block;width:100%;margin:.5rem 0;padding:.8rem;font-size:1rem}}
.error{{color:#b00020}}</style></head>
<body><p><small>fake-stripe · test mode</small></p>{body}</body></html>"""


def _html(status: int, title: str, body: str) -> Reply:
    page = _PAGE.format(title=html.escape(title), body=body)
    return status, {"Content-Type": "text/html; charset=utf-8"}, page.encode()


def _redirect(url: str) -> Reply:
    return 303, {"Location": url, "Content-Length": "0"}, b""


def checkout_page(fake: FakeStripe, session_id: str, method: str, body: bytes) -> Reply:
    with fake.store.lock:
        session = fake.store.objects.get(session_id)
        if session is None or session.get("object") != "checkout.session":
            return _html(404, "Not found", "<h1>Something went wrong</h1>"
                         "<p>The page you were looking for could not be found.</p>")
        checkout.sweep_expired(fake.store)
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()} if method == "POST" else {}
        action, email = form.get("action"), form.get("email") or "buyer@example.com"
        error = ""
        if action == "abandon":
            return _redirect(session["cancel_url"] or fake.base_url)
        if action in ("pay", "decline") and session["status"] == "open":
            try:
                if action == "pay":
                    checkout.pay(fake.store, session_id, email)
                    success = session["success_url"] or fake.base_url
                    return _redirect(success.replace("{CHECKOUT_SESSION_ID}", session_id))
                checkout.decline(fake.store, session_id, email)
                error = '<p class="error" role="alert">Your card was declined.</p>'
            except StripeError as err:
                error = f'<p class="error" role="alert">{html.escape(err.message)}</p>'
        if session["status"] != "open":
            return _html(200, "Checkout", "<h1>This Checkout Session is no longer active</h1>"
                         f"<p>Status: {html.escape(session['status'])}</p>")
        amount = checkout.format_amount(session["amount_total"], session["currency"])
        lines = "".join(
            f"<li>{html.escape(str(li['description']))} × {li['quantity']}</li>"
            for li in fake.store.private[session_id]["line_items"]
        )
        return _html(200, "Checkout", f"""<h1>Pay {html.escape(amount)}</h1><ul>{lines}</ul>
{error}<form method="post">
<label>Email <input name="email" type="email" value="{html.escape(email)}"></label>
<p>Card: 4242 4242 4242 4242 (test)</p>
<button name="action" value="pay">Pay</button>
<button name="action" value="decline">Pay with a declined card</button>
<button name="action" value="abandon">Back to the shop</button>
</form>""")


def onboarding_page(fake: FakeStripe, account_id: str, token: str, method: str,
                    body: bytes) -> Reply:
    with fake.store.lock:
        link = fake.store.private.get(token)
        if link is None or link.get("account") != account_id:
            return _html(404, "Not found", "<h1>This link is not valid</h1>")
        expired = link["used"] or link["expires_at"] < int(time.time()) + fake.store.clock_offset
        if expired and method == "GET":
            # Stripe sends a visitor of a used or expired link to refresh_url for a new one
            return _redirect(link["refresh_url"] or fake.base_url)
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()} if method == "POST" else {}
        if form.get("action") in ("complete", "leave"):
            link["used"] = True
            if form["action"] == "complete":
                fake.store.enable_charges(account_id)
            return _redirect(link["return_url"] or fake.base_url)
        return _html(200, "Set up payouts", f"""<h1>Set up payouts</h1>
<p>Account {html.escape(account_id)}</p><form method="post">
<button name="action" value="complete">Complete onboarding</button>
<button name="action" value="leave">Leave without finishing</button></form>""")
