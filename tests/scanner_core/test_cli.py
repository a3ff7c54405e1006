"""The headless commands, run in-process on a temp data folder; the server is the fake one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from scanner_app import cli
from shared import protocol as p
from shared.qr import render_png
from tests.scanner_core.conftest import settings, token
from tests.scanner_core.fake_server import PAIRING_CODE, FakeServer


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    now = datetime.now(UTC)  # the CLI runs on the real clock: an event day open right now
    s = FakeServer(event=settings(days=(
        p.EventDay(now.date(), now - timedelta(hours=1), now + timedelta(hours=6)),)))
    s.add_tickets(10)
    s.update_ticket(4, holder_name="Renée Dupont")

    def client(url: str) -> httpx.Client:
        assert url == "http://server.test"
        return s.client()

    monkeypatch.setattr(cli, "_http_client", client)
    return s


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, object]:
    code = cli.main(["--data-dir", str(data_dir), *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_pair_sync_check_lookup_status(capsys: pytest.CaptureFixture[str], data_dir: Path,
                                       server: FakeServer, tmp_path: Path) -> None:
    code, out = run(capsys, data_dir, "pair", "--server", "http://server.test", "--code",
                    PAIRING_CODE)
    assert code == 0 and out["paired"] is True  # type: ignore[index]
    code, out = run(capsys, data_dir, "sync")
    assert code == 0 and out["tickets"] == 10  # type: ignore[index]

    code, out = run(capsys, data_dir, "check", "--payload", token(3), "--door", "North")
    assert code == 0
    assert out["code"] == "admit" and out["colour"] == "green"  # type: ignore[index]
    assert out["holder_name"] == "Guest 3"  # type: ignore[index]

    png = tmp_path / "ticket.png"
    png.write_bytes(render_png(token(5)))
    code, out = run(capsys, data_dir, "check", "--image", str(png))
    assert code == 0 and out["code"] == "admit" and out["ticket_id"] == 5  # type: ignore[index]

    code, out = run(capsys, data_dir, "check", "--payload", token(3))
    assert out["code"] == "already_scanned"  # type: ignore[index]

    code, out = run(capsys, data_dir, "lookup", "renee")
    assert code == 0 and [r["ticket_id"] for r in out] == [4]  # type: ignore[union-attr]

    code, out = run(capsys, data_dir, "status")
    assert code == 0
    assert out["tickets_cached"] == 10 and out["scans_queued"] == 3  # type: ignore[index]
    assert out["server"] == "http://server.test"  # type: ignore[index]

    code, out = run(capsys, data_dir, "sync")
    assert code == 0 and out["uploaded"] == 3  # type: ignore[index]
    code, out = run(capsys, data_dir, "status")
    assert out["scans_queued"] == 0 and out["last_sync_at"]  # type: ignore[index]


def test_sync_with_the_server_down_fails_and_keeps_the_queue(
    capsys: pytest.CaptureFixture[str], data_dir: Path, server: FakeServer
) -> None:
    run(capsys, data_dir, "pair", "--server", "http://server.test", "--code", PAIRING_CODE)
    run(capsys, data_dir, "check", "--payload", token(1))

    def down(request: httpx.Request) -> None:
        raise httpx.ConnectError("refused", request=request)

    server.before = down
    code, out = run(capsys, data_dir, "sync")
    assert code == 1 and out == {"synced": False, "error": "offline",  # type: ignore[comparison-overlap]
                                 "message": "ConnectError: refused"}
    _, out = run(capsys, data_dir, "status")
    assert out["scans_queued"] == 1  # type: ignore[index]


def test_bad_pairing_code_and_unpaired_sync(capsys: pytest.CaptureFixture[str], data_dir: Path,
                                            server: FakeServer) -> None:
    code, out = run(capsys, data_dir, "pair", "--server", "http://server.test", "--code", "NO")
    assert code == 1 and out["error"] == "pairing_code_invalid"  # type: ignore[index]
    code, out = run(capsys, data_dir, "sync")
    assert code == 1 and out["error"] == "not_paired"  # type: ignore[index]


def test_image_without_a_code_and_missing_image(capsys: pytest.CaptureFixture[str],
                                                data_dir: Path, tmp_path: Path) -> None:
    import cv2
    import numpy as np

    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200), 255, np.uint8))
    code, out = run(capsys, data_dir, "check", "--image", str(blank))
    assert code == 1 and out["decoded"] is False  # type: ignore[index]
    code = cli.main(["--data-dir", str(data_dir), "check", "--image", str(tmp_path / "nope.png")])
    assert code == 1
    assert "cannot read an image" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["check"])
    assert caught.value.code == 2
