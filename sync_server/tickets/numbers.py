"""Human-readable ticket numbers, unique by construction: a keyed permutation of the ticket id.

A number is 8 characters of a 31-letter alphabet read aloud and typed at the door (no 0/O/1/I/L),
shown as ``XXXX-XXXX``: 31^8 ~ 8.5e11 numbers. The ticket's id (from its table's sequence, so
unique) goes through a 4-round Feistel network on 40 bits keyed by HKDF(master secret); values
outside 0..31^8-1 are walked through the permutation again (cycle walking), which keeps it a
one-to-one map of that range onto itself. So two tickets never share a number, issuing one needs
no "is this random number free?" query, and consecutive ids give unrelated-looking numbers. The
numbers are labels, not secrets: admission is decided by the signed token.
"""

from __future__ import annotations

import functools
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 8
SPACE = len(ALPHABET) ** LENGTH  # 852,891,037,441 numbers
_HALF = 20  # bits in each half of the 40-bit Feistel block (2^40 > SPACE)
_MASK = (1 << _HALF) - 1
_ROUNDS = 4


@functools.cache
def _key(master_secret: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"stepperslife/ticket-number/v1")
    return hkdf.derive(master_secret)


def _permute(value: int, key: bytes) -> int:
    left, right = value >> _HALF, value & _MASK
    for round_number in range(_ROUNDS):
        digest = hmac.digest(key, bytes([round_number]) + right.to_bytes(3, "big"), "sha256")
        left, right = right, left ^ (int.from_bytes(digest[:3], "big") & _MASK)
    return (left << _HALF) | right


def ticket_number(ticket_id: int, master_secret: bytes) -> str:
    """The ticket number of ``ticket_id`` (1 <= id < 31^8), e.g. ``"T7K2-9QXD"``."""
    if not 0 < ticket_id < SPACE:
        raise ValueError(f"ticket id {ticket_id} is outside 1..{SPACE - 1}")
    key = _key(master_secret)
    value = _permute(ticket_id, key)
    while value >= SPACE:  # cycle walking: at most a few steps (2^40 / 31^8 ~ 1.3)
        value = _permute(value, key)
    chars = []
    for _ in range(LENGTH):
        value, digit = divmod(value, len(ALPHABET))
        chars.append(ALPHABET[digit])
    text = "".join(reversed(chars))
    return f"{text[:4]}-{text[4:]}"
