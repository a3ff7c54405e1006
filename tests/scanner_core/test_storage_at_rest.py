"""The door database at rest: encrypted, the user's only, migrated from plain, keyed per folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner_app.core.door import Door
from scanner_app.storage import database as db
from scanner_app.storage.store import DoorStore
from scanner_app.storage.vault import KEYRING_SERVICE, keyring_entry
from shared import protocol as p
from tests.scanner_core.conftest import EVENT, page, ticket, token

SERVER = "http://server.test"
GUEST = ticket(1, holder_name="Zenobia Quartermaine", holder_email="zenobia.q@example.com")


def _files_bytes(folder: Path) -> bytes:
    return b"".join(f.read_bytes() for f in folder.iterdir() if f.is_file())


def _fill(store: DoorStore) -> None:
    store.save_pairing(SERVER, p.PairResponse(7, "North", "sld_token"))
    store.store_page(EVENT, page((GUEST, *(ticket(i) for i in range(2, 300)))), 3)
    Door(store).check(token(1), door="North", source="test")  # a journal row, in the WAL


@pytest.mark.parametrize("encrypt", [True, False])
def test_a_guests_name_is_in_the_files_only_without_encryption(data_dir: Path,
                                                                encrypt: bool) -> None:
    store = DoorStore.open_server(data_dir, SERVER, encrypt=encrypt)
    _fill(store)
    files = _files_bytes(store.folder)  # the database, its WAL and shm, while open
    store.close()
    files += _files_bytes(store.folder)  # and once closed (checkpointed)
    found = [needle in files for needle in (b"Zenobia", b"Quartermaine", b"zenobia.q@")]
    assert found == [not encrypt] * 3


def test_files_are_the_users_only_even_under_a_wide_umask(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)  # a data folder an older door made world-readable
    previous = os.umask(0o022)
    try:
        store = DoorStore.open_server(data_dir, SERVER)
        _fill(store)
        modes = {path.relative_to(data_dir).as_posix(): stat.S_IMODE(path.stat().st_mode)
                 for path in (data_dir, *data_dir.rglob("*"))}
        store.close()
    finally:
        os.umask(previous)
    folders = {name for name in modes if (data_dir / name).is_dir()}
    assert {name: modes[name] for name in folders} == dict.fromkeys(folders, 0o700)
    files = set(modes) - folders
    assert {"active-server", f"servers/{store.slug}/{db.DB_NAME}",
            f"servers/{store.slug}/{db.DB_NAME}-wal"} <= files
    assert {name: modes[name] for name in files} == dict.fromkeys(files, 0o600)


def test_a_plain_database_is_encrypted_on_first_open_and_keeps_everything(
    data_dir: Path,
) -> None:
    plain = DoorStore.open_server(data_dir, SERVER, encrypt=False)
    _fill(plain)
    path = plain.folder / db.DB_NAME
    (path).chmod(0o644)
    plain.close()
    assert db.is_plain(path) and b"Quartermaine" in path.read_bytes()

    store = DoorStore.open_server(data_dir, SERVER)
    assert store.counts()["tickets_cached"] == 299
    assert store.counts()["scans_queued"] == 1
    assert store.device_token() == "sld_token"
    assert [row.holder_name for row in Door(store).lookup("zenobia")] == [GUEST.holder_name]
    store.close()
    assert not db.is_plain(path)
    assert b"Quartermaine" not in _files_bytes(store.folder)
    assert sorted(f.name for f in store.folder.iterdir()) == [db.DB_NAME, "secret.key"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_database_says_what_to_do(data_dir: Path) -> None:
    store = DoorStore.open_server(data_dir, SERVER)
    store.close()
    (store.folder / db.DB_NAME).write_bytes(os.urandom(8192))
    with pytest.raises(db.UnreadableDatabase, match="Move its folder aside"):
        DoorStore.open_server(data_dir, SERVER)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[tuple[str, str], str]]:
    """A real keyring backend (keyring's own base class), kept in memory."""
    import keyring
    from keyring.backend import KeyringBackend

    entries: dict[tuple[str, str], str] = {}

    class Backend(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            return entries.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            entries[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            entries.pop((service, username), None)

    monkeypatch.delenv("STEPPERSLIFE_DOOR_NO_KEYRING", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(Backend())
    try:
        yield entries
    finally:
        keyring.set_keyring(previous)


def test_two_doors_on_one_desktop_have_keys_of_their_own(
    tmp_path: Path, memory_keyring: dict[tuple[str, str], str]
) -> None:
    first = DoorStore.open_server(tmp_path / "first", SERVER)
    second = DoorStore.open_server(tmp_path / "second", SERVER)
    for store in (first, second):
        _fill(store)
    assert set(memory_keyring) == {(KEYRING_SERVICE, keyring_entry(first.folder)),
                                   (KEYRING_SERVICE, keyring_entry(second.folder))}
    assert len(set(memory_keyring.values())) == 2
    second.close()
    first.wipe()  # revoking one door ...
    again = DoorStore.open_server(tmp_path / "second", SERVER)  # ... leaves the other whole
    assert again.counts()["tickets_cached"] == 299
    assert again.device_token() == "sld_token"
    again.close()


def test_a_key_kept_under_the_old_per_server_entry_is_taken_over(
    data_dir: Path, memory_keyring: dict[tuple[str, str], str]
) -> None:
    store = DoorStore.open_server(data_dir, SERVER)
    _fill(store)
    store.close()
    secret = memory_keyring.pop((KEYRING_SERVICE, keyring_entry(store.folder)))
    memory_keyring[(KEYRING_SERVICE, store.slug)] = secret  # as an older door named it

    again = DoorStore.open_server(data_dir, SERVER)
    assert again.counts()["tickets_cached"] == 299
    assert memory_keyring[(KEYRING_SERVICE, keyring_entry(store.folder))] == secret
    assert memory_keyring[(KEYRING_SERVICE, store.slug)] == secret  # another folder may need it
    again.close()

    fresh = DoorStore.open_server(data_dir / "elsewhere", SERVER)  # a new door: a new secret
    assert memory_keyring[(KEYRING_SERVICE, keyring_entry(fresh.folder))] != secret
    fresh.close()


def test_the_apps_folders_are_narrowed_to_the_user(tmp_path: Path) -> None:
    from scanner_app.settings import Folders

    folders = Folders.for_user(tmp_path / "home")
    folders.data.mkdir(parents=True)
    folders.data.chmod(0o755)  # as an older door left it
    folders.create()
    modes = [stat.S_IMODE(f.stat().st_mode) for f in (folders.config, folders.data, folders.logs)]
    assert modes == [0o700] * 3
