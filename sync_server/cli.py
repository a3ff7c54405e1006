"""``sync-server``: run the sync server and manage its database (Flask's click CLI).

Every command reads the same settings as the server (``SYNC_*`` environment variables,
docs/server.md) and runs in the app's context; each one that touches the database first brings
it up to date (``db upgrade``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, pass_script_info, routes_command, shell_command

from shared.vocabulary import format_optional_time as iso
from sync_server.config import Config
from sync_server.jobs.cli import jobs_command
from sync_server.mail.cli import send_mail
from sync_server.migrate import upgrade, upgraded_sessions
from sync_server.ops.commands import backup_command, config_command, doctor_command, restore_command
from sync_server.payments.cli import payments_group

logger = logging.getLogger(__name__)
MIN_PASSWORD = 10
PASSWORD_VARIABLE = "SYNC_NEW_USER_PASSWORD"  # noqa: S105 - the name of a variable, not a secret


def _create_app() -> Flask:
    """The app for a command: ``--instance`` over the environment; the log level set."""
    from sync_server import create_app

    context = click.get_current_context()
    options = context.find_object(ScriptInfo)
    data = options.data if options is not None else {}
    overrides: dict[str, Any] = {}
    if data.get("instance") is not None:
        overrides["instance_path"] = data["instance"]
    app = create_app(overrides)
    # Its connections close with the command (a command run in process leaves none open).
    context.find_root().call_on_close(app.extensions["sync_db_engine"].dispose)
    config: Config = app.extensions["sync_config"]
    logging.getLogger().setLevel(logging.DEBUG if data.get("verbose") else config.log_level)
    return app


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False, set_debug_flag=False,
             context_settings={"show_default": True})
@click.option("--instance", type=click.Path(file_okay=False, path_type=Path),
              show_default="$SYNC_INSTANCE_PATH, else ./instance",
              help="Instance folder: the SQLite file and generated secrets.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages (else $SYNC_LOG_LEVEL).")
@pass_script_info
def cli(info: ScriptInfo, instance: Path | None, verbose: bool) -> None:
    """Run the SteppersLife sync server and manage its database."""
    info.data.update(instance=instance, verbose=verbose)


# Flask's --app and --debug mean nothing here (the app is this one; `run` has no debugger);
# -e/--env-file stays: settings can come from a dotenv file.
cli.params = [p for p in cli.params if p.name not in {"app", "debug"}]
cli.add_command(routes_command)
cli.add_command(shell_command)
cli.add_command(send_mail)
cli.add_command(jobs_command)
cli.add_command(config_command)
cli.add_command(doctor_command)
cli.add_command(backup_command)
cli.add_command(restore_command)
cli.add_command(payments_group)


@cli.command("run", with_appcontext=False)
@click.option("--host", default="127.0.0.1", help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, help="Port to listen on.")
@pass_script_info
def run(info: ScriptInfo, host: str, port: int) -> None:
    """Upgrade the database, then serve HTTP (Werkzeug's threaded server; use gunicorn in
    production)."""
    from werkzeug.serving import run_simple

    from sync_server.headers import QuietRequestHandler

    app = info.load_app()
    config: Config = app.extensions["sync_config"]
    upgrade(config.database_url)
    click.echo(f"sync-server on http://{host}:{port}/ (instance {config.instance_path})")
    run_simple(host, port, app, threaded=True, request_handler=QuietRequestHandler)


@cli.command("streams", with_appcontext=False)
@click.option("--host", default="127.0.0.1", help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, help="Port to listen on.")
@pass_script_info
def streams(info: ScriptInfo, host: str, port: int) -> None:
    """Serve the live streams (server-sent events) from one asyncio thread, behind nginx
    (deploy/systemd/sync-server-streams.service; docs/queue.md)."""
    import asyncio

    from sync_server.live.server import StreamServer

    app = info.load_app()
    config: Config = app.extensions["sync_config"]
    click.echo(f"sync-server streams on http://{host}:{port}/")
    asyncio.run(StreamServer(app, keepalive_seconds=config.live_keepalive_seconds)
                .serve(host, port))


@cli.group("db")
def db_group() -> None:
    """Database commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", help="Alembic revision to upgrade to.")
def db_upgrade(revision: str) -> None:
    """Apply the migrations (works from any directory)."""
    config: Config = current_app.extensions["sync_config"]
    upgrade(config.database_url, revision)
    click.echo(f"database at {revision}")


def _password(password_stdin: bool, password: str | None) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif password is None:
        if not sys.stdin.isatty():
            raise click.UsageError(f"no password: use --password-stdin, set {PASSWORD_VARIABLE}, "
                                   "or run on a terminal to be asked")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    assert password is not None
    if len(password) < MIN_PASSWORD:
        raise click.BadParameter(f"the password needs at least {MIN_PASSWORD} characters",
                                 param_hint="password")
    return password


