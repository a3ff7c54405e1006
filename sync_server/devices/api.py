"""Devices over JSON: pairing codes (with a QR), pairing, list, rename, revoke, door info."""

from __future__ import annotations

import base64
from typing import Any

from flask import current_app, request

from shared.protocol import pairing_qr_text
from shared.qr import render_png
from shared.vocabulary import format_optional_time as iso
from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_device, require_user
from sync_server.config import Config
from sync_server.devices import limits, services
from sync_server.devices.models import Device
from sync_server.devices.responses import (
    DeviceEnvelope,
    DeviceList,
    DoorOut,
    PairedOut,
    PairingCodeOut,
    ThisDeviceOut,
)
from sync_server.devices.schemas import DeviceRename, PairBody, PairingCodeCreate
from sync_server.errors import not_found
from sync_server.events.models import Event
from sync_server.events.serialize import event_json

routes = Routes("devices")  # endpoints "devices_<view>"
api_route = routes.route

TAG = "devices"
E = "/events/<id:event_id>"


def device_json(device: Device) -> dict[str, Any]:
    return {"id": device.id, "name": device.name, "kind": device.kind.value,
            "event_ids": [e.id for e in device.events], "paired_at": iso(device.paired_at),
            "last_seen_at": iso(device.last_seen_at), "revoked_at": iso(device.revoked_at),
            "revoked": device.revoked}


def served_event_json(event: Event) -> dict[str, Any]:
    return {"id": event.id, "name": event.name, "timezone": event.timezone,
            "starts_at": iso(event.starts_at), "ends_at": iso(event.ends_at),
            "status": event.status.value}


def _config() -> Config:
    config: Config = current_app.extensions["sync_config"]
    return config


@api_route(E + "/pairing-codes", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=PairingCodeCreate, status=201,
           summary="A one-time pairing code (and its QR as a PNG data URL) for a new device",
           response=PairingCodeOut)
def create_pairing_code(req: ApiRequest) -> dict[str, Any]:
    body: PairingCodeCreate = req.body
    events = [req.the_event]
    for event_id in body.also_event_ids:
        other = req.session.get(Event, event_id)
        if other is None:
            raise not_found(f"event {event_id}")
        events.append(other)
    code, row = services.create_pairing_code(
        req.session, by=require_user(req.actor), events=events, device_name=body.name,
        kind=body.kind, minutes=_config().pairing_code_minutes,
    )
    req.session.commit()
    # The QR carries the server's address too: a door scans it once and pairs.
    qr_text = pairing_qr_text(_config().public_url or request.host_url, code)
    png = base64.b64encode(render_png(qr_text, box_size=8)).decode("ascii")
    return {"code": code, "expires_at": iso(row.expires_at), "name": row.device_name,
            "kind": row.kind.value, "event_ids": [e.id for e in row.events],
            "qr_png_data_url": f"data:image/png;base64,{png}"}


@api_route("/devices/pair", method="POST", access=Access.PUBLIC, tag=TAG, body=PairBody,
           status=201, summary="Exchange a pairing code for a device token (rate limited)",
           response=PairedOut)
def pair(req: ApiRequest) -> dict[str, Any]:
    body: PairBody = req.body
    token, device = limits.pair_device(req.session, code=body.code)
    req.session.commit()
    return {"device_token": token, "device": device_json(device),
            "events": [served_event_json(e) for e in device.events]}


@api_route("/device", method="GET", access=Access.DEVICE, tag=TAG,
           summary="The calling device and the events it serves", response=ThisDeviceOut)
def this_device(req: ApiRequest) -> dict[str, Any]:
    device = require_device(req.actor)
    return {"device": device_json(device),
            "events": [served_event_json(e) for e in device.events]}


@api_route(E + "/devices", method="GET", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="Devices that serve this event", response=DeviceList)
def list_devices(req: ApiRequest) -> dict[str, Any]:
    return {"devices": [device_json(d)
                        for d in services.devices_for_event(req.session, req.the_event)]}


@api_route(E + "/devices/<id:device_id>", method="PATCH", access=Access.EVENT_ORGANIZER,
           tag=TAG, body=DeviceRename, summary="Rename a device", response=DeviceEnvelope)
def rename_device(req: ApiRequest, device_id: int) -> dict[str, Any]:
    body: DeviceRename = req.body
    device = services.get_device_for_event(req.session, req.the_event, device_id)
    services.rename_device(req.session, device, name=body.name, by=require_user(req.actor))
    req.session.commit()
    return {"device": device_json(device)}


@api_route(E + "/devices/<id:device_id>/revoke", method="POST", access=Access.EVENT_ORGANIZER,
           tag=TAG, summary="Revoke a device (it must wipe its data); idempotent",
           response=DeviceEnvelope)
def revoke_device(req: ApiRequest, device_id: int) -> dict[str, Any]:
    device = services.get_device_for_event(req.session, req.the_event, device_id)
    services.revoke_device(req.session, device, by=require_user(req.actor))
    req.session.commit()
    return {"device": device_json(device)}


@api_route(E + "/door", method="GET", access=Access.EVENT_DOOR, tag=TAG,
           summary="What a door needs to know about the event (devices and unexpired staff)",
           response=DoorOut)
def door_info(req: ApiRequest) -> dict[str, Any]:
    return {"event": event_json(req.the_event, detail=True)}
