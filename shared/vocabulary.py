"""The words both sides speak on the wire, defined once: error codes, verdict codes and the sets
of verdicts that count as admissions, bearer-token prefixes, and the one time format.

The door app and the sync server import these; neither copies a value. The server's own error
codes extend :class:`ErrorCode` (``sync_server.errors.Code``); the door's rules attach titles and
colours to :class:`VerdictCode` (``scanner_app.core``). Values cross the wire and sit in
databases: never rename one. Prose: ``docs/sync-protocol.md``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

# --- bearer tokens ---------------------------------------------------------------------------
USER_TOKEN_PREFIX: Final = "slu_"  # noqa: S105 - a public prefix, not a secret
DEVICE_TOKEN_PREFIX: Final = "sld_"  # noqa: S105 - a public prefix, not a secret


# --- error codes -----------------------------------------------------------------------------
class ErrorCode:
    """Stable ``error.code`` values of the error envelope. Clients branch on these, never on text.

    ``{"error": {"code": "<code>", "message": "<words>", "fields": {"<field>": ["<msg>"]}}}``

    A plain class of string constants, so that the server's list is a subclass that adds its
    own codes (``class Code(ErrorCode)``) instead of a copy.
    """

    BAD_REQUEST: Final = "bad_request"  # 400
    MALFORMED_JSON: Final = "malformed_json"  # 400: the body is not JSON
    VALIDATION_FAILED: Final = "validation_failed"  # 422: see ``fields``
    # a scan's rejection (ScanResult.error): a text of it holds control characters; fix the text
    CONTROL_CHARACTERS: Final = "control_characters"
    AUTH_REQUIRED: Final = "auth_required"  # 401: no token
    INVALID_TOKEN: Final = "invalid_token"  # noqa: S105 - 401: unknown token (a code)
    DEVICE_REVOKED: Final = "device_revoked"  # 401: this device was revoked: wipe local data
    PAIRING_CODE_INVALID: Final = "pairing_code_invalid"  # 400: unknown, used or expired code
    FORBIDDEN: Final = "forbidden"  # 403
    EVENT_NOT_SERVED: Final = "event_not_served"  # 403: the device does not serve that event
    NOT_FOUND: Final = "not_found"  # 404
    CURSOR_EXPIRED: Final = "cursor_expired"  # 410: the cursor is too old or foreign: restart
    PAYLOAD_TOO_LARGE: Final = "payload_too_large"  # 413: e.g. too many scans in a batch
    UNSUPPORTED_PROTOCOL: Final = "unsupported_protocol"  # 400: X-Protocol-Version not served
    RATE_LIMITED: Final = "rate_limited"  # 429: wait for Retry-After seconds
    INTERNAL_ERROR: Final = "internal_error"  # 500
    UNAVAILABLE: Final = "unavailable"  # 503: maintenance; honour Retry-After


# --- verdicts --------------------------------------------------------------------------------
class VerdictCode(StrEnum):
    """What a door decided for one scan. Uploaded with every scan (``ScanRecord.verdict``)."""

    ADMIT = "admit"
    ADMIT_UNCACHED = "admit_uncached"  # genuine signature, ticket not yet in the cache (by setting)
    EXIT = "exit"  # an exit scan on an event with re-entry
    ALREADY_SCANNED = "already_scanned"
    REPEAT = "repeat"  # the same code again within the debounce window: not counted twice
    WRONG_EVENT = "wrong_event"
    NOT_VALID_TODAY = "not_valid_today"
    NOT_YET_VALID = "not_yet_valid"
    NO_LONGER_VALID = "no_longer_valid"
    CANCELLED = "cancelled"
    REVOKED = "revoked"  # transferred or re-issued: this copy of the ticket is void
    UNKNOWN_TICKET = "unknown_ticket"  # genuine signature, not in cache, event refuses uncached
    FORGED = "forged"
    UNKNOWN_KEY = "unknown_key"
    UNSUPPORTED_VERSION = "unsupported_version"
    MALFORMED = "malformed"
    ERROR = "error"  # the door could not record the scan (disk full, data wiped): scan again


def _values(*codes: VerdictCode) -> frozenset[str]:
    # plain strings: they are compared with database columns and JSON text
    return frozenset(code.value for code in codes)


# A guest went in: these set a ticket SCANNED and compete for "first entry".
ADMITTING_VERDICTS: Final = _values(VerdictCode.ADMIT, VerdictCode.ADMIT_UNCACHED)
# The door let someone through (in or out): counted, shown green.
COUNTED_VERDICTS: Final = ADMITTING_VERDICTS | _values(VerdictCode.EXIT)
# The guest was turned away (a repeat of a counted scan is neither counted nor a refusal).
REFUSING_VERDICTS: Final = _values(*VerdictCode) - COUNTED_VERDICTS - _values(VerdictCode.REPEAT)


# --- time ------------------------------------------------------------------------------------
def format_time(value: datetime) -> str:
    """The one time format on the wire: ISO 8601 in UTC with microseconds and ``Z``, e.g.
    ``2026-05-01T21:30:00.000000Z`` (fixed width, so the text sorts as the time does)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: the protocol only carries aware UTC times")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_optional_time(value: datetime | None) -> str | None:
    """:func:`format_time`, with ``None`` (JSON null) for no time."""
    return None if value is None else format_time(value)


def parse_time(text: str) -> datetime:
    """Read an ISO 8601 time with an offset (``Z`` or ``+hh:mm``); answer aware UTC."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("time needs a zone: end it with Z")
    return value.astimezone(UTC)
