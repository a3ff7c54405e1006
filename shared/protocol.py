"""The door <-> server sync protocol, version 1: paths, error codes and the JSON bodies' shapes.

Both sides import this module: the door's sync client builds requests and reads answers with
it, the server validates requests and renders answers with it, so the two cannot drift. The
prose (why each rule exists, examples) is ``docs/sync-protocol.md``.

Every shape is a frozen dataclass with ``to_json()`` (a dict ready for ``json.dumps``) and
``from_json(data)`` (validates, raises :class:`ProtocolError` with per-field messages). Times
are timezone-aware UTC ``datetime`` in code and ISO 8601 with ``Z`` on the wire; calendar days
are ``date`` / ``YYYY-MM-DD``. Nothing here does I/O.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

PROTOCOL_VERSION = 1
API_PREFIX = "/api/v1"

# What a pairing QR holds, so that one scan gives a door both the server and the code.
PAIRING_SCHEME = "stepperslife-pair"


def pairing_qr_text(server_url: str, code: str) -> str:
    """``stepperslife-pair:<server-url>#<code>``, the text of a pairing QR."""
    return f"{PAIRING_SCHEME}:{server_url.rstrip('/')}#{code}"


# --- paths (all under API_PREFIX, all JSON) ------------------------------------------------
PAIR_PATH = f"{API_PREFIX}/door/pair"  # POST PairRequest -> 201 PairResponse (no auth)
HEARTBEAT_PATH = f"{API_PREFIX}/door/heartbeat"  # POST HeartbeatRequest -> HeartbeatResponse
# GET ?cursor=&limit= -> DoorDataPage
DOOR_DATA_PATH = f"{API_PREFIX}/door/events/{{event_id}}/data"
SCANS_PATH = f"{API_PREFIX}/door/scans"  # POST ScanBatch -> ScanBatchResult

DEVICE_TOKEN_PREFIX = "sld_"  # noqa: S105 - a prefix, not a secret
DEFAULT_PAGE_SIZE = 10_000  # tickets per door-data page; 100,000 tickets = 10 pages
MAX_PAGE_SIZE = 20_000
MAX_SCANS_PER_BATCH = 1_000
MAX_PAYLOAD_CHARS = 1_024  # the door truncates longer raw payloads before upload
MAX_REASON_CHARS = 500
MAX_DOOR_CHARS = 100


def door_data_path(event_id: int) -> str:
    return DOOR_DATA_PATH.format(event_id=event_id)


class ErrorCode(StrEnum):
    """Stable ``error.code`` values of the error envelope. Clients branch on these, never on text.

    ``{"error": {"code": "<code>", "message": "<words>", "fields": {"<field>": ["<msg>"]}}}``
    The general codes are the ones ``sync_server/errors.py`` already uses; the sync-only codes
    (event_not_served, cursor_expired, unsupported_protocol, unavailable) are added there too.
    """

    BAD_REQUEST = "bad_request"  # 400
    MALFORMED_JSON = "malformed_json"  # 400: the body is not JSON
    VALIDATION_FAILED = "validation_failed"  # 400 (door API) or 422: see ``fields``
    AUTH_REQUIRED = "auth_required"  # 401: no token
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - 401: unknown token (a code, not a secret)
    DEVICE_REVOKED = "device_revoked"  # 401: this device was revoked: wipe local data
    PAIRING_CODE_INVALID = "pairing_code_invalid"  # 400: unknown, used or expired pairing code
    FORBIDDEN = "forbidden"  # 403
    EVENT_NOT_SERVED = "event_not_served"  # 403: the device is not assigned to that event
    NOT_FOUND = "not_found"  # 404
    CURSOR_EXPIRED = "cursor_expired"  # 410: the cursor is too old or foreign: restart full
    PAYLOAD_TOO_LARGE = "payload_too_large"  # 413: e.g. more than MAX_SCANS_PER_BATCH scans
    UNSUPPORTED_PROTOCOL = "unsupported_protocol"  # 400: X-Protocol-Version not served
    RATE_LIMITED = "rate_limited"  # 429: wait for Retry-After seconds
    INTERNAL_ERROR = "internal_error"  # 500
    UNAVAILABLE = "unavailable"  # 503: maintenance; honour Retry-After


