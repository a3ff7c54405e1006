"""argon2id password hashing with costs from the configuration."""

from __future__ import annotations

from argon2 import PasswordHasher

from sync_server.config import Config


def make_hasher(config: Config) -> PasswordHasher:
    return PasswordHasher(
        time_cost=config.argon2_time_cost,
        memory_cost=config.argon2_memory_kib,
        parallelism=config.argon2_parallelism,
    )
