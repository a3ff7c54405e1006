"""``sync-server backup`` / ``restore`` on SQLite and PostgreSQL: back up a database with orders
and door scans, wipe it, restore it, and find every order and scan; a restore into a database
that has tables is refused unless ``--force``."""

from __future__ import annotations

from pathlib import Path

import httpx
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from sync_server.door.models import DoorScan
from sync_server.ops.commands import backup_command, restore_command
from sync_server.orders.models import Order
from tests.server.conftest import World
from tests.server.door.conftest import (  # noqa: F401 (the clock fixture: scans in 2030)
    Door,
    scan,
    sell,
    server_clock_after_the_event,
    upload,
)
from tests.support.apps import close_app


def contents(database_url: str) -> tuple[list[str], list[str]]:
    """Every order number and every uploaded scan id, sorted."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            orders = connection.scalars(
                sa.select(Order.order_number).order_by(Order.order_number)).all()
            scans = connection.scalars(sa.select(DoorScan.scan_id).order_by(DoorScan.scan_id)).all()
    finally:
        engine.dispose()
    return list(orders), list(scans)


def wipe(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.database}{suffix}").unlink(missing_ok=True)
        return
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def test_backup_wipe_restore_finds_every_order_and_scan(
        app: Flask, world: World, session: Session, api: httpx.Client, database_url: str,
        tmp_path: Path) -> None:
    organizer = world.person("Olive Organizer")
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer, quantity=50)
    tickets = [t for _ in range(3) for t in sell(session, event, tier, 4)]
    door = Door(*world.device(organizer, event, name="North"))
    results = upload(api, door, [scan(event, ticket, minutes=i)
                                 for i, ticket in enumerate(tickets[:7])])
    assert len(results.results) == 7
    before = contents(database_url)
    assert len(before[0]) >= 3 and len(before[1]) == 7
    session.close()

    runner = app.test_cli_runner()
    dump = tmp_path / "backup.dump"
    done = runner.invoke(backup_command, [str(dump)])
    assert done.exit_code == 0, done.output
    assert dump.stat().st_size > 0

    refused = runner.invoke(restore_command, [str(dump)])
    assert refused.exit_code == 1
    assert "the database is not empty" in refused.output and "--force" in refused.output

    close_app(app)
    wipe(database_url)
    assert contents_or_none(database_url) is None
    restored = runner.invoke(restore_command, [str(dump)])
    assert restored.exit_code == 0, restored.output
    assert contents(database_url) == before

    forced = runner.invoke(restore_command, [str(dump), "--force"])
    assert forced.exit_code == 0, forced.output
    assert contents(database_url) == before
    # The restored database serves: the door sees its scans counted.
    assert api.get(f"/events/{event.id}", headers=organizer.headers).status_code == 200


def contents_or_none(database_url: str) -> tuple[list[str], list[str]] | None:
    try:
        return contents(database_url)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no such table
        return None


def test_backup_of_a_missing_sqlite_file_is_a_clear_error(app: Flask, tmp_path: Path) -> None:
    from sync_server.ops.backup import BackupError, backup

    try:
        backup(f"sqlite:///{tmp_path / 'nothing.db'}", tmp_path / "out")
    except BackupError as error:
        assert "no database file" in str(error)
    else:
        raise AssertionError("backed up a file that does not exist")
