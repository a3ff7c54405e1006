"""The door database: migrated on open, secrets sealed at rest, newer rows win, wiped on revoke."""

from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from scanner_app.core.door import Door
from scanner_app.storage import cache
from scanner_app.storage import database as db
from scanner_app.storage import store as store_module
from scanner_app.storage.store import DoorStore
from scanner_app.storage.vault import KEY_FILE
from shared import protocol as p
from shared.keys import derive_event_key
from tests.scanner_core.conftest import EVENT, MASTER, FakeClock, page, ticket

TOKEN = "sld_super-secret-device-token-value"


def _all_bytes(folder: Path) -> bytes:
    return b"".join(f.read_bytes() for f in folder.iterdir() if f.is_file())


def test_database_is_wal_and_migrated_to_head(door: Door) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "scanner_app/storage/migrations")
    assert ScriptDirectory.from_config(config).get_current_head() == db.HEAD
    with door.store.driver_connection() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert version == db.HEAD
    tables = set(sa.inspect(door.store.engine).get_table_names())
    assert {"tickets", "ticket_terms", "events", "event_keys", "revocations", "scan_journal",
            "outbound", "conflicts", "identity", "settings", "sync_state"} <= tables


def test_reopening_keeps_everything(data_dir: Path) -> None:
    store = DoorStore.open_server(data_dir, "http://server.test")
    store.store_page(EVENT, page((ticket(1),)), 3)
    store.close()
    again = DoorStore.open_server(data_dir, "http://server.test")
    assert again.counts()["tickets_cached"] == 1
    assert again.event_cursors() == {EVENT: ("c1", 3)}
    again.close()


def test_key_bytes_and_token_never_appear_in_the_database_files(door: Door) -> None:
    door.store.save_pairing("http://server.test",
                            p.PairResponse(7, "North", TOKEN, (EVENT,)))
    raw_key = derive_event_key(MASTER, EVENT, 1)
    files = _all_bytes(door.store.folder)  # the database, its WAL and shm
    assert raw_key not in files
    assert base64.b64encode(raw_key) not in files
    assert TOKEN.encode() not in files
    assert door.store.device_token() == TOKEN
    with door.store.transaction() as s:
        assert door.store.keys(s) == {(EVENT, 1): raw_key}


def test_key_file_is_readable_by_the_user_only(door: Door) -> None:
    mode = stat.S_IMODE((door.store.folder / KEY_FILE).stat().st_mode)
    assert mode == 0o600


def test_a_lost_key_file_makes_the_database_unreadable_with_advice(data_dir: Path) -> None:
    store = DoorStore.open_server(data_dir, "http://server.test")
    store.save_pairing("http://server.test", p.PairResponse(7, "N", TOKEN))
    store.close()
    (db.server_dir(data_dir, store.slug) / KEY_FILE).unlink()
    with pytest.raises(db.UnreadableDatabase, match="pair this door again"):
        DoorStore.open_server(data_dir, "http://server.test")


def test_older_revisions_never_overwrite_newer_rows(door: Door) -> None:
    door.store.store_page(EVENT, page((ticket(1, holder_name="New", revision=9),)), 6)
    door.store.store_page(EVENT, page((ticket(1, holder_name="Old", revision=4),)), 6)
    with door.store.transaction() as s:
        record = door.store.ticket(s, 1)
    assert record is not None and record.holder_name == "New"


def test_a_large_page_is_stored_in_chunks_with_one_cursor(door: Door) -> None:
    tickets = tuple(ticket(i, revision=2) for i in range(1, 5_001))
    assert door.store.store_page(EVENT, page(tickets, cursor="c-big"), 8) == 5_000
    assert door.store.counts()["tickets_cached"] == 5_000
    assert door.store.event_cursors()[EVENT] == ("c-big", 8)


def test_wipe_removes_database_key_and_pointer(data_dir: Path) -> None:
    door = Door.open(data_dir, server_url="http://server.test")
    door.store.save_pairing("http://server.test", p.PairResponse(7, "N", TOKEN))
    door.check("anything", door="N", source="t")
    folder = door.store.folder
    assert db.active_slug(data_dir) == door.store.slug
    door.store.wipe()
    assert not folder.exists()
    assert db.active_slug(data_dir) == db.UNPAIRED
    assert door.check("anything", door="N", source="t").scan_id is None  # no resurrection
    assert not folder.exists()


def test_server_slug_is_a_safe_folder_name() -> None:
    slug = db.server_slug("https://Tix.Example.com:8443/")
    assert slug.startswith("tix.example.com-8443-")
    assert db.server_slug("https://tix.example.com:8443") == slug
    assert "/" not in db.server_slug("../../etc/passwd")


