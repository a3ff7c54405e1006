"""Response shapes of the devices API (what the scanner app and box office read)."""

from __future__ import annotations

from sync_server.events.responses import EventOut
from sync_server.schemas import Out


class DeviceOut(Out):
    id: int
    name: str
    kind: str
    event_ids: list[int]
    paired_at: str | None
    last_seen_at: str | None
    revoked_at: str | None
    revoked: bool


class ServedEventOut(Out):
    id: int
    name: str
    timezone: str
    starts_at: str | None
    ends_at: str | None
    status: str


class PairingCodeOut(Out):
    code: str
    expires_at: str | None
    name: str
    kind: str
    event_ids: list[int]
    qr_png_data_url: str


class PairedOut(Out):
    device_token: str
    device: DeviceOut
    events: list[ServedEventOut]


class ThisDeviceOut(Out):
    device: DeviceOut
    events: list[ServedEventOut]


class DeviceList(Out):
    devices: list[DeviceOut]


class DeviceEnvelope(Out):
    device: DeviceOut


class DoorOut(Out):
    event: EventOut
