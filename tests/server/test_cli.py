"""The ``sync-server`` command: as a real subprocess from an unrelated directory, and in process
through Flask's CLI runner (``app.test_cli_runner()``) and click's ``CliRunner``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from shared.keys import Keyring
from shared.ticket_token import verify
from sync_server.cli import PASSWORD_VARIABLE, cli
from sync_server.tickets.models import TicketInstance

CLI = [sys.executable, "-m", "sync_server.cli"]
REPO = Path(__file__).resolve().parents[2]


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> Any:
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env["PYTHONPATH"] = str(REPO)
    env["SYNC_DATABASE_URL"] = database_url
    env["SYNC_INSTANCE_PATH"] = str(tmp_path / "cli-instance")
    return env


def test_db_upgrade_and_seed_demo_from_anywhere(
    cli_env: dict[str, str], tmp_path: Path, app: Flask, api: httpx.Client
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

    # The other commands run in this process, on the test app over the same database.
    runner = app.test_cli_runner()
    again = runner.invoke(cli, ["seed-demo", "--seed", "7"])
    assert again.exit_code == 1 and "already" in again.output

    paired = runner.invoke(cli, ["pair-device", "--event", str(summary["event_id"]),
                                 "--name", "Door 2", "--json"])
    assert paired.exit_code == 0, paired.output
    response = api.post("/devices/pair", json={"code": json.loads(paired.stdout)["code"]})
    assert response.status_code == 201, response.text
    assert [e["id"] for e in response.json()["events"]] == [summary["event_id"]]
    signed_in = api.post("/accounts/sign-in", json={
        "email": summary["organizer"]["email"], "password": summary["organizer"]["password"]})
    assert signed_in.status_code == 200, signed_in.text
    with app.extensions["sync_db_engine"].connect() as conn:
        holders = conn.execute(sa.select(TicketInstance.holder_name)
                               .order_by(TicketInstance.id).limit(3)).scalars().all()
    assert all(" " in h for h in holders)

    missing = runner.invoke(cli, ["pair-device", "--event", "999999"])
    assert missing.exit_code == 1 and "no event 999999" in missing.output


def test_create_user_reads_its_password_from_stdin_or_the_environment(
    app: Flask, api: httpx.Client
) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(cli, ["create-user", "--email", "Admin@Example.org", "--name", "Ada",
                               "--admin", "--password-stdin", "--json"],
                         input="a long enough password\n")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout) == {"id": json.loads(made.stdout)["id"], "name": "Ada",
                                       "email": "admin@example.org", "is_admin": True}
    signed_in = api.post("/accounts/sign-in", json={"email": "admin@example.org",
                                                    "password": "a long enough password"})
    assert signed_in.status_code == 200, signed_in.text

    twice = runner.invoke(cli, ["create-user", "--email", "admin@example.org", "--name", "Ada"],
                          env={PASSWORD_VARIABLE: "a long enough password"})
    assert twice.exit_code == 1 and "already exists" in twice.output
    short = runner.invoke(cli, ["create-user", "--email", "b@example.org", "--name", "B",
                                "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "10 characters" in short.output
    by_variable = runner.invoke(cli, ["create-user", "--email", "c@example.org", "--name", "C"],
                                env={PASSWORD_VARIABLE: "another long password"})
    assert by_variable.exit_code == 0, by_variable.output
    assert api.post("/accounts/sign-in", json={
        "email": "c@example.org", "password": "another long password"}).status_code == 200


def test_create_user_without_a_terminal_or_password_says_so(app: Flask) -> None:
    result = app.test_cli_runner().invoke(cli, ["create-user", "--email", "d@example.org",
                                                "--name", "D"], env={PASSWORD_VARIABLE: None})
    assert result.exit_code == 2
    assert "no password" in result.output and "--password-stdin" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_seed_demo_is_deterministic_for_a_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNC_DATABASE_URL", raising=False)
    names = []
    for leg in ("a", "b"):
        result = CliRunner().invoke(cli, ["--instance", str(tmp_path / leg), "seed-demo",
                                          "--json", "--orders", "15", "--seed", "3"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        names.append(([s["holder_name"] for s in summary["sample_tokens"]], summary["tickets"]))
        assert (tmp_path / leg / "sync-server.db").exists()
    assert names[0] == names[1]


def test_settings_can_come_from_an_env_file(tmp_path: Path) -> None:
    settings = tmp_path / "sync.env"
    settings.write_text(f"SYNC_INSTANCE_PATH={tmp_path / 'inst'}\nSYNC_SMTP_HOST=mail.test\n")
    # The runner restores these afterwards (the file sets them in this process's environment).
    unset: dict[str, str | None] = dict.fromkeys(
        ("SYNC_DATABASE_URL", "SYNC_INSTANCE_PATH", "SYNC_SMTP_HOST"))
    before = os.environ.get("SYNC_SMTP_HOST")
    result = CliRunner().invoke(cli, ["-e", str(settings), "send-mail", "--json"], env=unset)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"sent": 0, "failed": 0, "orders_lapsed": 0,
                                         "smtp_configured": True}
    assert (tmp_path / "inst" / "sync-server.db").exists()
    assert os.environ.get("SYNC_SMTP_HOST") == before


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


def test_cli_without_a_command_shows_usage() -> None:
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 2 and "Usage: " in result.output


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found += _commands(command, prefix + name + " ")
    return found


def test_every_command_and_option_is_explained_with_its_default() -> None:
    root = click.Context(cli, info_name="sync-server", **cli.context_settings)
    commands = [("sync-server", cli), *_commands(cli)]
    assert {"run", "db upgrade", "create-user", "seed-demo", "pair-device",
            "send-mail"} <= {name for name, _ in commands}
    for name, command in commands:
        assert command.help or command.short_help, name
        context = click.Context(command, info_name=name, parent=root)
        for param in command.params:
            if not isinstance(param, click.Option) or param.name in {"help", "app", "env_file"}:
                continue
            record = param.get_help_record(context)
            assert record is not None and param.help, f"{name} {param.opts}: no help"
            if not param.is_flag and not param.required:
                assert "default: " in record[1], f"{name} {param.opts}: no default shown"
