"""The field types of the sync protocol's shapes, and the base every shape shares.

A shape is a frozen pydantic dataclass: pydantic checks its fields (types are strict, so ``true``
is not an integer and ``5`` is not a string) and writes it as JSON; :class:`Shape` adds
``to_json()`` / ``from_json()`` and turns pydantic's errors into :class:`ProtocolError`, whose
``fields`` name each bad field by its path in the body (``scans[1].scan_id``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Self

from annotated_types import Ge, GroupedMetadata, Le, MaxLen
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from shared.vocabulary import ErrorCode, format_time, parse_time

MAX_INT = 2**63 - 1
MAX_ID = 2**32 - 1  # ticket and event ids fit the ticket token's 4 bytes
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

# What one line of text may not hold: C0 controls (NUL, tab, CR, LF, ...), DEL, C1 controls
# (U+0085 NEL, ...), the Unicode line and paragraph separators, and lone surrogates (which no
# UTF-8 database column can store). PostgreSQL refuses NUL outright; the others break the
# single-line places a text ends up in (mail headers, a CSV, a log line, the door's status line).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# The same, less the breaks a paragraph may hold (tab, LF, CR, U+2028, U+2029).
CONTROL_IN_PARAGRAPH = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The pydantic error type of a text that holds them: an uploaded scan refused for it alone is
# answered per scan (``ScanOutcome.REJECTED``), not by refusing the whole batch.
CONTROL_ERROR = ErrorCode.CONTROL_CHARACTERS


class ProtocolError(ValueError):
    """A body that does not follow the protocol. ``fields`` maps a field's path to messages."""

    def __init__(self, fields: Mapping[str, Sequence[str]]) -> None:
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in fields.items()}
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in self.fields.items()))


def field_path(loc: Sequence[int | str]) -> str:
    """``("scans", 1, "scan_id")`` -> ``"scans[1].scan_id"``; the whole body is ``"body"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "body"


def error_fields(error: ValidationError) -> dict[str, list[str]]:
    """Every message of a pydantic error, by field path."""
    fields: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        fields.setdefault(field_path(item["loc"]), []).append(item["msg"])
    return fields


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def adapter(shape: type[Any]) -> TypeAdapter[Any]:
    """The (built once) pydantic adapter of a shape or model: validates and writes it."""
    found = _ADAPTERS.get(shape)
    if found is None:
        found = _ADAPTERS[shape] = TypeAdapter(shape)
    return found


class Shape:
    """What every protocol shape can do besides being a pydantic dataclass."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """A dict ready for ``json.dumps``: every field, times as :func:`format_time` text."""
        data: dict[str, Any] = adapter(type(self)).dump_python(self, mode="json")
        return data

    def json_bytes(self) -> bytes:
        """The same as ``json.dumps(to_json())``, compact UTF-8, written by pydantic's core (a
        10,000-ticket door-data page in about half the time)."""
        return adapter(type(self)).dump_json(self)

    @classmethod
    def from_json(cls, data: object) -> Self:
        """Read a decoded JSON body; raise :class:`ProtocolError` naming every bad field."""
        try:
            value: Self = adapter(cls).validate_python(data)
        except ValidationError as error:
            raise ProtocolError(error_fields(error)) from None
        return value


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", message)


def _read_time(value: object) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _fail("must be a time with a zone")
        return value
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            pass
    raise _fail("must be an ISO 8601 time with a zone, e.g. 2026-05-01T21:30:00Z")


def _read_day(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail("must be a date YYYY-MM-DD")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise _fail("must not be empty")
    return value


def single_line(value: str) -> str:
    """``value`` if it is one line of text without control characters; else a pydantic error of
    type :data:`CONTROL_ERROR`. An ``AfterValidator`` of every single-line text field."""
    if CONTROL_CHARACTERS.search(value):
        raise PydanticCustomError(
            CONTROL_ERROR, "must be one line of text without control characters")
    return value


def paragraph(value: str) -> str:
    """Like :func:`single_line`, but line breaks and tabs are allowed (descriptions, notes)."""
    if CONTROL_IN_PARAGRAPH.search(value):
        raise PydanticCustomError(CONTROL_ERROR, "must be text without control characters")
    return value


def _canonical_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _fail("must be a UUID") from None


def null_is(default: object) -> BeforeValidator:
    """An optional field that also reads JSON ``null`` as its default."""
    return BeforeValidator(lambda value: default if value is None else value)


Time = Annotated[
    datetime,
    PlainValidator(_read_time),
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time",
                    "examples": ["2026-05-01T21:30:00.000000Z"]}),
]
Day = Annotated[
    date,
    PlainValidator(_read_day),
    PlainSerializer(date.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date"}),
]
Uuid = Annotated[str, Field(strict=True, min_length=1, max_length=36),
                 AfterValidator(_canonical_uuid)]
Flag = Annotated[bool, Field(strict=True)]


class _All(GroupedMetadata):
    """Several pydantic constraints as one ``Annotated`` item."""

    def __init__(self, *items: object) -> None:
        self.items = items

    def __iter__(self) -> Iterator[object]:
        return iter(self.items)


def text(max_len: int = 10_000, *, empty: bool = False, unchecked: bool = False) -> _All:
    """``Annotated[str, text(n)]``: one line of at most ``n`` characters without control
    characters (:func:`single_line`), blank only if ``empty``.

    ``unchecked``: not checked for control characters. For the fields of answers, which the
    server fills from its database: a text stored before this rule existed can never make the
    server fail to answer, or a door refuse its answer, so data never stops a door's sync. And
    for the door-data cursor, which the server reads itself (a cursor it cannot have issued is
    410 ``cursor_expired``, so the door starts over instead of failing forever).
    """
    items: list[object] = [Strict(), MaxLen(max_len)]
    if not unchecked:
        items.append(AfterValidator(single_line))
    if not empty:
        items.append(AfterValidator(_not_blank))
    return _All(*items)


def whole(minimum: int = 0, maximum: int = MAX_INT) -> _All:
    """``Annotated[int, whole(a, b)]``: an integer (never a boolean) from ``a`` to ``b``."""
    return _All(Strict(), Ge(minimum), Le(maximum))
