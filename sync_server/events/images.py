"""An event's pictures: checked (a real JPEG, PNG or WebP, not too big, not a pixel bomb),
kept as sent and as a resized copy for lists and phones, listed in ``Event.images``.

Files live under ``<instance>/uploads/events/<event id>/`` with names the server makes up (never
the sender's file name); ``Event.images`` holds ``{"file", "thumb", "type", "width", "height",
"bytes"}`` per picture.
"""

from __future__ import annotations

import io
import logging
import secrets
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.errors import ApiError, Code, validation_error
from sync_server.events.models import Event, EventStatus

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; more is refused before decoding (pixel bombs)
MAX_IMAGES = 10
THUMB_SIZE = (800, 800)
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
           "WEBP": ("webp", "image/webp")}


def folder_for(instance: Path, event_id: int) -> Path:
    return instance / "uploads" / "events" / str(event_id)


def _refuse(message: str) -> ApiError:
    return validation_error({"image": [message]}, message)


def check_image(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of an acceptable picture; refused in words otherwise."""
    if not data:
        raise _refuse("Choose a picture to upload.")
    if len(data) > MAX_IMAGE_BYTES:
        raise _refuse(f"This file is {len(data) / 1024 / 1024:.1f} MB; a picture may be at "
                      f"most {MAX_IMAGE_BYTES // 1024 // 1024} MB.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind, (width, height) = probe.format or "", probe.size
            if kind not in FORMATS:
                raise _refuse("This file is not a JPEG, PNG or WebP picture.")
            if width * height > MAX_PIXELS:
                raise _refuse(f"This picture is {width}×{height} pixels; at most "
                              f"{MAX_PIXELS // 1_000_000} megapixels.")
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as error:
        logger.info("refused an upload that is not a picture: %r", error)
        raise _refuse("This file is not a picture (JPEG, PNG or WebP).") from error
    return kind, width, height


def _thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail(THUMB_SIZE)
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=82, optimize=True)
        return out.getvalue()


def add_image(session: Session, event: Event, *, user: User, data: bytes,
              instance: Path) -> dict[str, Any]:
    """Check and keep one picture (and its resized copy) for ``event``."""
    if event.status is EventStatus.CANCELLED:
        raise ApiError(409, Code.INVALID_STATE, "a cancelled event cannot be edited")
    if len(event.images or []) >= MAX_IMAGES:
        raise _refuse(f"An event has at most {MAX_IMAGES} pictures; remove one first.")
    kind, width, height = check_image(data)
    extension, mime = FORMATS[kind]
    folder = folder_for(instance, event.id)
    folder.mkdir(parents=True, exist_ok=True)
    stem = secrets.token_hex(8)
    original, thumb = f"{stem}.{extension}", f"{stem}-small.jpg"
    (folder / original).write_bytes(data)
    (folder / thumb).write_bytes(_thumbnail(data))
    entry = {"file": original, "thumb": thumb, "type": mime, "width": width, "height": height,
             "bytes": len(data)}
    event.images = [*(event.images or []), entry]
    flag_modified(event, "images")
    event.version = (event.version or 1) + 1
    session.flush()
    record(session, action="event.image_add", entity_type="event", entity_id=event.id,
           user=user, event_id=event.id, details={"file": original, "bytes": len(data)})
    return entry


def image_file(event: Event, name: str) -> str | None:
    """``name`` if it is one of the event's files (original or resized), else None."""
    for entry in event.images or []:
        if isinstance(entry, dict) and name in (entry.get("file"), entry.get("thumb")):
            return name
    return None


def remove_image(session: Session, event: Event, *, user: User, name: str,
                 instance: Path) -> None:
    """Forget one picture (named by its file) and delete its files."""
    kept, gone = [], None
    for entry in event.images or []:
        if isinstance(entry, dict) and entry.get("file") == name:
            gone = entry
        else:
            kept.append(entry)
    if gone is None:
        raise ApiError(404, Code.NOT_FOUND, "this event has no such picture")
    event.images = kept
    flag_modified(event, "images")
    event.version = (event.version or 1) + 1
    session.flush()
    folder = folder_for(instance, event.id)
    for file in (gone["file"], gone.get("thumb")):
        if file:
            (folder / file).unlink(missing_ok=True)
    record(session, action="event.image_remove", entity_type="event", entity_id=event.id,
           user=user, event_id=event.id, details={"file": name})
