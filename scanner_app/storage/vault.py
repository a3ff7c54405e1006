"""The door's secret: one per server folder, held in the OS keyring (or a 0600 key file).

The secret is a Fernet key (32 random bytes). From it come two keys:

- the vault's (Fernet: AES-128-CBC + HMAC-SHA256), sealing the event keys and the device token
  inside the database, as they were before the whole file was encrypted;
- the database's: a raw 256-bit SQLCipher key (HKDF-SHA256 of the secret), which encrypts every
  page of the database file and its WAL (see ``database.py``).

Where the secret lives, first found wins:

1. ``servers/<slug>/secret.key`` when it exists (a door that began without a keyring keeps it);
2. the OS keyring, service ``stepperslife-door``, user name the server folder's absolute path:
   one entry per data folder, so two doors on one desktop never share (nor revoke) a key.
   Entries were once named by server slug alone; an existing database takes that entry's
   secret over (copied, not moved: another data folder may still need it);
3. a new secret: in the keyring when a real backend exists, otherwise in the key file (0600).

Deleting the secret — on a device revoke — makes the database unreadable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keyring
import keyring.errors
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

logger = logging.getLogger(__name__)

KEYRING_SERVICE = "stepperslife-door"
KEY_FILE = "secret.key"
_DATABASE_KEY_INFO = b"stepperslife-door sqlcipher database key v1"


class VaultError(Exception):
    """A sealed value could not be opened (wrong or lost key)."""


def keyring_usable() -> bool:
    """True when the OS offers a real keyring (not the fail/null backends of a headless box)."""
    if os.environ.get("STEPPERSLIFE_DOOR_NO_KEYRING"):
        return False
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration is the same as none
        logger.warning("keyring backend failed to load; using the key file", exc_info=True)
        return False
    return float(getattr(backend, "priority", 0)) > 0


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DATABASE_KEY_INFO)
        self.database_key = raw.derive(key).hex()  # 64 hex digits: SQLCipher's raw key form

    def seal(self, value: bytes) -> bytes:
        return self._fernet.encrypt(value)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken as exc:
            raise VaultError("sealed value cannot be opened with this key") from exc


def keyring_entry(folder: Path) -> str:
    """The keyring user name of one server folder: its absolute path."""
    return str(folder.resolve())


def _create_key_file(path: Path, key: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())


def _from_keyring(folder: Path, slug: str, existing: bool) -> bytes | None:
    """The folder's secret from the keyring (made there if new); None if the keyring refused."""
    entry = keyring_entry(folder)
    try:
        stored = keyring.get_password(KEYRING_SERVICE, entry)
        if stored is None:
            legacy = keyring.get_password(KEYRING_SERVICE, slug) if existing else None
            stored = legacy or Fernet.generate_key().decode("ascii")
            keyring.set_password(KEYRING_SERVICE, entry, stored)
            if legacy:
                logger.info("door key of %s copied to the keyring entry of its folder", slug)
        return stored.encode("ascii")
    except keyring.errors.KeyringError:
        logger.warning("keyring refused the door key; using the key file", exc_info=True)
        return None


def open_vault(folder: Path, slug: str, *, existing: bool = False) -> Vault:
    """The vault of one server folder; its secret is made on first use.

    ``existing``: the folder already holds a database, so a secret kept under the old,
    per-server keyring entry is taken over.
    """
    path = folder / KEY_FILE
    if path.exists():
        return Vault(path.read_bytes().strip())
    if keyring_usable():
        stored = _from_keyring(folder, slug, existing)
        if stored is not None:
            return Vault(stored)
    key = Fernet.generate_key()
    _create_key_file(path, key)
    return Vault(key)


def destroy_vault(folder: Path) -> None:
    """Forget the folder's secret: its database and sealed values become unreadable."""
    if keyring_usable():
        try:
            keyring.delete_password(KEYRING_SERVICE, keyring_entry(folder))
        except keyring.errors.KeyringError:
            logger.info("no door key in the keyring for %s", folder)
    (folder / KEY_FILE).unlink(missing_ok=True)
