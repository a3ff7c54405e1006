"""Configuration: a frozen dataclass built from defaults, then the environment, then overrides.

Secrets (``SYNC_SECRET_KEY`` for sessions, ``SYNC_MASTER_SECRET`` for ticket keys) come from the
environment; without them a local server generates each once into a file in the instance folder
with mode 0600. Nothing secret ever lives in the repository.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MASTER_SECRET_BYTES = 32


@dataclass(frozen=True)
class Config:
    instance_path: Path
    database_url: str
    secret_key: str
    master_secret: bytes
    # argon2id cost: the defaults are argon2-cffi's RFC 9106 "low memory" profile; tests lower them.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    max_content_length: int = 1024 * 1024
    sign_in_limit: int = 10
    sign_in_window_seconds: int = 300
    pairing_limit: int = 20
    pairing_window_seconds: int = 300
    pairing_code_minutes: int = 15
    user_token_days: int = 30
    session_cookie_secure: bool = False
    testing: bool = False
    # Purchase engine (issue 4); each can be set as SYNC_<NAME upper-cased>, e.g. SYNC_SMTP_HOST.
    hold_minutes: float = 10.0
    checkout_limit_per_user: int = 30  # per window; 0 = no limit
    checkout_limit_per_address: int = 300  # per window; 0 = no limit
    checkout_window_seconds: int = 60
    platform_fee_bp: int = 0  # default fee of an event: basis points of the discounted subtotal
    platform_fee_fixed_cents: int = 0  # ... plus this per paid ticket
    smtp_host: str = ""  # empty: mail waits in the outbox until SMTP is configured
    smtp_port: int = 25
    smtp_from: str = "SteppersLife <tickets@localhost>"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_max_attempts: int = 8


def _secret_file(path: Path, make: Any) -> str:
    """Read the secret in ``path``, creating it (mode 0600) on first use."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    logger.info("generated %s (mode 0600)", path)
    return str(value)


def _master_secret(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError as exc:
        raise ValueError("SYNC_MASTER_SECRET must be hex") from exc
    if len(value) < MASTER_SECRET_BYTES:
        raise ValueError(f"SYNC_MASTER_SECRET must be at least {MASTER_SECRET_BYTES} bytes")
    return value


def default_instance_path() -> Path:
    env = os.environ.get("SYNC_INSTANCE_PATH")
    if env:
        return Path(env)
    return Path.cwd() / "instance"


_PURCHASE_FIELDS = {
    "hold_minutes": float, "checkout_limit_per_user": int, "checkout_limit_per_address": int,
    "checkout_window_seconds": int, "platform_fee_bp": int, "platform_fee_fixed_cents": int,
    "smtp_host": str, "smtp_port": int, "smtp_from": str, "smtp_username": str,
    "smtp_password": str, "smtp_starttls": bool, "smtp_timeout_seconds": float,
    "mail_max_attempts": int,
}


def _purchase_environment(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, kind in _PURCHASE_FIELDS.items():
        text = env.get("SYNC_" + name.upper())
        if text is None:
            continue
        try:
            values[name] = (text.strip().lower() in {"1", "true", "yes"}) if kind is bool \
                else kind(text)
        except ValueError as exc:
            raise ValueError(f"SYNC_{name.upper()} must be a {kind.__name__}") from exc
    return values


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Defaults -> environment (``SYNC_*``) -> ``overrides`` (keys are field names)."""
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    instance_path = Path(
        overrides.pop("instance_path", None)
        or env.get("SYNC_INSTANCE_PATH")
        or default_instance_path()
    )
    instance_path.mkdir(parents=True, exist_ok=True)

    database_url = overrides.pop("database_url", None) or env.get("SYNC_DATABASE_URL")
    if not database_url:
        database_url = f"sqlite:///{instance_path / 'sync-server.db'}"

    secret_key = overrides.pop("secret_key", None) or env.get("SYNC_SECRET_KEY")
    if not secret_key:
        secret_key = _secret_file(instance_path / "secret_key", lambda: secrets.token_hex(32))

    master = overrides.pop("master_secret", None)
    if master is None:
        text = env.get("SYNC_MASTER_SECRET") or _secret_file(
            instance_path / "master_secret", lambda: secrets.token_hex(MASTER_SECRET_BYTES)
        )
        master = _master_secret(text)

    config = Config(
        instance_path=instance_path,
        database_url=database_url,
        secret_key=secret_key,
        master_secret=bytes(master),
        session_cookie_secure=env.get("SYNC_SECURE_COOKIES", "") in {"1", "true", "yes"},
    )
    config = replace(config, **_purchase_environment(env))
    known = {f.name for f in fields(Config)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown configuration keys: {sorted(unknown)}")
    return replace(config, **overrides)