class TicketStatus(StrEnum):
    VALID = "VALID"
    SCANNED = "SCANNED"  # admitted at least once (see TicketRecord.scanned_at/door)
    TRANSFERRED = "TRANSFERRED"  # void: the ticket now lives under another ticket id
    CANCELLED = "CANCELLED"


class UncachedPolicy(StrEnum):
    """What a door does with a genuine signature for a ticket it has not downloaded yet."""

    ADMIT_WITH_WARNING = "admit_with_warning"
    REFUSE = "refuse"


class ScanType(StrEnum):
    QR_SCAN = "QR_SCAN"
    MANUAL_LOOKUP = "MANUAL_LOOKUP"


class Direction(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class ScanOutcome(StrEnum):
    """The server's per-scan answer to an upload. Every outcome is final: stop re-sending."""

    ACCEPTED = "accepted"  # stored now
    DUPLICATE = "duplicate"  # this scan_id was stored before (a re-sent batch): nothing changed
    REJECTED = "rejected"  # refused for good (e.g. event_not_served); see ``error``


class RevocationReason(StrEnum):
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"
    REISSUED = "reissued"


class ProtocolError(ValueError):
    """A body that does not follow the protocol. ``fields`` maps a dotted path to messages."""

    def __init__(self, fields: Mapping[str, Sequence[str]]) -> None:
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in fields.items()}
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in self.fields.items()))


# --- wire helpers ---------------------------------------------------------------------------


