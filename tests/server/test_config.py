"""Settings: defaults, the ``SYNC_*`` environment, overrides; secrets generated once with mode
0600; every setting documented in docs/server.md and read by the code that uses it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from flask import Flask
from pydantic import ValidationError

from sync_server import create_app
from sync_server.config import Config, load_config, settings_table
from tests.server.conftest import World, server_config
from tests.server.test_devices_and_staff import decode_qr
from tests.support.apps import close_app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "server.md"


@pytest.fixture(autouse=True)
def no_sync_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in [n for n in os.environ if n.upper().startswith("SYNC_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_local_defaults_generate_secrets_once(
    tmp_path: Path, no_sync_environment: pytest.MonkeyPatch
) -> None:
    no_sync_environment.setenv("SYNC_INSTANCE_PATH", str(tmp_path / "inst"))
    first, second = load_config(), load_config()
    assert first.database_url == f"sqlite:///{tmp_path / 'inst' / 'sync-server.db'}"
    assert first.master_secret == second.master_secret and len(first.master_secret) == 32
    assert first.secret_key == second.secret_key
    for name in ("master_secret", "secret_key"):
        assert (tmp_path / "inst" / name).stat().st_mode & 0o777 == 0o600
    assert first.argon2_time_cost == Config.model_fields["argon2_time_cost"].default


def test_environment_then_overrides(
    tmp_path: Path, no_sync_environment: pytest.MonkeyPatch
) -> None:
    for name, value in {"SYNC_INSTANCE_PATH": str(tmp_path),
                        "SYNC_DATABASE_URL": "postgresql+psycopg://h/db", "SYNC_SECRET_KEY": "k",
                        "SYNC_MASTER_SECRET": "ab" * 32, "SYNC_SIGN_IN_LIMIT": "7",
                        "SYNC_ARGON2_MEMORY_KIB": "1024", "SYNC_SECURE_COOKIES": "true",
                        "SYNC_HOLD_MINUTES": "2.5", "SYNC_USER_TOKEN_DAYS": "3",
                        "SYNC_LOG_LEVEL": "info"}.items():
        no_sync_environment.setenv(name, value)
    config = load_config({"sign_in_limit": 2})
    assert config.database_url == "postgresql+psycopg://h/db"
    assert config.master_secret == bytes.fromhex("ab" * 32)
    assert config.sign_in_limit == 2  # the override wins over SYNC_SIGN_IN_LIMIT
    assert (config.argon2_memory_kib, config.secure_cookies) == (1024, True)
    assert (config.hold_minutes, config.user_token_days, config.log_level) == (2.5, 3, "INFO")
    assert not (tmp_path / "master_secret").exists()
    assert "ab" * 4 not in repr(config) and "secret_key" not in repr(config)  # never logged


@pytest.mark.parametrize("value", ["zz", "ab" * 8])
def test_bad_master_secret_is_refused(
    tmp_path: Path, no_sync_environment: pytest.MonkeyPatch, value: str
) -> None:
    no_sync_environment.setenv("SYNC_MASTER_SECRET", value)
    with pytest.raises(ValidationError, match="SYNC_MASTER_SECRET"):
        load_config({"instance_path": tmp_path})


@pytest.mark.parametrize(("overrides", "field"), [
    ({"sign_in_limt": 2}, "sign_in_limt"),
    ({"smtp_port": "not a port"}, "smtp_port"),
    ({"argon2_time_cost": 0}, "argon2_time_cost"),
    ({"log_level": "chatty"}, "log_level"),
])
def test_unknown_or_bad_setting_is_refused_by_name(
    tmp_path: Path, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        load_config({"instance_path": tmp_path, **overrides})


def test_the_settings_are_frozen(tmp_path: Path) -> None:
    config = load_config({"instance_path": tmp_path})
    with pytest.raises(ValidationError):
        config.hold_minutes = 1  # type: ignore[misc]


def test_docs_list_every_setting_as_the_model_describes_it() -> None:
    text = DOCS.read_text()
    assert settings_table() in text, "regenerate it: print(sync_server.config.settings_table())"
    for name, field in Config.model_fields.items():
        assert field.description, name
        assert f"`SYNC_{name.upper()}`" in text


def test_settings_from_the_environment_reach_the_app(
    database_url: str, tmp_path: Path, no_sync_environment: pytest.MonkeyPatch, app: Flask,
    world: World,
) -> None:
    no_sync_environment.setenv("SYNC_ARGON2_TIME_COST", "2")
    no_sync_environment.setenv("SYNC_PUBLIC_URL", "https://tix.example.com/")
    config = server_config(database_url, tmp_path / "env")
    del config["argon2_time_cost"]
    configured = create_app(config)
    try:
        assert configured.extensions["sync_hasher"].time_cost == 2
        organizer = world.person()
        event = world.event(organizer)
        with httpx.Client(transport=httpx.WSGITransport(app=configured),
                          base_url="http://testserver/api/v1") as api:
            made = api.post(f"/events/{event.id}/pairing-codes", headers=organizer.headers,
                            json={"name": "Front door"})
        assert made.status_code == 201, made.text
        # Behind a proxy the request's address is not the doors' one: the QR names the setting.
        qr = decode_qr(made.json()["qr_png_data_url"])
        assert qr == f"stepperslife-pair:https://tix.example.com#{made.json()['code']}"
    finally:
        close_app(configured)
