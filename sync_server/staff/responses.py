"""Response shapes of the staff and sellers API."""

from __future__ import annotations

from sync_server.schemas import Out


class StaffOut(Out):
    id: int
    event_id: int
    user_id: int
    name: str
    email: str
    role: str
    access_expires_at: str | None
    active: bool


class SellerOut(Out):
    id: int
    event_id: int
    user_id: int
    name: str
    email: str
    allocated_tickets: int
    sold_tickets: int
    commission_rate_bp: int | None
    commission_earned_cents: int
    status: str
    current_code: str


class StaffList(Out):
    staff: list[StaffOut]


class StaffEnvelope(Out):
    staff: StaffOut


class SellerList(Out):
    sellers: list[SellerOut]


class SellerEnvelope(Out):
    seller: SellerOut


class RevokedOut(Out):
    revoked: bool
