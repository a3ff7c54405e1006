"""Cancelling an event refunds every paid card order through a resumable, idempotent job.

The ``STRIPE`` refund hook (:func:`refund_hook`) runs inside the cancelling transaction. For an
order of a CANCELLED event it calls no one: it adds the order to the event's
:class:`RefundJob` (one per event) and marks its payment REFUNDING, so cancelling an event with
thousands of orders is one quick transaction that Stripe cannot make fail. Any other cancelled
order (one order, by its organizer) is refunded at once, as before.

:func:`resume_refund_jobs` (the jobs worker, or ``sync-server payments run-jobs``) then refunds
the job's orders **one per transaction**: lock the item, call Stripe with the order's idempotency
key (``order-<id>-refund-all``, ``share-<id>-refund``), mark it refunded, commit. A crash between
Stripe's answer and the commit leaves the item PENDING; the next run calls Stripe again with the
same key and Stripe answers the refund it already made: each order is refunded exactly once.
Stripe unreachable: the job keeps its place and its ``last_error``; a refusal for good (a
disputed payment) fails that item and the job moves on. Progress: ``GET
/events/<id>/refunds`` and ``sync-server payments refunds EVENT_ID``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import stripe
from sqlalchemy.orm import Session

from shared.vocabulary import format_optional_time, format_time
from sync_server.db import utcnow
from sync_server.errors import ApiError
from sync_server.events.models import Event, EventStatus
from sync_server.orders.models import Order
from sync_server.payments import refunds, splits
from sync_server.payments.checkout import payment_of
from sync_server.payments.models import (
    CardStatus,
    ItemStatus,
    JobStatus,
    RefundJob,
    RefundJobItem,
)

logger = logging.getLogger(__name__)

PERMANENT = (stripe.InvalidRequestError, stripe.PermissionError, stripe.CardError,
             stripe.IdempotencyError)


def refund_hook(session: Session, order: Order) -> None:
    """The ``PaymentMethod.STRIPE`` refund hook of ``orders.refunds``."""
    event = session.get(Event, order.event_id)
    if event is not None and event.status is EventStatus.CANCELLED:
        queue_refund(session, order)
    else:
        refunds.refund_card_order(session, order)


def job_of(session: Session, event_id: int) -> RefundJob | None:
    return session.scalar(sa.select(RefundJob).where(RefundJob.event_id == event_id))


def queue_refund(session: Session, order: Order) -> None:
    """Add a cancelled paid order to its event's refund job (once)."""
    job = job_of(session, order.event_id)
    if job is None:
        job = RefundJob(event_id=order.event_id, status=JobStatus.RUNNING)
        session.add(job)
        session.flush()
    if session.scalar(sa.select(RefundJobItem.id).where(RefundJobItem.order_id == order.id)):
        return
    item = RefundJobItem(job_id=job.id, order_id=order.id, amount_cents=order.total_cents,
                         status=ItemStatus.PENDING)
    payment = payment_of(session, order.id, lock=True)
    if payment is not None and payment.status is CardStatus.DISPUTED:
        item.status, item.error = ItemStatus.FAILED, "disputed: the buyer's bank decides"
        job.failed += 1
    elif payment is not None and payment.status is CardStatus.PAID:
        payment.status = CardStatus.REFUNDING
    session.add(item)
    job.total += 1
    job.status, job.finished_at = JobStatus.RUNNING, None
    session.flush()


def _give_back(session: Session, order: Order) -> None:
    """The Stripe calls refunding ``order`` whole (idempotent: keyed by order or share)."""
    split = splits.split_of(session, order.id, lock=True)
    if split is not None:
        for share in split.shares:
            splits.refund_share(session, share, "event cancelled")
        return
    payment = payment_of(session, order.id, lock=True)
    if payment is None or payment.status is CardStatus.REFUNDED:
        return  # nothing taken by card, or refunded already (e.g. from Stripe's dashboard)
    if payment.status is CardStatus.DISPUTED:
        raise ApiError(409, "payment_refused", "disputed: the buyer's bank decides")
    refunds.refund_card_order(session, order)


def _mark_refunded(session: Session, job: RefundJob, item: RefundJobItem, now: datetime) -> None:
    item.status, item.refunded_at, item.error = ItemStatus.REFUNDED, now, None
    job.refunded += 1


@dataclass
class JobsResult:
    refunded: int = 0
    failed: int = 0
    errors: int = 0  # transient: the job waits for the next run
    jobs_done: int = 0


