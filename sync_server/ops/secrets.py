"""Whether the master secret (the root of every ticket key) is fit for production."""

from __future__ import annotations

from sync_server.config import MASTER_SECRET_BYTES, Config

# 32 random bytes have ~25 distinct values; fewer than this is a typed or patterned secret.
MIN_DISTINCT_BYTES = 12
GENERATE = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


def master_secret_problems(config: Config) -> list[str]:
    """What is wrong with ``SYNC_MASTER_SECRET``, in words; empty when it will do."""
    secret = config.master_secret
    if not secret:
        return [f"SYNC_MASTER_SECRET is not set (generate one: {GENERATE})"]
    if len(secret) < MASTER_SECRET_BYTES:
        return [f"SYNC_MASTER_SECRET has {len(secret)} bytes, needs {MASTER_SECRET_BYTES}"]
    if len(set(secret)) < MIN_DISTINCT_BYTES:
        return [f"SYNC_MASTER_SECRET is weak ({len(set(secret))} distinct byte values: not "
                f"random; generate one: {GENERATE})"]
    return []
