"""Building blocks for request schemas (pydantic v2): bounded text, ids, money, e-mail.

Every field is bounded so that no input can overflow a column or a PostgreSQL integer, and NUL
characters (which PostgreSQL text refuses) are rejected with a field message rather than a 500.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from sync_server.errors import validation_error

MAX_ID = 2**31 - 1
MAX_CENTS = 100_000_000_00  # one hundred million dollars
MAX_QUANTITY = 1_000_000


def _no_control_chars(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _zone(value: str) -> str:
    if value not in _ZONES:
        raise ValueError("must be an IANA time zone name, e.g. America/Chicago")
    ZoneInfo(value)
    return value


_ZONES = frozenset(available_timezones())

_CLEAN = AfterValidator(_no_control_chars)

# Text fields: "NameN" must have at least one character, "TextN" may be empty.
Name40 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), _CLEAN
]
Name100 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), _CLEAN
]
Name120 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), _CLEAN
]
Name200 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _CLEAN
]
Text20 = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=20), _CLEAN
]
Text120 = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=120), _CLEAN
]
Text200 = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), _CLEAN
]
Text300 = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=300), _CLEAN
]
Text500 = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), _CLEAN
]
Text10k = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=10_000), _CLEAN
]

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
