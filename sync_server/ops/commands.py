"""The operator's commands: ``config``, ``doctor``, ``backup`` and ``restore``
(added to ``sync-server`` in sync_server/cli.py)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from sync_server.config import Config, settings_reference
from sync_server.ops.backup import BackupError, backup, restore
from sync_server.ops.doctor import run_checks

SECRETS = frozenset({"secret_key", "master_secret", "smtp_password", "metrics_token"})
EXAMPLE_HEADER = """\
# Settings of the SteppersLife sync server: every one, with its default, commented out.
# Copy to /etc/stepperslife/sync-server.env (mode 0600), uncomment what you change.
# Generated from sync_server/config.py by `sync-server config --example`; do not edit by hand.
"""


def env_example() -> str:
    """deploy/sync-server.env.example: each setting's description, then ``# VARIABLE=default``."""
    parts = [EXAMPLE_HEADER]
    for variable, default, description in settings_reference():
        text = description.replace("`", "")
        parts.append("\n" + textwrap.fill(text, width=98, initial_indent="# ",
                                          subsequent_indent="# ") + "\n")
        parts.append(f"# {variable}={default if default is not None else ''}\n")
    return "".join(parts)


def _shown(name: str, value: object) -> str:
    if name in SECRETS:
        return "(set, hidden)" if value else "(empty)"
    if name == "database_url":
        return make_url(str(value)).render_as_string(hide_password=True)
    return str(value)


def _source(name: str, config: Config) -> str:
    if f"SYNC_{name.upper()}" in os.environ:
        return "environment"
    if name in {"secret_key", "master_secret"} and getattr(config, name):
        return f"file in {config.instance_path}"
    if name == "instance_path" and str(config.instance_path) != str(Path.cwd() / "instance"):
        return "--instance"
    if name == "database_url" and config.database_url.startswith("sqlite:///"):
        return "default (instance folder)"
    return "default"


@click.command("config")
@with_appcontext
@click.option("--example", is_flag=True,
              help="Print the example env file (every setting, its default) instead.")
def config_command(example: bool) -> None:
    """Print the effective settings (secrets hidden) and where each came from."""
    if example:
        click.echo(env_example(), nl=False)
        return
    config: Config = current_app.extensions["sync_config"]
    for name in Config.model_fields:
        value = getattr(config, name)
        click.echo(f"SYNC_{name.upper()}={_shown(name, value)}  # {_source(name, config)}")


@click.command("doctor")
@with_appcontext
def doctor_command() -> None:
    """Check the database, migrations, master secret, SMTP, Stripe key and clock; exit 1 on any
    problem."""
    config: Config = current_app.extensions["sync_config"]
    checks = run_checks(config, current_app.extensions["sync_db_engine"])
    for check in checks:
        click.echo(check.line())
    failed = [c.name for c in checks if not c.ok]
    if failed:
        click.echo(f"{len(failed)} problem(s): {', '.join(failed)}", err=True)
        raise SystemExit(1)
    click.echo("all well")


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Back up the database to PATH (PostgreSQL: pg_dump -Fc; SQLite: a consistent copy)."""
    config: Config = current_app.extensions["sync_config"]
    try:
        backup(config.database_url, path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backed up to {path}")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the tables of a database that has some.")
def restore_command(path: Path, force: bool) -> None:
    """Restore the database from a backup made by `sync-server backup` (stop the server first)."""
    config: Config = current_app.extensions["sync_config"]
    current_app.extensions["sync_db_engine"].dispose()
    try:
        restore(config.database_url, path, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored from {path}")

