"""The headless commands, run in-process on a temp data folder, against a real server process.

The server is ``sync-server run`` on a free 127.0.0.1 port (tests.e2e.conftest.ServerProcess) with
an event open right now and its tickets made by the server's own services (the ``stage``
fixture); the CLI reaches it over real HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scanner_app import cli
from shared.qr import render_png
from sync_server.door.models import DoorScan
from tests.e2e.conftest import ServerProcess, Stage, server, stage  # noqa: F401 (fixtures)
from tests.scanner_core.real_server import ticket_token
from tests.server.door.conftest import sell


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, Any]:
    code = cli.main(["--data-dir", str(data_dir), *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def stored_scans(stage: Stage) -> int:  # noqa: F811
    stage.session.expire_all()
    return int(stage.session.scalar(sa.select(sa.func.count()).select_from(DoorScan)) or 0)


def test_pair_sync_check_lookup_status(capsys: pytest.CaptureFixture[str], data_dir: Path,
                                       stage: Stage, tmp_path: Path) -> None:  # noqa: F811
    renee = sell(stage.session, stage.event, stage.ticket_type, 1, name="Renée Dupont")[0]
    url = stage.server.url
    code, out = run(capsys, data_dir, "pair", "--server", url, "--code",
                    stage.pairing_code("North"))
    assert code == 0 and out["paired"] is True
    assert out["event_ids"] == [stage.event.id]
    code, out = run(capsys, data_dir, "sync")
    assert code == 0 and out["tickets"] == 31

    third, fifth = stage.tickets[2], stage.tickets[4]
    code, out = run(capsys, data_dir, "check", "--payload", ticket_token(third), "--door",
                    "North")
    assert code == 0
    assert out["code"] == "admit" and out["colour"] == "green"
    assert out["holder_name"] == third.holder_name

    png = tmp_path / "ticket.png"
    png.write_bytes(render_png(ticket_token(fifth)))
    code, out = run(capsys, data_dir, "check", "--image", str(png))
    assert code == 0 and out["code"] == "admit"
    assert out["ticket_id"] == fifth.id

    code, out = run(capsys, data_dir, "check", "--payload", ticket_token(third))
    assert out["code"] == "already_scanned"

    code, out = run(capsys, data_dir, "lookup", "renee")
    assert code == 0 and [r["ticket_id"] for r in out] == [renee.id]

    code, out = run(capsys, data_dir, "status")
    assert code == 0
    assert out["tickets_cached"] == 31 and out["scans_queued"] == 3
    assert out["server"] == url

    code, out = run(capsys, data_dir, "sync")
    assert code == 0 and out["uploaded"] == 3
    assert stored_scans(stage) == 3
    code, out = run(capsys, data_dir, "status")
    assert out["scans_queued"] == 0 and out["last_sync_at"]


def test_sync_with_the_server_down_fails_and_keeps_the_queue(
    capsys: pytest.CaptureFixture[str], data_dir: Path, stage: Stage  # noqa: F811
) -> None:
    run(capsys, data_dir, "pair", "--server", stage.server.url, "--code",
        stage.pairing_code("North"))
    run(capsys, data_dir, "check", "--payload", ticket_token(stage.tickets[0]))
    stage.server.stop()
    code, out = run(capsys, data_dir, "sync")
    assert code == 1
    assert out["synced"] is False and out["error"] == "offline"
    assert out["message"].startswith("ConnectError")
    _, out = run(capsys, data_dir, "status")
    assert out["scans_queued"] == 1
    # the server comes back: the kept scan goes up
    stage.server.start()
    code, out = run(capsys, data_dir, "sync")
    assert code == 0 and out["uploaded"] == 1
    assert stored_scans(stage) == 1


def test_bad_pairing_code_and_unpaired_sync(capsys: pytest.CaptureFixture[str], data_dir: Path,
                                            server: ServerProcess) -> None:  # noqa: F811
    code, out = run(capsys, data_dir, "pair", "--server", server.url, "--code", "NO")
    assert code == 1 and out["error"] == "pairing_code_invalid"
    code, out = run(capsys, data_dir, "sync")
    assert code == 1 and out["error"] == "not_paired"


def test_image_without_a_code_and_missing_image(capsys: pytest.CaptureFixture[str],
                                                data_dir: Path, tmp_path: Path) -> None:
    import cv2
    import numpy as np

    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200), 255, np.uint8))
    code, out = run(capsys, data_dir, "check", "--image", str(blank))
    assert code == 1 and out["decoded"] is False
    code = cli.main(["--data-dir", str(data_dir), "check", "--image", str(tmp_path / "nope.png")])
    assert code == 1
    assert "cannot read an image" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["check"])
    assert caught.value.code == 2


@pytest.mark.parametrize("command", [["check", "--payload", "ANYTHING"], ["lookup", "Renée"],
                                     ["status"], ["sync"]])
def test_an_unpaired_folder_says_so_and_records_nothing(
        capsys: pytest.CaptureFixture[str], data_dir: Path, command: list[str]) -> None:
    code, out = run(capsys, data_dir, *command)
    assert code == 1 and out["error"] == "not_paired"
    assert "scanner-app pair" in out["message"]
    from scanner_app.core.door import Door

    door = Door.open(data_dir)
    try:
        assert door.status().scans_queued == 0  # no made-up "wrong event" journaled
    finally:
        door.close()


@pytest.mark.parametrize("address", ["127.0.0.1:5000", "tix.example", "ftp://tix.example"])
def test_a_server_address_without_http_is_a_usage_error(
        capsys: pytest.CaptureFixture[str], data_dir: Path, address: str) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--data-dir", str(data_dir), "pair", "--server", address, "--code", "X"])
    assert caught.value.code == 2
    assert "needs http:// or https://" in capsys.readouterr().err


def test_the_server_address_keeps_its_scheme_and_loses_a_trailing_slash() -> None:
    assert cli.server_address(" http://127.0.0.1:5000/ ") == "http://127.0.0.1:5000"
    assert cli.server_address("HTTPS://tix.example") == "HTTPS://tix.example"


def test_a_damaged_database_says_what_to_do(capsys: pytest.CaptureFixture[str],
                                            data_dir: Path) -> None:
    from scanner_app.core.door import Door

    Door.open(data_dir).close()
    for path in data_dir.rglob("door.sqlite3"):
        path.write_bytes(b"this is not a database, a disk sector went bad " * 200)
    code = cli.main(["--data-dir", str(data_dir), "status"])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot be read" in err and "pair this door again" in err
    assert "Traceback" not in err


def test_no_display_names_the_headless_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert not cli.has_display({}, "linux")
    assert cli.has_display({"DISPLAY": ":0"}, "linux")
    assert cli.has_display({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert cli.has_display({}, "win32")
    import os

    saved = {k: os.environ.pop(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
             if k in os.environ}
    try:
        assert cli.main([]) == 1
    finally:
        os.environ.update(saved)
    err = capsys.readouterr().err
    assert "no display" in err and "check" in err and "status" in err
