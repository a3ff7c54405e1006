"""Configuration: defaults, environment, overrides; secrets generated once with mode 0600."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_server.config import load_config


def test_local_defaults_generate_secrets_once(tmp_path: Path) -> None:
    env = {"SYNC_INSTANCE_PATH": str(tmp_path / "inst")}
    first = load_config(environ=env)
    second = load_config(environ=env)
    assert first.database_url == f"sqlite:///{tmp_path / 'inst' / 'sync-server.db'}"
    assert first.master_secret == second.master_secret and len(first.master_secret) == 32
    assert first.secret_key == second.secret_key
    for name in ("master_secret", "secret_key"):
        assert (tmp_path / "inst" / name).stat().st_mode & 0o777 == 0o600


def test_environment_then_overrides(tmp_path: Path) -> None:
    env = {"SYNC_INSTANCE_PATH": str(tmp_path), "SYNC_DATABASE_URL": "postgresql+psycopg://h/db",
           "SYNC_SECRET_KEY": "k", "SYNC_MASTER_SECRET": "ab" * 32}
    config = load_config({"sign_in_limit": 2}, environ=env)
    assert config.database_url == "postgresql+psycopg://h/db"
    assert config.master_secret == bytes.fromhex("ab" * 32)
    assert config.sign_in_limit == 2
    assert not (tmp_path / "master_secret").exists()


@pytest.mark.parametrize("value", ["zz", "ab" * 8])
def test_bad_master_secret_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="SYNC_MASTER_SECRET"):
        load_config(environ={"SYNC_INSTANCE_PATH": str(tmp_path), "SYNC_MASTER_SECRET": value})


def test_unknown_override_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown configuration"):
        load_config({"sign_in_limt": 2}, environ={"SYNC_INSTANCE_PATH": str(tmp_path)})
