"""Encryption at rest for the door's secrets (event keys, the device token).

Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256). The Fernet key lives in the OS
keyring when a real backend exists; otherwise in ``servers/<slug>/secret.key``, created with
mode 0600 (readable by this user only). Deleting that key — on a device revoke — makes whatever
is left of the database's sealed values unreadable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keyring
import keyring.errors
from cryptography.fernet import Fernet, InvalidToken

logger = logging.getLogger(__name__)

KEYRING_SERVICE = "stepperslife-door"
KEY_FILE = "secret.key"


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

    def seal(self, value: bytes) -> bytes:
        return self._fernet.encrypt(value)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken as exc:
            raise VaultError("sealed value cannot be opened with this key") from exc


def _read_or_create_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key


def open_vault(folder: Path, slug: str) -> Vault:
    """The vault of one server's database; its key is made on first use."""
    if keyring_usable():
        try:
            stored = keyring.get_password(KEYRING_SERVICE, slug)
            if stored is None:
                stored = Fernet.generate_key().decode("ascii")
                keyring.set_password(KEYRING_SERVICE, slug, stored)
            return Vault(stored.encode("ascii"))
        except keyring.errors.KeyringError:
            logger.warning("keyring refused the door key; using the key file", exc_info=True)
    return Vault(_read_or_create_key_file(folder / KEY_FILE))


def destroy_vault(folder: Path, slug: str) -> None:
    """Forget the key: sealed values anywhere become unreadable."""
    if keyring_usable():
        try:
            keyring.delete_password(KEYRING_SERVICE, slug)
        except keyring.errors.KeyringError:
            logger.info("no door key in the keyring for %s", slug)
    (folder / KEY_FILE).unlink(missing_ok=True)