@cli.command("create-user")
@click.option("--email", required=True, help="The account's e-mail address (sign-in name).")
@click.option("--name", required=True, help="The person's display name.")
@click.option("--admin", is_flag=True, help="A platform administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--password", envvar=PASSWORD_VARIABLE, show_envvar=True, default=None,
              show_default="asked on a terminal",
              help="The password (prefer the variable: a command line is visible to others).")
@click.option("--json", "as_json", is_flag=True, help="Print the new user as JSON.")
def create_user(email: str, name: str, admin: bool, password_stdin: bool, password: str | None,
                as_json: bool) -> None:
    """Create a user account."""
    from sync_server.accounts.services import create_user as create
    from sync_server.errors import ApiError

    secret = _password(password_stdin, password)
    with upgraded_sessions()() as session:
        try:
            user = create(session, email=email, password=secret, name=name,
                          hasher=current_app.extensions["sync_hasher"], is_admin=admin,
                          email_verified=True)  # the operator vouches for the address
        except ApiError as error:
            raise click.ClickException(error.message) from error
        session.commit()
        result = {"id": user.id, "email": user.email, "name": user.name,
                  "is_admin": user.is_admin}
    click.echo(json.dumps(result) if as_json
               else f"created user {result['id']} <{result['email']}>")


@cli.command("seed-demo")
@click.option("--seed", type=int, default=1, help="Random seed: the same seed, the same data.")
@click.option("--orders", type=click.IntRange(min=0), default=300,
              help="Completed orders to create.")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              show_default="today", help="First day (YYYY-MM-DD, in the event's time zone).")
@click.option("--live", is_flag=True,
              help="The first night started an hour ago (for demos at any hour).")
@click.option("--samples", type=click.IntRange(min=0), default=12, show_default=True,
              help="Tickets listed with their QR token in the summary (the first of each order).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def seed_demo(seed: int, orders: int, start: datetime | None, live: bool, samples: int,
              as_json: bool) -> None:
    """Create a demo organizer, two-day event, staff, seller and completed sales."""
    from sync_server.demo_data import seed_demo as seed_data

    config: Config = current_app.extensions["sync_config"]
    with upgraded_sessions()() as session:
        try:
            summary = seed_data(session, hasher=current_app.extensions["sync_hasher"],
                                master_secret=config.master_secret, seed=seed, orders=orders,
                                start=start.date() if start else None, live=live,
                                samples=samples)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        session.commit()
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
        return
    click.echo(f"event {summary.event_id}: {summary.event_name}")
    click.echo(f"  days: {', '.join(d['date'] for d in summary.days)}")
    for t in summary.ticket_types + summary.bundles:
        click.echo(f"  {t['name']}: {t['sold']} sold")
    click.echo(f"  {summary.orders} orders, {summary.tickets} tickets")
    for role in ("organizer", "staff", "seller"):
        who = getattr(summary, role)
        click.echo(f"  {role}: {who['email']} / {who['password']}")
    for sample in summary.sample_tokens[:3]:
        click.echo(f"  ticket {sample['ticket_number']} ({sample['holder_name']}): "
                   f"{sample['token']}")


@cli.command("pair-device")
@click.option("--event", "event_id", type=int, required=True, help="The event's id.")
@click.option("--name", default="Door", help="The device's name.")
@click.option("--kind", type=click.Choice(["DOOR", "BOX_OFFICE"]), default="DOOR",
              help="What the device is.")
@click.option("--json", "as_json", is_flag=True, help="Print the code as JSON.")
def pair_device(event_id: int, name: str, kind: str, as_json: bool) -> None:
    """Print a one-time pairing code for a device serving an event."""
    from sync_server.accounts.models import User
    from sync_server.devices.models import DeviceKind
    from sync_server.devices.services import create_pairing_code
    from sync_server.events.models import Event

    config: Config = current_app.extensions["sync_config"]
    with upgraded_sessions()() as session:
        event = session.get(Event, event_id)
        if event is None:
            raise click.ClickException(f"no event {event_id}")
        organizer = session.get(User, event.organizer_id)
        assert organizer is not None
        code, row = create_pairing_code(session, by=organizer, events=[event], device_name=name,
                                        kind=DeviceKind(kind),
                                        minutes=config.pairing_code_minutes)
        session.commit()
        result = {"code": code, "event_id": event.id, "name": row.device_name,
                  "kind": row.kind.value, "expires_at": iso(row.expires_at)}
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"pairing code for event {event_id} ({result['name']}): {code}")
        click.echo(f"valid until {result['expires_at']}, once")


def main() -> None:
    """The ``sync-server`` console script (the level is set once the settings are read)."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cli.main(prog_name="sync-server")


if __name__ == "__main__":
    main()
