"""A stand-in for the sync server's door endpoints, served over real HTTP on a real socket.

STAND-IN: the real Flask app's door endpoints (heartbeat, scans, door data) are being written in
parallel; switch the badge and revoked tests to ``sync_server.create_app`` when they exist. It
speaks the real protocol (``shared.protocol`` shapes), and it can go away and come back on the
same port, or answer ``device_revoked``, which is all the window's tests need of it.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from shared import protocol as p

StartResponse = Callable[[str, list[tuple[str, str]]], object]


class StandInServer:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.revoked = False
        # What the door already holds, at the revision it holds: nothing to download.
        self.events: tuple[p.EventSummary, ...] = ()
        self.scans_received: list[str] = []
        self.pairing_code = "PAIR-1234"
        self.door_data: dict[int, p.DoorDataPage] = {}  # event id -> the one page of its data
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _answer(self, start: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
        start(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def _app(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if self.revoked:
            return self._answer(
                start, "401 UNAUTHORIZED", p.error_body(p.ErrorCode.DEVICE_REVOKED, "revoked")
            )
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = json.loads(environ["wsgi.input"].read(length) or b"null")
        now = datetime.now(UTC)
        if path == p.PAIR_PATH:
            if p.PairRequest.from_json(data).code != self.pairing_code:
                return self._answer(
                    start,
                    "400 BAD REQUEST",
                    p.error_body(p.ErrorCode.PAIRING_CODE_INVALID, "unknown pairing code"),
                )
            answer = p.PairResponse(
                device_id=1,
                device_name="UI test",
                token="sld_ui-test",
                event_ids=tuple(self.door_data),
            )
            return self._answer(start, "200 OK", answer.to_json())
        for event_id, page in self.door_data.items():
            if path == p.door_data_path(event_id):
                return self._answer(start, "200 OK", page.to_json())
        if path == p.HEARTBEAT_PATH:
            beat = p.HeartbeatResponse(
                server_time=now, device_id=1, device_name="UI test", events=self.events
            )
            return self._answer(start, "200 OK", beat.to_json())
        if path == p.SCANS_PATH:
            batch = p.ScanBatch.from_json(data)
            self.scans_received += [s.scan_id for s in batch.scans]
            results = tuple(p.ScanResult(s.scan_id, p.ScanOutcome.ACCEPTED) for s in batch.scans)
            return self._answer(start, "200 OK", p.ScanBatchResult(results, now).to_json())
        return self._answer(start, "404 NOT FOUND", p.error_body("not_found", path))
