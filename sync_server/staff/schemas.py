"""Request bodies for event staff and authorized sellers."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sync_server.schemas import Body, Email, Name200, Quantity, UtcDatetime
from sync_server.staff.models import StaffRole


class StaffAdd(Body):
    email: Email
    access_expires_at: UtcDatetime
    role: StaffRole = StaffRole.SCANNER
    name: Name200 | None = None


class SellerAdd(Body):
    email: Email
    allocated_tickets: Quantity = 0
    # basis points: 1250 = 12.5 %
    commission_rate_bp: Annotated[int, Field(ge=0, le=10_000)] | None = None
    name: Name200 | None = None
