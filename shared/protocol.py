"""The door <-> server sync protocol, version 1: paths, limits and the JSON bodies' shapes.

Both sides import this module: the door's sync client builds requests and reads answers with
it, the server validates requests and renders answers with it (and documents them in its
OpenAPI document), so the two cannot drift. The prose (why each rule exists, examples) is
``docs/sync-protocol.md``; the codes and the time format are :mod:`shared.vocabulary`.

Every shape is a frozen pydantic dataclass (:mod:`shared.wire_fields`) with ``to_json()`` (a
dict ready for ``json.dumps``) and ``from_json(data)`` (validates, raises
:class:`ProtocolError` with per-field messages). Times are timezone-aware UTC ``datetime`` in
code and :func:`format_time` text on the wire; calendar days are ``date`` / ``YYYY-MM-DD``.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic.dataclasses import dataclass
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from shared.vocabulary import DEVICE_TOKEN_PREFIX as DEVICE_TOKEN_PREFIX
from shared.vocabulary import ErrorCode as ErrorCode
from shared.vocabulary import format_time as format_time
from shared.vocabulary import parse_time as parse_time
from shared.wire_fields import (
    CONTROL_ERROR,
    MAX_ID,
    Day,
    Flag,
    Time,
    Uuid,
    adapter,
    field_path,
    null_is,
    text,
    whole,
)
from shared.wire_fields import ProtocolError as ProtocolError
from shared.wire_fields import Shape as Shape

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
# GET ?cursor=&limit= (DoorDataQuery) -> DoorDataPage
DOOR_DATA_PATH = f"{API_PREFIX}/door/events/{{event_id}}/data"
SCANS_PATH = f"{API_PREFIX}/door/scans"  # POST ScanBatch -> ScanBatchResult

DEFAULT_PAGE_SIZE = 10_000  # tickets per door-data page; 100,000 tickets = 10 pages
MAX_PAGE_SIZE = 20_000
MAX_SCANS_PER_BATCH = 1_000
MAX_PAYLOAD_CHARS = 1_024  # the door truncates longer raw payloads before upload
MAX_REASON_CHARS = 500
MAX_DOOR_CHARS = 100
MAX_ITEMS = 1_000_000  # any other list in a body


def door_data_path(event_id: int) -> str:
    return DOOR_DATA_PATH.format(event_id=event_id)


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


def _required(message: str) -> PydanticCustomError:
    return PydanticCustomError("missing", message)


# --- pairing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairRequest(Shape):
    """``device_name`` may be empty: the pairing code already names the device (a name given
    here renames it)."""

    code: Annotated[str, text(64)]
    device_name: Annotated[str, text(100, empty=True), null_is("")] = ""
    app_version: Annotated[str, text(40, empty=True), null_is("")] = ""
    platform: Annotated[str, text(100, empty=True), null_is("")] = ""


@dataclass(frozen=True, slots=True)
class PairResponse(Shape):
    """The token (``sld_...``) is shown once; the server keeps only its SHA-256."""

    device_id: Annotated[int, whole(1)]
    device_name: Annotated[str, text(empty=True, unchecked=True)]
    token: Annotated[str, text(200, unchecked=True)]
    event_ids: Annotated[tuple[Annotated[int, whole(1)], ...], null_is(())] = ()
    server_time: Time | None = None

    @field_validator("token")
    @classmethod
    def _device_token(cls, token: str) -> str:
        if not token.startswith(DEVICE_TOKEN_PREFIX):
            raise PydanticCustomError("value_error", f"must start with {DEVICE_TOKEN_PREFIX}")
        return token


# --- heartbeat ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeartbeatRequest(Shape):
    device_time: Time
    app_version: Annotated[str, text(40, empty=True), null_is("")] = ""
    scans_queued: Annotated[int, whole(), null_is(0)] = 0
    tickets_cached: Annotated[int, whole(), null_is(0)] = 0


@dataclass(frozen=True, slots=True)
class EventSummary(Shape):
    """One event this device serves; ``revision`` moves whenever its door data changes."""

    event_id: Annotated[int, whole(1)]
    name: Annotated[str, text(empty=True, unchecked=True)]
    revision: Annotated[int, whole()]


@dataclass(frozen=True, slots=True)
class HeartbeatResponse(Shape):
    server_time: Time
    device_id: Annotated[int, whole(1)]
    device_name: Annotated[str, text(empty=True, unchecked=True)]
    events: tuple[EventSummary, ...]
    protocol_version: Annotated[int, whole(1)] = PROTOCOL_VERSION
    # The newest door-app release the server knows of; a door running an older one tells its
    # staff (no self-update). Empty, absent or null (an older server): nothing to tell.
    latest_app_version: Annotated[str, text(40, empty=True), null_is("")] = ""


# --- door data ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventDay(Shape):
    """One day of an event: its local calendar date and when its doors open and close (UTC).

    ``ends_at`` may be after midnight local time (a dance that runs to 3 a.m.): the day is the
    window, not the calendar date.
    """

    date: Day
    starts_at: Time
    ends_at: Time

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        if starts_at is not None and ends_at <= starts_at:
            raise PydanticCustomError("value_error", "must be after starts_at")
        return ends_at


@dataclass(frozen=True, slots=True)
class EventSettings(Shape):
    event_id: Annotated[int, whole(1)]
    name: Annotated[str, text(empty=True, unchecked=True)]
    time_zone: Annotated[str, text(64, unchecked=True)]  # IANA name, e.g. "America/Chicago"
    days: Annotated[tuple[EventDay, ...], Field(max_length=366)]
    reentry_allowed: Flag = False
    uncached_policy: UncachedPolicy = UncachedPolicy.ADMIT_WITH_WARNING
    # doors may admit this long before a day starts
    entry_opens_minutes_before: Annotated[int, whole(0, 24 * 60), null_is(120)] = 120
    cancelled: Annotated[bool, Flag, null_is(False)] = False


@dataclass(frozen=True, slots=True)
class EventKey(Shape):
    """A verification key of one key version, base64 (standard alphabet, padded)."""

    key_version: Annotated[int, whole(1, 255)]
    key: Annotated[str, text(200, unchecked=True)]


@dataclass(frozen=True, slots=True)
class TicketRecord(Shape):
    """What a door keeps about one ticket instance.

    ``valid_dates`` is ``None`` for "the whole event", else the event-day dates it admits on.
    ``scanned_at``/``scanned_door`` describe the first admitted entry the server knows of;
    ``last_entry_at``/``last_entry_door`` the latest one (on a multi-day ticket, today's entry
    may not be the first). Both optional: ``None`` when the server does not say.
    ``revision`` is the server's change number of this row (newer wins on the door).
    """

    ticket_id: Annotated[int, whole(1, MAX_ID)]
    event_id: Annotated[int, whole(1, MAX_ID)]
    ticket_number: Annotated[str, text(64, unchecked=True)]
    order_number: Annotated[str, text(64, empty=True, unchecked=True)]
    holder_name: Annotated[str, text(200, empty=True, unchecked=True)]
    holder_email: Annotated[str, text(320, empty=True, unchecked=True)]
    ticket_type: Annotated[str, text(200, empty=True, unchecked=True)]
    valid_dates: tuple[Day, ...] | None
    status: TicketStatus
    revision: Annotated[int, whole()]
    scanned_at: Time | None = None
    scanned_door: Annotated[str, text(MAX_DOOR_CHARS, empty=True, unchecked=True)] | None = None
    last_entry_at: Time | None = None
    last_entry_door: Annotated[str, text(MAX_DOOR_CHARS, empty=True, unchecked=True)] | None = None
    # A box office's offline stock ticket, not yet sold (no holder): a door admits it by its
    # signature like any other; ``None`` (absent) for every other ticket (docs/box-office.md).
    box_office_stock: Flag | None = None


@dataclass(frozen=True, slots=True)
class Revocation(Shape):
    """A ticket id whose token is void, even on a door that never cached the ticket."""

    ticket_id: Annotated[int, whole(1)]
    reason: RevocationReason
    revoked_at: Time


@dataclass(frozen=True, slots=True)
class Conflict(Shape):
    """A scan the server flagged: another door admitted the same single-entry ticket first."""

    scan_id: Uuid  # the flagged (later) scan
    ticket_id: Annotated[int, whole(1)]
    scanned_at: Time
    door: Annotated[str, text(empty=True, unchecked=True)]
    winning_scan_id: Uuid
    winning_scanned_at: Time
    winning_door: Annotated[str, text(empty=True, unchecked=True)]


@dataclass(frozen=True, slots=True)
class DoorDataQuery(Shape):
    """The query of a door-data request: no ``cursor`` starts a full snapshot."""

    cursor: Annotated[str, text(2_000, empty=True, unchecked=True)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE), null_is(DEFAULT_PAGE_SIZE)] = (
        DEFAULT_PAGE_SIZE)

    @field_validator("cursor", "limit", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: object) -> object:
        return None if value == "" else value


@dataclass(frozen=True, slots=True)
class DoorDataPage(Shape):
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
    keys: Annotated[tuple[EventKey, ...], Field(max_length=255)]
    tickets: Annotated[tuple[TicketRecord, ...], Field(max_length=MAX_ITEMS)]
    revocations: Annotated[tuple[Revocation, ...], Field(max_length=MAX_ITEMS)]
    conflicts: Annotated[tuple[Conflict, ...], Field(max_length=MAX_ITEMS)]
    cursor: Annotated[str, text(2_000, unchecked=True)]
    has_more: Flag
    full: Flag
    server_time: Time
    total_tickets: Annotated[int, whole()] | None = None


# --- scan upload ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanRecord(Shape):
    """One scan as a door decided it. ``scan_id`` is made by the device; the server dedupes by it.

    ``event_id``/``ticket_id`` are what the payload named (``None`` when it was unreadable);
    ``verdict`` is a :class:`shared.vocabulary.VerdictCode` value; ``scanned_at`` the device's
    clock. ``payload`` is the raw text (truncated to MAX_PAYLOAD_CHARS; ``""`` for a manual
    check-in).
    """

    scan_id: Uuid
    scanned_at: Time
    door: Annotated[str, text(MAX_DOOR_CHARS, empty=True)]
    payload: Annotated[str, text(MAX_PAYLOAD_CHARS, empty=True)]
    verdict: Annotated[str, text(40)]
    scan_type: ScanType
    direction: Direction
    event_id: Annotated[int, whole(1, MAX_ID)] | None = None
    ticket_id: Annotated[int, whole(1, MAX_ID)] | None = None
    manual_reason: Annotated[str, text(MAX_REASON_CHARS, empty=True)] | None = Field(
        default=None, validate_default=True)

    @field_validator("manual_reason")
    @classmethod
    def _reason_for_manual(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("scan_type") is ScanType.MANUAL_LOOKUP and not (reason or "").strip():
            raise _required("is required for a manual check-in")
        return reason


@dataclass(frozen=True, slots=True)
class RefusedScan(Shape):
    """A scan of an upload that is refused on its own: a text of it holds control characters
    (a QR code with a NUL byte). Made only when reading a batch, never sent: the server answers
    it ``REJECTED`` with ``error`` ``control_characters`` and stores the batch's other scans."""

    scan_id: Uuid
    fields: tuple[str, ...]  # the refused fields, e.g. ("payload",)


