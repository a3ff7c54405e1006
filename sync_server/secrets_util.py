"""Opaque bearer secrets: generation and the SHA-256 that is all the database keeps."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from shared.vocabulary import DEVICE_TOKEN_PREFIX as DEVICE_TOKEN_PREFIX
from shared.vocabulary import USER_TOKEN_PREFIX as USER_TOKEN_PREFIX

# Pairing codes are typed by people: no 0/O/1/I/L confusion.
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PAIRING_CODE_LENGTH = 10


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


def new_pairing_code() -> str:
    return "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))


def normalise_pairing_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())
