"""Request bodies for pairing and managing devices."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from sync_server.devices.models import DeviceKind
from sync_server.schemas import SINGLE_LINE, Body, Id, Name100


class PairingCodeCreate(Body):
    name: Name100
    kind: DeviceKind = DeviceKind.DOOR
    # More events the device will serve besides the one in the URL (the caller must organize them).
    also_event_ids: Annotated[list[Id], Field(max_length=50)] = Field(default_factory=list)


class PairBody(Body):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
                    SINGLE_LINE]


class DeviceRename(Body):
    name: Name100