def _scan_or_refused(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    """Read one uploaded scan; one whose only faults are control characters (and whose
    ``scan_id`` reads) becomes a :class:`RefusedScan` instead of refusing the whole batch."""
    if isinstance(value, ScanRecord | RefusedScan):
        return value
    try:
        return adapter(ScanRecord).validate_python(value)
    except ValidationError as error:
        faults = error.errors(include_url=False)
        if not isinstance(value, Mapping) or any(f["type"] != CONTROL_ERROR for f in faults):
            raise
        try:
            scan_id = adapter(Uuid).validate_python(value.get("scan_id"))
        except ValidationError:
            raise error from None
        return RefusedScan(scan_id, tuple(field_path(f["loc"]) for f in faults))


ScanItem = Annotated[ScanRecord | SkipJsonSchema[RefusedScan], WrapValidator(_scan_or_refused)]


@dataclass(frozen=True, slots=True)
class ScanBatch(Shape):
    """Scans to upload. More than MAX_SCANS_PER_BATCH is refused before any scan is read, with
    the error type ``payload_too_large`` (HTTP 413 on the server). A scan whose texts hold
    control characters is read as a :class:`RefusedScan` (answered on its own); any other bad
    field refuses the whole batch."""

    scans: Annotated[tuple[ScanItem, ...], Field(max_length=MAX_SCANS_PER_BATCH)]
    device_time: Time  # when the batch was sent, by the device's clock (skew diagnosis)

    @field_validator("scans", mode="before")
    @classmethod
    def _not_too_many(cls, scans: object) -> object:
        if isinstance(scans, list | tuple) and len(scans) > MAX_SCANS_PER_BATCH:
            raise PydanticCustomError(ErrorCode.PAYLOAD_TOO_LARGE,
                                      f"send at most {MAX_SCANS_PER_BATCH} scans per batch")
        return scans


@dataclass(frozen=True, slots=True)
class ScanResult(Shape):
    """The server's answer for one uploaded scan. ``conflict`` is set when this scan was flagged."""

    scan_id: Uuid
    outcome: ScanOutcome
    conflict: Conflict | None = None
    error: Annotated[str, text(64, unchecked=True)] | None = None  # an ErrorCode value if rejected


@dataclass(frozen=True, slots=True)
class ScanBatchResult(Shape):
    """One result per uploaded scan, in the order sent."""

    results: Annotated[tuple[ScanResult, ...], Field(max_length=MAX_ITEMS)]
    server_time: Time = Field(default_factory=lambda: datetime.now(UTC))


# --- errors ---------------------------------------------------------------------------------


def error_body(code: str, message: str,
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

