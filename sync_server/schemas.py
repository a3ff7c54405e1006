"""Building blocks for request schemas (pydantic v2): bounded text, ids, money, e-mail.

Every field is bounded so that no input can overflow a column or a PostgreSQL integer. Text
fields refuse control characters (NUL, which PostgreSQL text refuses; C1; lone surrogates) with a
field message rather than a 500; single-line fields (:func:`line`: names, titles, phone, e-mail)
refuse line breaks too, multi-line ones (:func:`paragraphs`: descriptions, reasons) keep them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.wire_fields import paragraph, single_line
from sync_server.errors import validation_error

MAX_ID = 2**31 - 1
MAX_CENTS = 100_000_000_00  # one hundred million dollars
MAX_QUANTITY = 1_000_000


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _zone(value: str) -> str:
    if value not in _ZONES:
        raise ValueError("must be an IANA time zone name, e.g. America/Chicago")
    ZoneInfo(value)
    return value


_ZONES = frozenset(available_timezones())



# Every text field of a request ends in one of these two checks. ``SINGLE_LINE``: no control
# characters and no line breaks (a line break in an event name breaks the mail headers it ends
# up in): names, titles, phone, e-mail. ``PARAGRAPHS``: line breaks and tabs are kept:
# descriptions, reasons. "NameN" must have at least one character, "TextN" may be empty.
SINGLE_LINE = AfterValidator(single_line)
PARAGRAPHS = AfterValidator(paragraph)


def _text(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


Name40 = Annotated[str, _text(1, 40), SINGLE_LINE]
Name100 = Annotated[str, _text(1, 100), SINGLE_LINE]
Name120 = Annotated[str, _text(1, 120), SINGLE_LINE]
Name200 = Annotated[str, _text(1, 200), SINGLE_LINE]
Text20 = Annotated[str, _text(0, 20), SINGLE_LINE]
Text120 = Annotated[str, _text(0, 120), SINGLE_LINE]
Text200 = Annotated[str, _text(0, 200), SINGLE_LINE]
Text300 = Annotated[str, _text(0, 300), SINGLE_LINE]
Text500 = Annotated[str, _text(0, 500), PARAGRAPHS]
Text10k = Annotated[str, _text(0, 10_000), PARAGRAPHS]
Reason = Annotated[str, _text(1, 500), PARAGRAPHS]

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Cents = Annotated[int, Field(ge=0, le=MAX_CENTS)]
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
PerOrder = Annotated[int, Field(ge=1, le=1000)]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_zone)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254,
        pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$",
    ),
    SINGLE_LINE,
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]


class Body(BaseModel):
    """Base for request bodies: strict types, unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


def patch_values(body: BaseModel, nullable: Collection[str]) -> dict[str, Any]:
    """A PATCH body's fields that the client sent; ``validation_failed`` if one that cannot be
    null is null."""
    sent = {name: getattr(body, name) for name in body.model_fields_set}
    nulls = {name: ["may not be null"] for name, value in sent.items()
             if value is None and name not in nullable}
    if nulls:
        raise validation_error(nulls)
    return sent


class Query(BaseModel):
    """Base for query strings: lax (everything arrives as text), unknown keys refused."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """Base for documented response shapes (OpenAPI); tests validate real responses with them."""

    model_config = ConfigDict(extra="forbid")


class DeletedOut(Out):
    deleted: bool
