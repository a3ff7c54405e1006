"""The ``sync-server`` command, run as a real subprocess from an unrelated directory."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.keys import Keyring
from shared.ticket_token import verify
from sync_server import create_app
from sync_server.cli import main
from sync_server.tickets.models import TicketInstance

CLI = [sys.executable, "-m", "sync_server.cli"]
REPO = Path(__file__).resolve().parents[2]


def run_in_process(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def run_cli(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> Any:
    result = subprocess.run([*CLI, *args], env=env, cwd=cwd, input=stdin, capture_output=True,
                            text=True, timeout=120, check=False)
    return result


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env["PYTHONPATH"] = str(REPO)
    env["SYNC_DATABASE_URL"] = database_url
    env["SYNC_INSTANCE_PATH"] = str(tmp_path / "instance")
    return env


def test_db_upgrade_seed_demo_pair_device_and_create_user(
    cli_env: dict[str, str], tmp_path: Path, database_url: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    up = run_cli(["db", "upgrade"], cli_env, elsewhere)
    assert up.returncode == 0, up.stderr

    seeded = run_cli(["seed-demo", "--json", "--orders", "40", "--seed", "7",
                      "--start", "2030-06-06"], cli_env, elsewhere)
    assert seeded.returncode == 0, seeded.stderr
    summary = json.loads(seeded.stdout)
    assert summary["orders"] == 40 and summary["tickets"] >= 40
    assert [d["date"] for d in summary["days"]] == ["2030-06-06", "2030-06-07"]
    assert {t["name"] for t in summary["ticket_types"]} >= {"Friday Night", "VIP Weekend"}
    assert summary["organizer"]["password"]

    # The tokens verify with keys derived from the master secret the CLI generated (mode 0600).
    secret_file = Path(cli_env["SYNC_INSTANCE_PATH"]) / "master_secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    master = bytes.fromhex(secret_file.read_text().strip())
    keyring = Keyring.derived(master, [(summary["event_id"], 1)])
    for sample in summary["sample_tokens"]:
        assert verify(sample["token"], keyring, {summary["event_id"]}).ok

    # The other commands run in this process (same code path as the console script).
    for name in ("SYNC_DATABASE_URL", "SYNC_INSTANCE_PATH"):
        monkeypatch.setenv(name, cli_env[name])
    again = run_in_process(["seed-demo", "--seed", "7"], capsys)
    assert again[0] == 1 and "already" in again[2]

    rc, out, err = run_in_process(["pair-device", "--event", str(summary["event_id"]),
                                   "--name", "Door 2", "--json"], capsys)
    assert rc == 0, err
    code = json.loads(out)["code"]
    app = create_app({"instance_path": cli_env["SYNC_INSTANCE_PATH"],
                      "database_url": database_url})
    try:
        with httpx.Client(transport=httpx.WSGITransport(app=app),
                          base_url="http://testserver/api/v1") as api:
            response = api.post("/devices/pair", json={"code": code})
            assert response.status_code == 201, response.text
            assert [e["id"] for e in response.json()["events"]] == [summary["event_id"]]
            signed_in = api.post("/accounts/sign-in", json={
                "email": summary["organizer"]["email"],
                "password": summary["organizer"]["password"]})
            assert signed_in.status_code == 200, signed_in.text
        with app.extensions["sync_db_engine"].connect() as conn:
            holders = conn.execute(sa.select(TicketInstance.holder_name)
                                   .order_by(TicketInstance.id).limit(3)).scalars().all()
        assert all(" " in h for h in holders)
    finally:
        app.extensions["sync_db_engine"].dispose()

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    rc, out, err = run_in_process(["create-user", "--email", "Admin@Example.org", "--name", "Ada",
                                   "--admin", "--password-stdin", "--json"], capsys)
    assert rc == 0, err
    assert json.loads(out)["email"] == "admin@example.org"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    rc, _out, err = run_in_process(["create-user", "--email", "admin@example.org", "--name",
                                    "Ada", "--password-stdin"], capsys)
    assert rc == 1 and "already exists" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    rc, _out, err = run_in_process(["create-user", "--email", "b@example.org", "--name", "B",
                                    "--password-stdin"], capsys)
    assert rc == 2 and "10 characters" in err
    rc, _out, err = run_in_process(["pair-device", "--event", "999999"], capsys)
    assert rc == 1 and "no event" in err


def test_seed_demo_is_deterministic_for_a_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SYNC_DATABASE_URL", raising=False)
    names = []
    for leg in ("a", "b"):
        rc, out, err = run_in_process(["--instance", str(tmp_path / leg), "seed-demo", "--json",
                                       "--orders", "15", "--seed", "3"], capsys)
        assert rc == 0, err
        summary = json.loads(out)
        names.append(([s["holder_name"] for s in summary["sample_tokens"]], summary["tickets"]))
    assert names[0] == names[1]


def test_run_serves_with_no_set_up(tmp_path: Path, free_tcp_port: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env.update(PYTHONPATH=str(REPO), SYNC_INSTANCE_PATH=str(tmp_path / "inst"))
    server = subprocess.Popen([*CLI, "run", "--port", str(free_tcp_port)], env=env,
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{free_tcp_port}/api/v1/events"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                response = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["events"] == []
        assert (tmp_path / "inst" / "sync-server.db").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()


def test_cli_without_a_command_shows_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2 and "usage" in capsys.readouterr().err