def _schema(engine: sa.Engine) -> dict[str, object]:
    """Every table's columns, indexes, foreign keys and rowid-ness, as SQLite reports them."""
    out: dict[str, object] = {}
    with engine.connect() as conn:
        tables = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all()
        for name, sql in tables:
            indexes = conn.exec_driver_sql(f"PRAGMA index_list('{name}')").all()
            out[name] = {
                "columns": conn.exec_driver_sql(f"PRAGMA table_info('{name}')").all(),
                "indexes": sorted(
                    (i[2], i[3], tuple(c[2] for c in conn.exec_driver_sql(
                        f"PRAGMA index_info('{i[1]}')")))
                    for i in indexes),
                "foreign_keys": sorted(
                    tuple(f[2:]) for f in conn.exec_driver_sql(
                        f"PRAGMA foreign_key_list('{name}')")),
                "without_rowid": "WITHOUT ROWID" in sql.upper(),
            }
    return out


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    """A database migrated from nothing matches the models (Alembic's comparison), and a new
    one made at the newest schema from the models (what a door's first start does) is the same
    database as the migrated one, table by table."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from scanner_app.storage.models import Base

    migrated = db.create_engine(tmp_path / "migrated.db", None)
    with migrated.begin() as conn:
        db.migrate(conn)
    created = db.create_engine(tmp_path / "created.db", None)
    db.upgrade(created)
    try:
        with migrated.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert _schema(created) == _schema(migrated)
        with created.connect() as conn:
            assert db._current_revision(conn) == db.HEAD
    finally:
        migrated.dispose()
        created.dispose()


def test_an_os_keyring_holds_the_key_when_there_is_one(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]
        store: ClassVar[dict[tuple[str, str], str]] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.store.pop((service, username), None)

    monkeypatch.delenv("STEPPERSLIFE_DOOR_NO_KEYRING")
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        store = DoorStore.open_server(data_dir, "http://server.test")
        store.save_pairing("http://server.test", p.PairResponse(7, "N", TOKEN))
        assert not (store.folder / KEY_FILE).exists()
        assert list(MemoryKeyring.store) == [("stepperslife-door", str(store.folder.resolve()))]
        assert store.device_token() == TOKEN
        store.wipe()
        assert MemoryKeyring.store == {}
    finally:
        keyring.set_keyring(previous)


def test_a_database_at_0003_is_upgraded_and_keeps_its_search_terms(data_dir: Path) -> None:
    from alembic import command
    from alembic.config import Config

    store = DoorStore.open_server(data_dir, "http://server.test")
    store.store_page(EVENT, page((ticket(1, holder_name="Ada Lovelace"),)), 3)
    with store.engine.begin() as connection:  # back to the schema before 0004
        config = Config()
        config.set_main_option("script_location", "scanner_app/storage/migrations")
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    store.close()

    again = DoorStore.open_server(data_dir, "http://server.test")
    with again.driver_connection() as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == db.HEAD
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'ticket_terms'").fetchone()
    assert sql[0].endswith("WITHOUT ROWID")
    assert [r.holder_name for r in Door(again).lookup("love")] == ["Ada Lovelace"]
    again.close()


def test_a_changed_or_forgotten_ticket_leaves_no_search_terms_behind(door: Door) -> None:
    door.store.store_page(EVENT, page((ticket(1, holder_name="Ada Lovelace"),
                                       ticket(2, holder_name="Grace Hopper"))), 3)
    door.store.store_page(EVENT, page((ticket(1, holder_name="Mary Somerville", revision=2),)), 4)
    assert door.lookup("lovelace") == []
    assert [r.ticket_id for r in door.lookup("somerville")] == [1]
    door.store.forget_event(EVENT)
    with door.store.driver_connection() as conn:
        assert conn.execute("SELECT count(*) FROM ticket_terms").fetchone()[0] == 0


def test_a_door_in_use_stores_a_page_in_short_transactions(
        door: Door, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not in use (no scan for IN_USE_WINDOW): a page in one write transaction; in use: chunks
    of TICKET_CHUNK, so a scan never waits for a whole page (store.DoorStore.in_use)."""
    chunks: list[int] = []
    real_store_tickets = cache.store_tickets

    def store_tickets(s: Session, tickets: cache.PreparedTickets) -> int:
        chunks.append(len(tickets))
        return real_store_tickets(s, tickets)

    monkeypatch.setattr(cache, "store_tickets", store_tickets)
    monkeypatch.setattr(store_module, "TICKET_CHUNK", 100)
    assert not door.store.in_use()
    door.store.store_page(EVENT, page(tuple(ticket(i, revision=6) for i in range(1, 251))), 6)
    assert chunks == [250]

    clock.now = datetime.now(UTC)
    door.check("not a ticket", door="North", source="t")  # journaled, refused: in use all the same
    assert door.store.in_use()
    chunks.clear()
    door.store.store_page(EVENT, page(tuple(ticket(i, revision=7) for i in range(1, 251))), 7)
    assert chunks == [100, 100, 50]
    assert door.store.counts()["tickets_cached"] == 250
    assert door.store.event_cursors()[EVENT] == ("c1", 7)


def test_in_use_means_a_scan_in_the_last_two_minutes_or_one_dated_later(
        door: Door, clock: FakeClock) -> None:
    scanned = clock.now
    door.check("not a ticket", door="North", source="t")
    assert door.store.in_use(now=scanned + timedelta(seconds=119))
    assert not door.store.in_use(now=scanned + store_module.IN_USE_WINDOW + timedelta(seconds=1))
    assert door.store.in_use(now=scanned - timedelta(hours=1))  # this door's clock runs ahead
