"""Every model, imported in one place so ``Base.metadata`` is complete (Alembic, tests)."""

from __future__ import annotations

from sync_server.accounts.models import ApiToken, User
from sync_server.audit.models import AuditEntry
from sync_server.box_office.models import BoxOfficeSale, SellerSecret, StockTicket
from sync_server.db import Base
from sync_server.devices.models import Device, DeviceKind, PairingCode
from sync_server.door import changes as _door_changes  # noqa: F401  (numbering hooks)
from sync_server.door.models import DoorEventChange, DoorEventSettings, DoorScan
from sync_server.events.models import (
    Bundle,
    Category,
    Event,
    EventDay,
    EventStatus,
    EventType,
    TicketType,
)
from sync_server.jobs.models import JobRun
from sync_server.keys.models import EventKeyVersion, RevokedToken
from sync_server.mail.models import OutboxMessage
from sync_server.orders.models import (
    DiscountCode,
    DiscountType,
    EventFees,
    InventoryHold,
    Order,
    OrderItem,
    OrderSplitPayment,
    PaymentMethod,
    PaymentStatus,
)
from sync_server.payments.models import (
    CardPayment,
    ConnectedAccount,
    RefundJob,
    RefundJobItem,
    SplitPayment,
    SplitShare,
    StripeEvent,
)
from sync_server.queue.models import WaitingListEntry, WaitingStatus
from sync_server.ratelimit.models import RateLimit
from sync_server.scanning.models import Scan, ScanType
from sync_server.staff.models import AuthorizedSeller, EventStaff, SellerStatus, StaffRole
from sync_server.tickets.models import TicketInstance, TicketStatus
from sync_server.webforms.models import FormNonce

__all__ = [
    "ApiToken", "AuditEntry", "AuthorizedSeller", "Base", "Bundle", "Category", "Device",
    "DeviceKind", "DiscountCode", "DiscountType", "Event", "EventDay", "EventKeyVersion",
    "EventStaff", "EventStatus", "EventType", "Order", "OrderItem", "OrderSplitPayment",
    "PairingCode", "PaymentMethod", "PaymentStatus", "RateLimit", "RevokedToken", "Scan",
    "ScanType", "SellerStatus", "StaffRole", "TicketInstance", "TicketStatus", "TicketType",
    "User", "WaitingListEntry", "WaitingStatus",
]
__all__ += ["BoxOfficeSale", "SellerSecret", "StockTicket"]  # box office (issue 16)
__all__ += ["EventFees", "InventoryHold", "OutboxMessage"]  # purchase engine (issue 4)
__all__ += ["DoorEventChange", "DoorEventSettings", "DoorScan"]  # door sync (issue 5)
__all__ += ["CardPayment", "ConnectedAccount", "RefundJob", "RefundJobItem",  # card payments
            "SplitPayment", "SplitShare", "StripeEvent"]  # (issue 14)
__all__ += ["FormNonce"]  # organizer pages (issue 15)
__all__ += ["JobRun"]  # the jobs worker (issue 17)
