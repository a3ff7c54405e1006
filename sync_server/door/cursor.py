"""The opaque door-data cursor: what the door has, encoded by the server.

A cursor is URL-safe base64 of a small JSON object. The door stores it verbatim and sends it
back; the server decodes it and refuses anything it does not understand (another event, another
format version, a change number from the future after a database restore, anything it cannot
have issued: a character outside base64, nesting, an id beyond its column) with 410
``cursor_expired``, so the door restarts a full snapshot instead of silently missing rows or
failing at every round.

- snapshot in progress: ``{"v": 1, "e": event, "k": "s", "h": H, "t": last ticket id}``;
- deltas: ``{"v": 1, "e": event, "k": "d", "c": C}`` (everything up to change C is held), and
  while a delta is paged ``"h": H`` (its upper bound) and ``"a": [change, id]`` (the last row sent).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sync_server.errors import ApiError, Code

VERSION = 1
MAX_CURSOR_CHARS = 2_000


@dataclass(frozen=True, slots=True)
class Snapshot:
    event_id: int
    horizon: int  # the event's change number when the snapshot started
    after_ticket: int  # the last ticket id sent


@dataclass(frozen=True, slots=True)
class Delta:
    event_id: int
    since: int  # every change <= since is held by the door
    upto: int | None = None  # while paging: the delta's upper bound
    after: tuple[int, int] | None = None  # while paging: (change, ticket id) of the last row sent


Cursor = Snapshot | Delta


def encode(cursor: Cursor) -> str:
    data: dict[str, Any] = {"v": VERSION, "e": cursor.event_id}
    if isinstance(cursor, Snapshot):
        data.update(k="s", h=cursor.horizon, t=cursor.after_ticket)
    else:
        data.update(k="d", c=cursor.since)
        if cursor.upto is not None and cursor.after is not None:
            data.update(h=cursor.upto, a=list(cursor.after))
    text = json.dumps(data, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(text).decode("ascii").rstrip("=")


def expired(message: str = "this cursor is not understood here: start a full download") -> ApiError:
    return ApiError(410, Code.CURSOR_EXPIRED, message)


MAX_CHANGE = 2**63 - 1  # change numbers are BIGINT
MAX_TICKET_ID = 2**31 - 1  # ticket ids are INTEGER


def _count(value: object, maximum: int = MAX_CHANGE) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(value)
    return value


def decode(text: str, event_id: int, revision: int) -> Cursor:
    """The cursor in ``text`` for ``event_id``; 410 ``cursor_expired`` if it is not usable.

    ``revision`` is the event's current change number: a cursor beyond it comes from another
    database (a restore, a reset) and is refused.
    """
    if not text or len(text) > MAX_CURSOR_CHARS or not text.isascii():
        raise expired()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError("version")
        if _count(data.get("e")) != event_id:
            raise expired("this cursor belongs to another event: start a full download")
        cursor: Cursor
        if data.get("k") == "s":
            cursor = Snapshot(event_id, _count(data.get("h")),
                              _count(data.get("t"), MAX_TICKET_ID))
            mark = cursor.horizon
        elif data.get("k") == "d":
            after = data.get("a")
            if after is None:
                cursor = Delta(event_id, _count(data.get("c")))
                mark = cursor.since
            else:
                if not isinstance(after, list) or len(after) != 2:
                    raise ValueError("after")
                cursor = Delta(event_id, _count(data.get("c")), _count(data.get("h")),
                               (_count(after[0]), _count(after[1], MAX_TICKET_ID)))
                assert cursor.upto is not None
                if not cursor.since <= after[0] <= cursor.upto:
                    raise ValueError("after")
                mark = cursor.upto
        else:
            raise ValueError("kind")
    except (ValueError, binascii.Error, RecursionError):  # RecursionError: nested arrays
        raise expired() from None
    if mark > revision:
        raise expired("this cursor is newer than the server's data: start a full download")
    return cursor
