"""The server's settings: one pydantic-settings model, read from ``SYNC_*`` environment variables.

Order: each field's default -> the environment (``SYNC_<FIELD NAME>``, e.g. ``SYNC_HOLD_MINUTES``)
-> the overrides given to ``create_app(test_config)`` (keys are the field names). The operator's
reference table in docs/server.md is generated from this model (``settings_table``).

Secrets (``SYNC_SECRET_KEY`` for sessions, ``SYNC_MASTER_SECRET`` for ticket keys) come from the
environment; without them a local server generates each once into a file in the instance folder
with mode 0600. Nothing secret ever lives in the repository.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

MASTER_SECRET_BYTES = 32
DATABASE_FILE = "sync-server.db"


def _secret_file(path: Path, make: Callable[[], str]) -> str:
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
    return value


def _own_version() -> str:
    """This server's package version (the door app ships from the same package)."""
    try:
        return importlib.metadata.version("stepperslife-door")
    except importlib.metadata.PackageNotFoundError:  # run from a tree that was never installed
        return ""


def default_instance_path() -> Path:
    return Path.cwd() / "instance"


class Config(BaseSettings):
    """Every setting of the sync server, frozen once loaded (tests: ``model_copy(update=...)``).

    Secrets (and the database URL) are left out of ``repr``, so logging the settings is safe."""

    model_config = SettingsConfigDict(env_prefix="SYNC_", frozen=True, extra="forbid")

    env: Literal["local", "production"] = Field(
        "local", description="`production`: secrets must come from the environment (none is "
                             "generated) and a missing or weak master secret stops the server "
                             "at start.")
    # --- where things live, and secrets ---------------------------------------------------------
    instance_path: Path = Field(
        default_factory=default_instance_path,
        description="Folder for the SQLite file and the generated secrets.")
    database_url: str = Field(  # not in repr: a URL may hold a password
        "", repr=False,
        description="Any SQLAlchemy URL (PostgreSQL: `postgresql+psycopg://`); empty: a SQLite "
                    f"file `{DATABASE_FILE}` in the instance folder.")
    secret_key: str = Field(
        "", repr=False, description="Signs the session cookie; empty: generated once into "
                        "`<instance>/secret_key` (mode 0600).")
    master_secret: bytes = Field(
        b"", repr=False,
        description=f"Hex, at least {MASTER_SECRET_BYTES} bytes: the root of every ticket key "
                    "(`shared.keys`); empty: generated once into `<instance>/master_secret` "
                    "(mode 0600).")
    public_url: str = Field(
        "", description="The server's address as doors reach it (put in pairing QR codes); "
                        "empty: the address of the request.")
    proxy_hops: int = Field(
        0, ge=0, le=5, description="Reverse proxies in front of the server (1 behind "
                                   "deploy/nginx.conf): the client's address and scheme are "
                                   "then read from their X-Forwarded-For/-Proto headers (rate "
                                   "limits count per client, not per proxy).")
    secure_cookies: bool = Field(
        False, description="Cookies always get `Secure` (they get it anyway on a request that "
        "came over HTTPS).")
    testing: bool = Field(False, description="Flask's TESTING; mail is sent in the request.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "WARNING", description="Log level of the `sync-server` commands.")
    metrics_token: str = Field(
        "", description="Bearer token Prometheus sends to read `/metrics`; empty: `/metrics` "
                        "answers 404 (docs/operations.md).")
    door_app_latest_version: str = Field(
        _own_version(), max_length=40,
        description="The newest door-app release, sent in every door heartbeat: a door running "
                    "an older one tells its staff (no self-update); empty: say nothing. "
                    "Default: this server's own version.")
    # --- limits -------------------------------------------------------------------------------
    max_content_length: int = Field(
        1024 * 1024, ge=1, description="Largest request body in bytes (larger: 413).")
    sign_in_limit: int = Field(
        10, ge=1, description="Sign-in attempts per account (e-mail address) per window.")
    sign_in_limit_per_address: int = Field(
        50, ge=1, description="Sign-ins, and separately sign-ups, per client IP address per "
                              "window.")
    sign_in_window_seconds: int = Field(
        300, ge=1, description="Window of the sign-in and sign-up limits.")
    pairing_limit: int = Field(20, ge=1, description="Pairing attempts per address per window.")
    pairing_window_seconds: int = Field(300, ge=1, description="Window of the pairing limit.")
    checkout_limit_per_user: int = Field(
        30, ge=0, description="Checkouts per signed-in buyer per window; 0: no limit.")
    checkout_limit_per_address: int = Field(
        300, ge=0, description="Checkouts per address per window; 0: no limit.")
    checkout_window_seconds: int = Field(60, ge=1, description="Window of the checkout limits.")
    # --- lifetimes ----------------------------------------------------------------------------
    pairing_code_minutes: int = Field(15, ge=1, description="A pairing code is valid this long.")
    user_token_days: int = Field(30, ge=1, description="Lifetime of a user's API token.")
    hold_minutes: float = Field(
        10.0, gt=0, description="An unpaid order holds its tickets this long.")
    split_payment_hours: float = Field(
        24.0, gt=0, le=24 * 30, description="A split-payment order waits this long for every "
        "payer's share; then its paid shares are refunded and its tickets released.")
    box_office_hold_minutes: float = Field(
        5.0, gt=0, description="A box-office cash sale holds its tickets this long before the "
        "seller confirms it with their code.")
    box_office_stock_max: int = Field(
        20, ge=0, le=500, description="Offline stock (pre-issued tickets) one box-office device "
        "may hold per seller; 0: no offline stock.")
    box_office_code_attempts: int = Field(
        5, ge=1, description="Wrong seller codes allowed per seller in one window.")
    box_office_code_window_seconds: int = Field(
        300, ge=10, description="The window of box_office_code_attempts, in seconds.")
    online_cash_orders: bool = Field(
        False, description="Let the online checkout take CASH orders (a reservation paid later "
        "at the box office). Off: cash is taken at the box office only, so no unpaid online order "
        "holds tickets without a payment under way (issue #13).")
    max_held_units_per_buyer: int = Field(
        20, ge=0, description="Units one signed-in buyer may hold at once across unpaid orders; "
        "0: no limit.")
    max_held_units_per_address: int = Field(
        100, ge=0, description="Units one client address may hold at once across unpaid orders; "
        "0: no limit.")
    # --- waiting-list queue, jobs worker, live updates (docs/queue.md) ------------------------
    queue_offer_minutes: float = Field(
        5.0, gt=0, description="A waiting-list offer reserves its ticket this long.")
    queue_joins_per_hour: int = Field(
        3, ge=0, description="Waiting-list joins per user per hour; 0: no limit.")
    jobs_queue_seconds: float = Field(
        1.0, gt=0, description="How often `sync-server jobs` looks for lapsed offers and holds "
        "that free tickets for a waiting list.")
    jobs_heartbeat_stale_seconds: int = Field(
        120, ge=5, description="`sync-server doctor` fails when the jobs worker's heartbeat is "
        "older than this.")
    live_poll_seconds: float = Field(
        0.5, gt=0, description="Live updates: how often a stream process reads new messages "
        "(SQLite; PostgreSQL wakes on NOTIFY and polls this often as a fallback).")
    live_keepalive_seconds: float = Field(
        15.0, gt=0, description="Live updates: a comment line this often keeps idle streams "
        "open through proxies.")
    # --- password hashing (argon2id; defaults: RFC 9106's "low memory" profile) ----------------
    argon2_time_cost: int = Field(3, ge=1, description="argon2id passes over memory.")
    argon2_memory_kib: int = Field(65536, ge=8, description="argon2id memory, KiB.")
    argon2_parallelism: int = Field(4, ge=1, description="argon2id lanes (threads).")
    # --- fees -----------------------------------------------------------------------------------
    platform_fee_bp: int = Field(
        0, ge=0, description="Default platform fee of an event: basis points of the discounted "
                             "subtotal.")
    platform_fee_fixed_cents: int = Field(
        0, ge=0, description="Default platform fee of an event: cents per paid ticket.")
    # --- mail -----------------------------------------------------------------------------------
    smtp_host: str = Field(
        "", description="SMTP server; empty: mail waits in the outbox until it is set.")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    smtp_from: str = Field("SteppersLife <tickets@localhost>", description="Sender of mail.")
    smtp_username: str = Field("", description="SMTP user; empty: no login.")
    smtp_password: str = Field("", repr=False, description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_timeout_seconds: float = Field(10.0, gt=0, description="SMTP connect/send timeout.")
    mail_max_attempts: int = Field(
        8, ge=1, description="Sending attempts before a message is marked failed.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("master_secret", mode="before")
    @classmethod
    def _master_secret_from_hex(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return bytes.fromhex(value)
            except ValueError as exc:
                raise ValueError("SYNC_MASTER_SECRET must be hex") from exc
        return value

    @field_validator("master_secret")
    @classmethod
    def _master_secret_long_enough(cls, value: bytes) -> bytes:
        if value and len(value) < MASTER_SECRET_BYTES:
            raise ValueError(f"SYNC_MASTER_SECRET must be at least {MASTER_SECRET_BYTES} bytes")
        return value

    @model_validator(mode="before")
    @classmethod
    def _local_defaults(cls, data: Any) -> Any:
        """What is left empty comes from the instance folder: the SQLite file, and secrets
        generated there once (mode 0600)."""
        if not isinstance(data, dict):
            return data
        instance = Path(data.get("instance_path") or default_instance_path())
        instance.mkdir(parents=True, exist_ok=True)
        data["instance_path"] = instance
        if not data.get("database_url"):
            data["database_url"] = f"sqlite:///{instance / DATABASE_FILE}"
        if data.get("env", os.environ.get("SYNC_ENV")) == "production":
            return data  # secrets only from the environment: checked at start (sync_server.ops)
        if not data.get("secret_key"):
            data["secret_key"] = _secret_file(instance / "secret_key",
                                              lambda: secrets.token_hex(32))
        if not data.get("master_secret"):
            data["master_secret"] = _secret_file(
                instance / "master_secret", lambda: secrets.token_hex(MASTER_SECRET_BYTES))
        return data


def load_config(overrides: Mapping[str, Any] | None = None) -> Config:
    """Defaults -> environment (``SYNC_*``) -> ``overrides`` (keys are field names)."""
    return Config(**dict(overrides or {}))


_GENERATED = {"instance_path": "`./instance`", "database_url": "SQLite in the instance folder",
              "secret_key": "generated", "master_secret": "generated"}


def settings_reference() -> list[tuple[str, str | None, str]]:
    """Every setting: its variable, its default as text (None: generated or derived, with the
    words in ``_GENERATED``), its description. Feeds docs/server.md and the example env file."""
    return [(f"SYNC_{name.upper()}",
             None if name in _GENERATED else str(field.default), field.description or "")
            for name, field in Config.model_fields.items()]


def settings_table() -> str:
    """The operator's reference: a Markdown table of every setting (docs/server.md)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for variable, default, description in settings_reference():
        shown = (_GENERATED[variable[5:].lower()] if default is None
                 else f"`{default}`" if default != "" else "(empty)")
        rows.append(f"| `{variable}` | {shown} | {description} |")
    return "\n".join(rows) + "\n"