def format_time(value: datetime) -> str:
    """ISO 8601 in UTC with ``Z`` and microseconds, e.g. ``2026-05-01T21:30:00.000000Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: the protocol only carries aware UTC times")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Read an ISO 8601 time with an offset (``Z`` or ``+hh:mm``); answer aware UTC."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("time needs a zone: end it with Z")
    return value.astimezone(UTC)


_T = TypeVar("_T")
_E = TypeVar("_E", bound=StrEnum)
_Obj = Mapping[str, Any]


class _Reader:
    """Collects every field error of one body, so a client hears about all of them at once."""

    def __init__(self, data: object, path: str = "") -> None:
        self.path = path
        self.errors: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            self.data: _Obj = data
        else:
            self.data = {}
            self.errors[path or "body"] = ["must be a JSON object"]

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> None:
        self.errors.setdefault(self._name(key), []).append(message)

    def _get(self, key: str, kind: type[_T] | tuple[type, ...], optional: bool) -> Any:
        if key not in self.data or self.data[key] is None:
            if not optional:
                self.fail(key, "is required")
            return None
        value = self.data[key]
        # bool is an int in Python; on the wire they are different things
        if isinstance(value, bool) and kind is int:
            self.fail(key, "must be an integer")
            return None
        if not isinstance(value, kind):
            name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(key, f"must be {_WIRE_NAMES.get(name, name)}")
            return None
        return value

    def text(self, key: str, *, max_len: int = 10_000, empty: bool = False) -> str:
        value = self._get(key, str, False)
        if value is None:
            return ""
        if len(value) > max_len:
            self.fail(key, f"must be at most {max_len} characters")
        if not empty and not value.strip():
            self.fail(key, "must not be empty")
        return str(value)

    def opt_str(self, key: str, *, max_len: int = 10_000) -> str | None:
        value = self._get(key, str, True)
        if value is not None and len(value) > max_len:
            self.fail(key, f"must be at most {max_len} characters")
        return None if value is None else str(value)

    def integer(self, key: str, *, minimum: int = 0, maximum: int = 2**63 - 1) -> int:
        value = self._get(key, int, False)
        if value is None:
            return minimum
        if not minimum <= value <= maximum:
            self.fail(key, f"must be between {minimum} and {maximum}")
        return int(value)

    def opt_int(self, key: str, *, minimum: int = 0, maximum: int = 2**63 - 1) -> int | None:
        if self.data.get(key) is None:
            return None
        return self.integer(key, minimum=minimum, maximum=maximum)

    def boolean(self, key: str) -> bool:
        value = self._get(key, bool, False)
        return bool(value)

    def enum(self, key: str, kind: type[_E]) -> _E:
        value = self._get(key, str, False)
        try:
            return kind(value)
        except ValueError:
            if value is not None:
                self.fail(key, f"must be one of {', '.join(m.value for m in kind)}")
            return next(iter(kind))

    def opt_enum(self, key: str, kind: type[_E]) -> _E | None:
        if self.data.get(key) is None:
            return None
        return self.enum(key, kind)

    def time(self, key: str) -> datetime:
        value = self.opt_time(key)
        if value is None:
            if key not in self.errors and self._name(key) not in self.errors:
                self.fail(key, "is required")
            return datetime.fromtimestamp(0, UTC)
        return value

    def opt_time(self, key: str) -> datetime | None:
        value = self._get(key, str, True)
        if value is None:
            return None
        try:
            return parse_time(value)
        except ValueError:
            self.fail(key, "must be an ISO 8601 time with a zone, e.g. 2026-05-01T21:30:00Z")
            return None

    def day(self, key: str) -> date:
        value = self._get(key, str, False)
        if value is None:
            return date(1970, 1, 1)
        return self._date(key, value)

    def _date(self, key: str, value: str) -> date:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.fail(key, "must be a date YYYY-MM-DD")
            return date(1970, 1, 1)

    def opt_dates(self, key: str) -> tuple[date, ...] | None:
        value = self._get(key, list, True)
        if value is None:
            return None
        out: list[date] = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(self._date(f"{key}[{i}]", item))
            else:
                self.fail(f"{key}[{i}]", "must be a date YYYY-MM-DD")
        return tuple(out)

    def items(
        self,
        key: str,
        parse: Callable[[object, str], _T],
        *,
        max_items: int = 1_000_000,
        optional: bool = False,
    ) -> tuple[_T, ...]:
        value = self._get(key, list, optional)
        if value is None:
            return ()
        if len(value) > max_items:
            self.fail(key, f"must have at most {max_items} items")
            return ()
        out: list[_T] = []
        for i, item in enumerate(value):
            try:
                out.append(parse(item, self._name(f"{key}[{i}]")))
            except ProtocolError as exc:
                for k, v in exc.fields.items():
                    self.errors.setdefault(k, []).extend(v)
        return tuple(out)

    def done(self) -> None:
        if self.errors:
            raise ProtocolError(self.errors)


_WIRE_NAMES = {"str": "a string", "int": "an integer", "bool": "true or false",
               "list": "a list", "dict": "an object"}


# --- pairing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairRequest:
    """``device_name`` may be empty: the pairing code already names the device (a name given
    here renames it)."""

    code: str
    device_name: str = ""
    app_version: str = ""
    platform: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "device_name": self.device_name,
                "app_version": self.app_version, "platform": self.platform}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> PairRequest:
        r = _Reader(data, path)
        out = cls(code=r.text("code", max_len=64),
                  device_name=r.opt_str("device_name", max_len=100) or "",
                  app_version=r.opt_str("app_version", max_len=40) or "",
                  platform=r.opt_str("platform", max_len=100) or "")
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class PairResponse:
    """The token is shown once; the server keeps only its SHA-256."""

    device_id: int
    device_name: str
    token: str  # "sld_..."
    event_ids: tuple[int, ...] = ()
    server_time: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "device_name": self.device_name,
                "token": self.token, "event_ids": list(self.event_ids),
                "server_time": None if self.server_time is None
                else format_time(self.server_time)}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> PairResponse:
        r = _Reader(data, path)
        token = r.text("token", max_len=200)
        if token and not token.startswith(DEVICE_TOKEN_PREFIX):
            r.fail("token", f"must start with {DEVICE_TOKEN_PREFIX}")
        out = cls(device_id=r.integer("device_id", minimum=1),
                  device_name=r.text("device_name", empty=True), token=token,
                  event_ids=r.items("event_ids", _positive_int, optional=True),
                  server_time=r.opt_time("server_time"))
        r.done()
        return out


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


def _positive_int(item: object, path: str) -> int:
    if isinstance(item, bool) or not isinstance(item, int) or item < 1:
        raise ProtocolError({path: ["must be a positive integer"]})
    return item


# --- heartbeat ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeartbeatRequest:
    device_time: datetime
    app_version: str = ""
    scans_queued: int = 0
    tickets_cached: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"device_time": format_time(self.device_time), "app_version": self.app_version,
                "scans_queued": self.scans_queued, "tickets_cached": self.tickets_cached}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> HeartbeatRequest:
        r = _Reader(data, path)
        out = cls(device_time=r.time("device_time"),
                  app_version=r.opt_str("app_version", max_len=40) or "",
                  scans_queued=r.opt_int("scans_queued") or 0,
                  tickets_cached=r.opt_int("tickets_cached") or 0)
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class EventSummary:
    """One event this device serves; ``revision`` moves whenever its door data changes."""

    event_id: int
    name: str
    revision: int

    def to_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "name": self.name, "revision": self.revision}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> EventSummary:
        r = _Reader(data, path)
        out = cls(event_id=r.integer("event_id", minimum=1), name=r.text("name", empty=True),
                  revision=r.integer("revision"))
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class HeartbeatResponse:
    server_time: datetime
    device_id: int
    device_name: str
    events: tuple[EventSummary, ...]
    protocol_version: int = PROTOCOL_VERSION

    def to_json(self) -> dict[str, Any]:
        return {"server_time": format_time(self.server_time), "device_id": self.device_id,
                "device_name": self.device_name, "protocol_version": self.protocol_version,
                "events": [e.to_json() for e in self.events]}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> HeartbeatResponse:
        r = _Reader(data, path)
        out = cls(server_time=r.time("server_time"), device_id=r.integer("device_id", minimum=1),
                  device_name=r.text("device_name", empty=True),
                  events=r.items("events", EventSummary.from_json),
                  protocol_version=r.integer("protocol_version", minimum=1))
        r.done()
        return out


# --- door data ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventDay:
    """One day of an event: its local calendar date and when its doors open and close (UTC).

    ``ends_at`` may be after midnight local time (a dance that runs to 3 a.m.): the day is the
    window, not the calendar date.
    """

    date: date
    starts_at: datetime
    ends_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "starts_at": format_time(self.starts_at),
                "ends_at": format_time(self.ends_at)}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> EventDay:
        r = _Reader(data, path)
        out = cls(date=r.day("date"), starts_at=r.time("starts_at"), ends_at=r.time("ends_at"))
        if not r.errors and out.ends_at <= out.starts_at:
            r.fail("ends_at", "must be after starts_at")
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class EventSettings:
    event_id: int
    name: str
    time_zone: str  # IANA name, e.g. "America/Chicago"
    days: tuple[EventDay, ...]
    reentry_allowed: bool = False
    uncached_policy: UncachedPolicy = UncachedPolicy.ADMIT_WITH_WARNING
    entry_opens_minutes_before: int = 120  # doors may admit this long before a day starts
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "name": self.name, "time_zone": self.time_zone,
                "days": [d.to_json() for d in self.days],
                "reentry_allowed": self.reentry_allowed,
                "uncached_policy": self.uncached_policy.value,
                "entry_opens_minutes_before": self.entry_opens_minutes_before,
                "cancelled": self.cancelled}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> EventSettings:
        r = _Reader(data, path)
        out = cls(event_id=r.integer("event_id", minimum=1), name=r.text("name", empty=True),
                  time_zone=r.text("time_zone", max_len=64),
                  days=r.items("days", EventDay.from_json, max_items=366),
                  reentry_allowed=r.boolean("reentry_allowed"),
                  uncached_policy=r.enum("uncached_policy", UncachedPolicy),
                  entry_opens_minutes_before=_default(r.opt_int(
                      "entry_opens_minutes_before", maximum=24 * 60), 120),
                  cancelled=bool(r.data.get("cancelled", False)))
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class EventKey:
    """A verification key of one key version, base64 (standard alphabet, padded)."""

    key_version: int
    key: str

    def to_json(self) -> dict[str, Any]:
        return {"key_version": self.key_version, "key": self.key}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> EventKey:
        r = _Reader(data, path)
        out = cls(key_version=r.integer("key_version", minimum=1, maximum=255),
                  key=r.text("key", max_len=200))
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """What a door keeps about one ticket instance.

    ``valid_dates`` is ``None`` for "the whole event", else the event-day dates it admits on.
    ``scanned_at``/``scanned_door`` describe the first admitted entry the server knows of;
    ``last_entry_at``/``last_entry_door`` the latest one (on a multi-day ticket, today's entry
    may not be the first). Both optional: ``None`` when the server does not say.
    ``revision`` is the server's change number of this row (newer wins on the door).
    """

    ticket_id: int
    event_id: int
    ticket_number: str
    order_number: str
    holder_name: str
    holder_email: str
    ticket_type: str
    valid_dates: tuple[date, ...] | None
    status: TicketStatus
    revision: int
    scanned_at: datetime | None = None
    scanned_door: str | None = None
    last_entry_at: datetime | None = None
    last_entry_door: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id, "event_id": self.event_id,
            "ticket_number": self.ticket_number, "order_number": self.order_number,
            "holder_name": self.holder_name, "holder_email": self.holder_email,
            "ticket_type": self.ticket_type,
            "valid_dates": None if self.valid_dates is None
            else [d.isoformat() for d in self.valid_dates],
            "status": self.status.value, "revision": self.revision,
            "scanned_at": None if self.scanned_at is None else format_time(self.scanned_at),
            "scanned_door": self.scanned_door,
            "last_entry_at": None if self.last_entry_at is None
            else format_time(self.last_entry_at),
            "last_entry_door": self.last_entry_door,
        }

    @classmethod
    def from_json(cls, data: object, path: str = "") -> TicketRecord:
        r = _Reader(data, path)
        out = cls(
            ticket_id=r.integer("ticket_id", minimum=1, maximum=2**32 - 1),
            event_id=r.integer("event_id", minimum=1, maximum=2**32 - 1),
            ticket_number=r.text("ticket_number", max_len=64),
            order_number=r.text("order_number", max_len=64, empty=True),
            holder_name=r.text("holder_name", max_len=200, empty=True),
            holder_email=r.text("holder_email", max_len=320, empty=True),
            ticket_type=r.text("ticket_type", max_len=200, empty=True),
            valid_dates=r.opt_dates("valid_dates"),
            status=r.enum("status", TicketStatus),
            revision=r.integer("revision"),
            scanned_at=r.opt_time("scanned_at"),
            scanned_door=r.opt_str("scanned_door", max_len=MAX_DOOR_CHARS),
            last_entry_at=r.opt_time("last_entry_at"),
            last_entry_door=r.opt_str("last_entry_door", max_len=MAX_DOOR_CHARS),
        )
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class Revocation:
    """A ticket id whose token is void, even on a door that never cached the ticket."""

    ticket_id: int
    reason: RevocationReason
    revoked_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "reason": self.reason.value,
                "revoked_at": format_time(self.revoked_at)}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Revocation:
        r = _Reader(data, path)
        out = cls(ticket_id=r.integer("ticket_id", minimum=1), reason=r.enum("reason",
                  RevocationReason), revoked_at=r.time("revoked_at"))
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class Conflict:
    """A scan the server flagged: another door admitted the same single-entry ticket first."""

    scan_id: str  # the flagged (later) scan
    ticket_id: int
    scanned_at: datetime
    door: str
    winning_scan_id: str
    winning_scanned_at: datetime
    winning_door: str

    def to_json(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "ticket_id": self.ticket_id,
                "scanned_at": format_time(self.scanned_at), "door": self.door,
                "winning_scan_id": self.winning_scan_id,
                "winning_scanned_at": format_time(self.winning_scanned_at),
                "winning_door": self.winning_door}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Conflict:
        r = _Reader(data, path)
        out = cls(scan_id=_uuid(r, "scan_id"), ticket_id=r.integer("ticket_id", minimum=1),
                  scanned_at=r.time("scanned_at"), door=r.text("door", empty=True),
                  winning_scan_id=_uuid(r, "winning_scan_id"),
                  winning_scanned_at=r.time("winning_scanned_at"),
                  winning_door=r.text("winning_door", empty=True))
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class DoorDataPage:
    """One page of door data for one event.

    A request without ``cursor`` starts a full snapshot: tickets in ``ticket_id`` order, page
    after page, while ``has_more`` is true; the first page also carries every revocation and
    conflict. A request with a cursor from a finished snapshot (or an earlier delta) returns only
    what changed since. ``event`` and ``keys`` come on every page; ``keys`` lists every key
    version in use, so a version missing from it is retired. ``full`` tells a delta from a
    snapshot page. The device stores ``cursor`` only after it has stored the page.
    ``total_tickets``: on the first page of a snapshot, how many tickets the whole snapshot
    holds (for a progress bar); null elsewhere.
    """

    event: EventSettings
    keys: tuple[EventKey, ...]
    tickets: tuple[TicketRecord, ...]
    revocations: tuple[Revocation, ...]
    conflicts: tuple[Conflict, ...]
    cursor: str
    has_more: bool
    full: bool
    server_time: datetime
    total_tickets: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event.to_json(), "keys": [k.to_json() for k in self.keys],
                "tickets": [t.to_json() for t in self.tickets],
                "revocations": [v.to_json() for v in self.revocations],
                "conflicts": [c.to_json() for c in self.conflicts],
                "cursor": self.cursor, "has_more": self.has_more, "full": self.full,
                "server_time": format_time(self.server_time), "total_tickets": self.total_tickets}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> DoorDataPage:
        r = _Reader(data, path)
        event_data = r.data.get("event")
        event: EventSettings | None = None
        try:
            event = EventSettings.from_json(event_data, r._name("event"))
        except ProtocolError as exc:
            r.errors.update(exc.fields)
        out = cls(event=event or EventSettings(1, "", "UTC", ()),
                  keys=r.items("keys", EventKey.from_json, max_items=255),
                  tickets=r.items("tickets", TicketRecord.from_json),
                  revocations=r.items("revocations", Revocation.from_json),
                  conflicts=r.items("conflicts", Conflict.from_json),
                  cursor=r.text("cursor", max_len=2_000),
                  has_more=r.boolean("has_more"), full=r.boolean("full"),
                  server_time=r.time("server_time"), total_tickets=r.opt_int("total_tickets"))
        r.done()
        return out


# --- scan upload ----------------------------------------------------------------------------


def _uuid(r: _Reader, key: str) -> str:
    text = r.text(key, max_len=36)
    try:
        return str(uuid.UUID(text)) if text else text
    except ValueError:
        r.fail(key, "must be a UUID")
        return text


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One scan as a door decided it. ``scan_id`` is made by the device; the server dedupes by it.

    ``event_id``/``ticket_id`` are what the payload named (``None`` when it was unreadable);
    ``verdict`` is a ``scanner_app.core.verdict.VerdictCode`` value; ``scanned_at`` the device's
    clock. ``payload`` is the raw text (truncated to MAX_PAYLOAD_CHARS; ``""`` for a manual
    check-in).
    """

    scan_id: str
    scanned_at: datetime
    door: str
    payload: str
    verdict: str
    scan_type: ScanType
    direction: Direction
    event_id: int | None = None
    ticket_id: int | None = None
    manual_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "scanned_at": format_time(self.scanned_at),
                "door": self.door, "payload": self.payload, "verdict": self.verdict,
                "scan_type": self.scan_type.value, "direction": self.direction.value,
                "event_id": self.event_id, "ticket_id": self.ticket_id,
                "manual_reason": self.manual_reason}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> ScanRecord:
        r = _Reader(data, path)
        out = cls(scan_id=_uuid(r, "scan_id"), scanned_at=r.time("scanned_at"),
                  door=r.text("door", max_len=MAX_DOOR_CHARS, empty=True),
                  payload=r.text("payload", max_len=MAX_PAYLOAD_CHARS, empty=True),
                  verdict=r.text("verdict", max_len=40),
                  scan_type=r.enum("scan_type", ScanType),
                  direction=r.enum("direction", Direction),
                  event_id=r.opt_int("event_id", minimum=1, maximum=2**32 - 1),
                  ticket_id=r.opt_int("ticket_id", minimum=1, maximum=2**32 - 1),
                  manual_reason=r.opt_str("manual_reason", max_len=MAX_REASON_CHARS))
        if out.scan_type is ScanType.MANUAL_LOOKUP and not (out.manual_reason or "").strip():
            r.fail("manual_reason", "is required for a manual check-in")
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class ScanBatch:
    scans: tuple[ScanRecord, ...]
    device_time: datetime  # when the batch was sent, by the device's clock (skew diagnosis)

    def to_json(self) -> dict[str, Any]:
        return {"device_time": format_time(self.device_time),
                "scans": [s.to_json() for s in self.scans]}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> ScanBatch:
        r = _Reader(data, path)
        out = cls(scans=r.items("scans", ScanRecord.from_json, max_items=MAX_SCANS_PER_BATCH),
                  device_time=r.time("device_time"))
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The server's answer for one uploaded scan. ``conflict`` is set when this scan was flagged."""

    scan_id: str
    outcome: ScanOutcome
    conflict: Conflict | None = None
    error: str | None = None  # an ErrorCode value when outcome is rejected

    def to_json(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "outcome": self.outcome.value,
                "conflict": None if self.conflict is None else self.conflict.to_json(),
                "error": self.error}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> ScanResult:
        r = _Reader(data, path)
        conflict: Conflict | None = None
        if r.data.get("conflict") is not None:
            try:
                conflict = Conflict.from_json(r.data["conflict"], r._name("conflict"))
            except ProtocolError as exc:
                r.errors.update(exc.fields)
        out = cls(scan_id=_uuid(r, "scan_id"), outcome=r.enum("outcome", ScanOutcome),
                  conflict=conflict, error=r.opt_str("error", max_len=64))
        r.done()
        return out


@dataclass(frozen=True, slots=True)
class ScanBatchResult:
    """One result per uploaded scan, in the order sent."""

    results: tuple[ScanResult, ...]
    server_time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        return {"results": [x.to_json() for x in self.results],
                "server_time": format_time(self.server_time)}

    @classmethod
    def from_json(cls, data: object, path: str = "") -> ScanBatchResult:
        r = _Reader(data, path)
        out = cls(results=r.items("results", ScanResult.from_json),
                  server_time=r.time("server_time"))
        r.done()
        return out


def error_body(code: ErrorCode | str, message: str,
               fields: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The one error envelope every API error uses."""
    return {"error": {"code": str(code), "message": message,
                      "fields": {k: list(v) for k, v in (fields or {}).items()}}}


def read_error(data: object) -> tuple[str, str]:
    """``(code, message)`` of an error envelope; ``("", "")`` if ``data`` is not one."""
    if isinstance(data, Mapping):
        err = data.get("error")
        if isinstance(err, Mapping):
            return str(err.get("code", "")), str(err.get("message", ""))
    return "", ""
