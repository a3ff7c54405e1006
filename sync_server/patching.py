"""Apply a PATCH body to a record: only the fields sent, and no null where null is not allowed."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel

from sync_server.errors import validation_error


def changes(body: BaseModel, nullable: Collection[str]) -> dict[str, Any]:
    """The fields the client sent; ``validation_failed`` if one that cannot be null is null."""
    sent = {name: getattr(body, name) for name in body.model_fields_set}
    nulls = {name: ["may not be null"] for name, value in sent.items()
             if value is None and name not in nullable}
    if nulls:
        raise validation_error(nulls)
    return sent
