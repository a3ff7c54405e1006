"""Add and remove event staff and authorized sellers."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.accounts.services import find_user_by_email
from sync_server.audit.services import record
from sync_server.auth.access import EventRoles
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code, not_found, validation_error
from sync_server.events.models import Event
from sync_server.staff.models import AuthorizedSeller, EventStaff, SellerStatus, StaffRole

logger = logging.getLogger(__name__)


def _account(session: Session, email: str) -> User:
    user = find_user_by_email(session, email)
    if user is None:
        raise validation_error({"email": ["no account has this e-mail; ask them to sign up"]})
    return user


def event_roles(
    session: Session, user: User, event: Event, now: datetime | None = None
) -> EventRoles:
    """What ``user`` may do on ``event``: organizer (or admin), active seller, unexpired staff."""
    now = now or utcnow()
    organizer = user.is_admin or event.organizer_id == user.id
    seller = session.scalar(
        sa.select(sa.func.count()).select_from(AuthorizedSeller).where(
            AuthorizedSeller.event_id == event.id,
            AuthorizedSeller.user_id == user.id,
            AuthorizedSeller.status == SellerStatus.ACTIVE,
        )
    )
    staff_row = session.scalars(
        sa.select(EventStaff).where(
            EventStaff.event_id == event.id, EventStaff.user_id == user.id, EventStaff.active
        )
    ).one_or_none()
    staff = staff_row is not None and staff_row.access_expires_at > now
    return EventRoles(
        organizer=organizer,
        seller=bool(seller),
        staff=staff,
        staff_expired=staff_row is not None and not staff,
    )


def list_staff(session: Session, event: Event) -> list[EventStaff]:
    return list(session.scalars(
        sa.select(EventStaff).where(EventStaff.event_id == event.id).order_by(EventStaff.id)
    ))


def add_staff(
    session: Session, event: Event, *, by: User, email: str, access_expires_at: datetime,
    role: StaffRole = StaffRole.SCANNER, name: str | None = None, now: datetime | None = None,
) -> EventStaff:
    if access_expires_at <= (now or utcnow()):
        raise validation_error({"access_expires_at": ["must be in the future"]})
    user = _account(session, email)
    exists = session.scalar(sa.select(sa.func.count()).select_from(EventStaff).where(
        EventStaff.event_id == event.id, EventStaff.user_id == user.id))
    if exists:
        raise ApiError(409, Code.CONFLICT, "already staff of this event",
                       {"email": ["already staff of this event"]})
    row = EventStaff(event_id=event.id, user_id=user.id, staff_name=name or user.name,
                     staff_email=user.email, role=role, access_expires_at=access_expires_at,
                     active=True)
    session.add(row)
    session.flush()
    record(session, action="staff.add", entity_type="event_staff", entity_id=row.id, user=by,
           event_id=event.id, details={"user_id": user.id, "role": role.value})
    return row


def get_staff(session: Session, event: Event, staff_id: int) -> EventStaff:
    row = session.get(EventStaff, staff_id)
    if row is None or row.event_id != event.id:
        raise not_found("staff member")
    return row


def remove_staff(session: Session, event: Event, row: EventStaff, *, by: User) -> None:
    record(session, action="staff.remove", entity_type="event_staff", entity_id=row.id, user=by,
           event_id=event.id, details={"user_id": row.user_id})
    session.delete(row)
    session.flush()


def list_sellers(session: Session, event: Event) -> list[AuthorizedSeller]:
    return list(session.scalars(
        sa.select(AuthorizedSeller).where(AuthorizedSeller.event_id == event.id)
        .order_by(AuthorizedSeller.id)
    ))


def new_seller_code() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def add_seller(
    session: Session, event: Event, *, by: User, email: str, allocated_tickets: int = 0,
    commission_rate_bp: int | None = None, name: str | None = None,
) -> AuthorizedSeller:
    user = _account(session, email)
    row = session.scalars(sa.select(AuthorizedSeller).where(
        AuthorizedSeller.event_id == event.id, AuthorizedSeller.user_id == user.id)).one_or_none()
    if row is not None and row.status is SellerStatus.ACTIVE:
        raise ApiError(409, Code.CONFLICT, "already a seller of this event",
                       {"email": ["already a seller of this event"]})
    if row is None:
        row = AuthorizedSeller(event_id=event.id, user_id=user.id, sold_tickets=0,
                               commission_earned_cents=0)
        session.add(row)
    if allocated_tickets < (row.sold_tickets or 0):
        raise validation_error({"allocated_tickets": ["must not be less than tickets sold"]})
    row.seller_name = name or user.name
    row.seller_email = user.email
    row.allocated_tickets = allocated_tickets
    row.commission_rate_bp = commission_rate_bp
    row.status = SellerStatus.ACTIVE
    row.current_code = new_seller_code()
    row.code_generated_at = utcnow()
    session.flush()
    record(session, action="seller.add", entity_type="authorized_seller", entity_id=row.id,
           user=by, event_id=event.id, details={"user_id": user.id,
                                                 "allocated_tickets": allocated_tickets})
    return row


def get_seller(session: Session, event: Event, seller_id: int) -> AuthorizedSeller:
    row = session.get(AuthorizedSeller, seller_id)
    if row is None or row.event_id != event.id:
        raise not_found("seller")
    return row


def remove_seller(session: Session, event: Event, row: AuthorizedSeller, *, by: User) -> None:
    """Revoke (not delete): the seller's sales and commission stay on record."""
    row.status = SellerStatus.REVOKED
    session.flush()
    record(session, action="seller.remove", entity_type="authorized_seller", entity_id=row.id,
           user=by, event_id=event.id, details={"user_id": row.user_id})
