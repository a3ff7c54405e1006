"""Per-event signing keys, derived from the server's master secret.

A door holds only the keys of the events it serves: each key is
``HKDF-SHA256(master_secret, salt=SALT, info="stepperslife/ticket-key/v1/event=<id>/version=<n>")``,
so one leaked door key exposes one event at one key version, never the master secret or
another event. Rotation is a new ``key_version``; several versions may be valid at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_LENGTH = 32
SALT = b"stepperslife-ticket-token"
MIN_MASTER_SECRET_LENGTH = 32
MAX_EVENT_ID = 2**32 - 1
MAX_KEY_VERSION = 255


def derive_event_key(master_secret: bytes, event_id: int, key_version: int) -> bytes:
    """Return the 32-byte HMAC key for one event at one key version."""
    if len(master_secret) < MIN_MASTER_SECRET_LENGTH:
        raise ValueError(f"master secret must be at least {MIN_MASTER_SECRET_LENGTH} bytes")
    if not 0 < event_id <= MAX_EVENT_ID:
        raise ValueError(f"event id must be in 1..{MAX_EVENT_ID}")
    if not 0 < key_version <= MAX_KEY_VERSION:
        raise ValueError(f"key version must be in 1..{MAX_KEY_VERSION}")
    info = f"stepperslife/ticket-key/v1/event={event_id}/version={key_version}".encode()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_LENGTH, salt=SALT, info=info)
    return hkdf.derive(master_secret)


@dataclass(frozen=True)
class Keyring:
    """The verification keys a party holds, by ``(event_id, key_version)``.

    The server builds one from its master secret for the versions in use; a door builds one
    from the keys the server sent it. A version that is not in the keyring is retired: its
    tokens verify as ``unknown_key``.
    """

    keys: Mapping[tuple[int, int], bytes] = field(default_factory=dict)

    @classmethod
    def derived(cls, master_secret: bytes, versions: Iterable[tuple[int, int]]) -> Keyring:
        return cls({(e, v): derive_event_key(master_secret, e, v) for e, v in versions})

    def get(self, event_id: int, key_version: int) -> bytes | None:
        return self.keys.get((event_id, key_version))

    def versions_for(self, event_id: int) -> list[int]:
        return sorted(v for (e, v) in self.keys if e == event_id)
