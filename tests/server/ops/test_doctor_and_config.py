"""``sync-server doctor`` (all well; each problem named), ``sync-server config`` (secrets hidden),
the example env file (up to date with the model), and the production start-up check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from sync_server import create_app
from sync_server.config import Config
from sync_server.ops import UnsafeProductionConfig
from sync_server.ops.commands import env_example
from sync_server.ops.doctor import run_checks
from tests.server.conftest import server_config
from tests.server.ops.conftest import METRICS_TOKEN, closed_port
from tests.support.apps import close_app

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sync-server.env.example"
GOOD_STRIPE = "sk_test_" + "a1B2" * 6


class Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    controller = Controller(Sink(), hostname="127.0.0.1", port=closed_port())
    controller.start()
    yield controller.port
    controller.stop()


def lines(app: Flask, **changes: object) -> dict[str, tuple[bool, str]]:
    config: Config = app.extensions["sync_config"].model_copy(update=changes)
    checks = run_checks(config, app.extensions["sync_db_engine"], stripe_key=GOOD_STRIPE)
    return {c.name: (c.ok, c.detail) for c in checks}


def _heartbeat(app: Flask, at: datetime, error: str | None = None) -> None:
    from sync_server.jobs.models import JobRun

    with app.extensions["sync_db_sessionmaker"]() as session:
        session.merge(JobRun(name="worker", last_ok_at=at, runs=1, failures=0, worker="w:1"))
        if error:
            session.merge(JobRun(name="mail", last_ok_at=at, runs=1, failures=1,
                                 last_error=error))
        session.commit()


def test_all_well(app: Flask, smtp_port: int) -> None:
    _heartbeat(app, datetime.now(UTC))
    found = lines(app, smtp_host="127.0.0.1", smtp_port=smtp_port)
    assert all(ok for ok, _ in found.values()), found
    assert list(found) == ["database", "migrations", "master secret", "smtp", "stripe", "clock",
                           "jobs"]
    runner = app.test_cli_runner()
    from sync_server.ops.commands import doctor_command

    result = runner.invoke(doctor_command, env={"STRIPE_SECRET_KEY": GOOD_STRIPE})
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("all well")
    assert len(result.output.splitlines()) == 8  # one line a check, then the verdict


def test_jobs_worker_heartbeat(app: Flask) -> None:
    assert not lines(app)["jobs"][0] and "no jobs worker" in lines(app)["jobs"][1]
    _heartbeat(app, datetime.now(UTC) - timedelta(minutes=10))
    ok, detail = lines(app)["jobs"]
    assert not ok and "600 s old" in detail
    _heartbeat(app, datetime.now(UTC), error="SMTPServerDisconnected: gone")
    ok, detail = lines(app)["jobs"]
    assert not ok and "mail (SMTPServerDisconnected: gone)" in detail


def test_each_problem_is_named(app: Flask) -> None:
    config: Config = app.extensions["sync_config"]
    weak = config.model_copy(update={"master_secret": b"\x01" * 32, "smtp_host": "127.0.0.1",
                                     "smtp_port": closed_port()})
    ahead = lambda: datetime.now(UTC) + timedelta(minutes=3)  # noqa: E731
    checks = {c.name: c for c in run_checks(weak, app.extensions["sync_db_engine"], now=ahead,
                                            stripe_key="pk_live_abcdefghijklmnop")}
    assert checks["database"].ok and checks["migrations"].ok
    assert not checks["master secret"].ok and "weak" in checks["master secret"].detail
    assert not checks["smtp"].ok and "refused" in checks["smtp"].detail.lower()
    assert not checks["stripe"].ok and "publishable key" in checks["stripe"].detail
    assert not checks["clock"].ok and "+180 s off" in checks["clock"].detail
    assert checks["stripe"].line().startswith("FAIL stripe: ")


def test_unreachable_database_and_missing_migrations(tmp_path: Path, database_url: str) -> None:
    down = create_app(server_config(
        f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x", tmp_path / "a"))
    found = lines(down)
    assert not found["database"][0] and found["database"][1].startswith("database unreachable")
    assert not found["migrations"][0] and not found["clock"][0]
    fresh = create_app(server_config(database_url, tmp_path / "b"))  # never upgraded
    found = lines(fresh)
    assert found["database"][0]
    assert not found["migrations"][0] and "database at none" in found["migrations"][1]
    runner = fresh.test_cli_runner()
    from sync_server.ops.commands import doctor_command

    result = runner.invoke(doctor_command)
    assert result.exit_code == 1
    assert "FAIL migrations: migrations not at head" in result.output
    for app in (down, fresh):
        close_app(app)


def test_config_hides_secrets_and_says_where_each_came_from(app: Flask) -> None:
    from sync_server.ops.commands import config_command

    config: Config = app.extensions["sync_config"]
    result = app.test_cli_runner().invoke(config_command, env={"SYNC_HOLD_MINUTES": "7"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert config.master_secret.hex() not in out and config.secret_key not in out
    assert METRICS_TOKEN not in out
    assert "SYNC_MASTER_SECRET=(set, hidden)" in out and "SYNC_METRICS_TOKEN=(set, hidden)" in out
    assert "SYNC_SMTP_PASSWORD=(empty)" in out
    assert "# environment" in next(line for line in out.splitlines()
                                   if line.startswith("SYNC_HOLD_MINUTES="))
    assert len([line for line in out.splitlines() if line.startswith("SYNC_")]) == len(
        Config.model_fields)


def test_database_password_is_hidden(tmp_path: Path) -> None:
    from sync_server.ops.commands import config_command

    url = "postgresql+psycopg://sync:hunter2-secret@127.0.0.1:5/x"
    app = create_app(server_config(url, tmp_path))
    result = app.test_cli_runner().invoke(config_command)
    assert "hunter2-secret" not in result.output and "sync:***@" in result.output


def test_example_env_file_is_up_to_date() -> None:
    assert EXAMPLE.read_text() == env_example(), \
        "regenerate: sync-server config --example > deploy/sync-server.env.example"
    for name in Config.model_fields:
        assert f"# SYNC_{name.upper()}=" in EXAMPLE.read_text()


@pytest.mark.parametrize(("secret", "words"), [
    ("", "SYNC_MASTER_SECRET is not set"),
    ("01" * 32, "SYNC_MASTER_SECRET is weak"),
])
def test_production_refuses_to_start_without_a_good_master_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: str, words: str) -> None:
    monkeypatch.setenv("SYNC_ENV", "production")
    monkeypatch.setenv("SYNC_MASTER_SECRET", secret)
    monkeypatch.setenv("SYNC_SECRET_KEY", "k" * 40)
    with pytest.raises(UnsafeProductionConfig, match=words):
        create_app({"instance_path": tmp_path})
    assert not (tmp_path / "master_secret").exists()  # nothing generated in production
    monkeypatch.setenv("SYNC_MASTER_SECRET", bytes(range(32)).hex())
    close_app(create_app({"instance_path": tmp_path}))