def resume_refund_jobs(session: Session, *, now: datetime | None = None,
                       limit: int | None = None) -> JobsResult:
    """Work through every RUNNING refund job, one order per transaction (commits). Stops a
    job at a transient Stripe error (its ``last_error`` says why; the next run resumes it).
    ``limit``: at most this many orders in this call."""
    result = JobsResult()
    job_ids = list(session.scalars(sa.select(RefundJob.id)
                                   .where(RefundJob.status == JobStatus.RUNNING)
                                   .order_by(RefundJob.id)))
    session.rollback()
    for job_id in job_ids:
        budget = None if limit is None else limit - result.refunded - result.failed
        if budget is not None and budget <= 0:
            break
        _run_job(session, job_id, now, budget, result)
    return result


def _pending(session: Session, job_id: int) -> list[int]:
    return list(session.scalars(sa.select(RefundJobItem.id)
                                .where(RefundJobItem.job_id == job_id,
                                       RefundJobItem.status == ItemStatus.PENDING)
                                .order_by(RefundJobItem.id)))


def _run_job(session: Session, job_id: int, now: datetime | None, budget: int | None,
             result: JobsResult) -> None:
    for done, item_id in enumerate(_pending(session, job_id)):
        if budget is not None and done >= budget:
            session.rollback()
            return
        if not _refund_item(session, job_id, item_id, now or utcnow(), result):
            return  # transient failure: resume later
    job = session.scalar(sa.select(RefundJob).where(RefundJob.id == job_id).with_for_update())
    if job is not None and job.status is JobStatus.RUNNING and not _pending(session, job_id):
        job.status, job.finished_at = JobStatus.DONE, now or utcnow()
        result.jobs_done += 1
        logger.info("refund job of event %s done: %d refunded, %d failed of %d",
                    job.event_id, job.refunded, job.failed, job.total)
    session.commit()


def _refund_item(session: Session, job_id: int, item_id: int, now: datetime,
                 result: JobsResult) -> bool:
    """One order: refunded (or failed for good) and committed. False on a transient error."""
    job = session.scalar(sa.select(RefundJob).where(RefundJob.id == job_id).with_for_update())
    item = session.get(RefundJobItem, item_id, with_for_update=True)
    if job is None or item is None or item.status is not ItemStatus.PENDING:
        session.rollback()
        return True
    order = session.get(Order, item.order_id)
    assert order is not None
    item.attempts += 1
    try:
        _give_back(session, order)
    except (stripe.StripeError, ApiError) as error:
        message = f"order {order.order_number}: {error}"[:500]
        if isinstance(error, PERMANENT) or (isinstance(error, ApiError) and error.status == 409):
            session.rollback()
            _record_failure(session, job_id, item_id, message, permanent=True)
            result.failed += 1
            return True
        session.rollback()
        _record_failure(session, job_id, item_id, message, permanent=False)
        result.errors += 1
        logger.warning("refund job %s stopped (resumes on the next run): %s", job_id, message)
        return False
    _mark_refunded(session, job, item, now)
    session.commit()
    result.refunded += 1
    return True


def _record_failure(session: Session, job_id: int, item_id: int, message: str, *,
                    permanent: bool) -> None:
    job = session.scalar(sa.select(RefundJob).where(RefundJob.id == job_id).with_for_update())
    item = session.get(RefundJobItem, item_id, with_for_update=True)
    assert job is not None and item is not None
    job.last_error = message
    item.attempts += 1
    item.error = message
    if permanent and item.status is ItemStatus.PENDING:
        item.status = ItemStatus.FAILED
        job.failed += 1
    session.commit()


def progress(session: Session, event_id: int) -> dict[str, Any] | None:
    """The event's refund job as the API and the CLI show it (None: no job)."""
    job = job_of(session, event_id)
    if job is None:
        return None
    items = session.execute(
        sa.select(RefundJobItem, Order.order_number)
        .join(Order, Order.id == RefundJobItem.order_id)
        .where(RefundJobItem.job_id == job.id).order_by(RefundJobItem.id)).all()
    return {"event_id": event_id, "status": job.status.value, "total": job.total,
            "refunded": job.refunded, "failed": job.failed,
            "pending": job.total - job.refunded - job.failed, "last_error": job.last_error,
            "started_at": format_time(job.created_at),
            "finished_at": format_optional_time(job.finished_at),
            "refunded_cents": sum(i.amount_cents for i, _ in items
                                  if i.status is ItemStatus.REFUNDED),
            "orders": [{"order_id": i.order_id, "order_number": number,
                        "status": i.status.value, "amount_cents": i.amount_cents,
                        "attempts": i.attempts, "error": i.error} for i, number in items]}

