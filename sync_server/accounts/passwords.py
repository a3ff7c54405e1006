"""argon2id password hashing with costs from the configuration."""

from __future__ import annotations

import functools
from importlib import resources

from argon2 import PasswordHasher

from sync_server.config import Config


def make_hasher(config: Config) -> PasswordHasher:
    return PasswordHasher(
        time_cost=config.argon2_time_cost,
        memory_cost=config.argon2_memory_kib,
        parallelism=config.argon2_parallelism,
    )


# Common passwords of 10 characters or more (shorter ones are refused by length anyway): the
# entries of Django's ``common-passwords.txt.gz`` (20,000 passwords, BSD-3-Clause, from Royce
# Williams' list) at least 10 characters long; see docs/security.md.
COMMON_PASSWORDS_FILE = "common_passwords.txt"


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath(COMMON_PASSWORDS_FILE).read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def is_common_password(password: str) -> bool:
    return password.strip().lower() in common_passwords()
