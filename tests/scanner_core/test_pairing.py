"""Pairing as the window does it (scanner_app/core/pairing.py), against the real server app: the
first download reports progress to the announced total, failures come back in staff's words, and
the paired door opens with its sync round. No Qt."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from scanner_app.core.pairing import PairingFailed, open_paired_door, pair_and_download
from tests.scanner_core.real_server import (
    BASE_URL,
    RealServer,
    real_server,  # noqa: F401 (fixture)
)


def test_pairing_downloads_with_progress_then_the_door_opens_and_syncs(
    real_server: RealServer, data_dir: Path  # noqa: F811
) -> None:
    event, _tier, _tickets = real_server.event(tickets=12)
    code = real_server.pairing_code(event, name="North")

    def client(url: str) -> httpx.Client:
        assert url == BASE_URL
        return real_server.client()

    assert open_paired_door(data_dir, client) is None  # not paired yet
    progress: list[tuple[int, int]] = []
    pair_and_download(data_dir, f" {BASE_URL}/", code, lambda d, t: progress.append((d, t)),
                      client_factory=client)  # as typed: spaces and a slash are dropped
    assert progress and progress[-1] == (12, 12)
    paired = open_paired_door(data_dir, client)
    assert paired is not None and paired.sync_round is not None
    try:
        assert paired.door.status().tickets_cached == 12
        assert [e.event_id for e in paired.door.events()] == [event.id]
        outcome = paired.sync_round()
        assert outcome.online and not outcome.revoked
    finally:
        paired.door.close()


@pytest.mark.parametrize(
    ("code", "words"),
    [("WRONGCODE1", "not valid"), (None, "Cannot reach the server")],
)
def test_pairing_failures_are_told_in_words(
    real_server: RealServer, data_dir: Path, code: str | None, words: str  # noqa: F811
) -> None:
    def client(url: str) -> httpx.Client:
        if code is None:  # the venue's network is down
            return httpx.Client(base_url=url, transport=httpx.MockTransport(_unreachable))
        return real_server.client()

    with pytest.raises(PairingFailed, match=words):
        pair_and_download(data_dir, BASE_URL, code or "K7QM2XH9PA", lambda _d, _t: None,
                          client_factory=client)
    assert open_paired_door(data_dir, client) is None


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("no route to host", request=request)
