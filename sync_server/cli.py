"""``sync-server``: run the sync server and manage its database.

Every command reads the same configuration as the server (``SYNC_*`` environment variables; the
instance folder defaults to ``./instance`` or ``SYNC_INSTANCE_PATH``, or ``--instance``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from shared.vocabulary import format_optional_time as iso
from sync_server.config import Config, load_config

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sync-server", description=__doc__.split("\n")[0])
    parser.add_argument("--instance", help="instance folder (default: $SYNC_INSTANCE_PATH "
                                           "or ./instance)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="upgrade the database, then serve HTTP (development server)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=5000)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    up = db_sub.add_parser("upgrade", help="apply the migrations")
    up.add_argument("--revision", default="head")

    user = sub.add_parser("create-user", help="create a user account")
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--admin", action="store_true", help="a platform administrator")
    user.add_argument("--password-stdin", action="store_true",
                      help="read the password from standard input (else: prompt)")
    user.add_argument("--json", action="store_true")

    seed = sub.add_parser("seed-demo", help="create a demo organizer, event, staff and sales")
    seed.add_argument("--seed", type=int, default=1)
    seed.add_argument("--orders", type=int, default=300)
    seed.add_argument("--start", type=date.fromisoformat, default=None,
                      help="first day (YYYY-MM-DD, event time zone); default: today")
    seed.add_argument("--live", action="store_true",
                      help="the first night started an hour ago (for demos at any hour)")
    seed.add_argument("--json", action="store_true", help="print a machine-readable summary")

    mail = sub.add_parser("send-mail", help="send due outbox e-mail, tidy expired holds")
    from sync_server.mail.cli import add_arguments as _mail_arguments

    _mail_arguments(mail)

    pair = sub.add_parser("pair-device", help="print a one-time pairing code for an event")
    pair.add_argument("--event", type=int, required=True, dest="event_id")
    pair.add_argument("--name", default="Door")
    pair.add_argument("--kind", choices=["DOOR", "BOX_OFFICE"], default="DOOR")
    pair.add_argument("--json", action="store_true")
    return parser


def _config(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {}
    if args.instance:
        overrides["instance_path"] = args.instance
    return load_config(overrides)


@contextmanager
def _session(config: Config) -> Iterator[Session]:
    from sync_server.db import make_engine

    engine = make_engine(config.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def _upgrade(config: Config, revision: str = "head") -> None:
    from sync_server.migrate import upgrade

    upgrade(config.database_url, revision)


def cmd_run(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple

    from sync_server import create_app

    config = _config(args)
    _upgrade(config)
    overrides: dict[str, Any] = {"instance_path": config.instance_path}
    app = create_app(overrides)
    print(f"sync-server on http://{args.host}:{args.port}/ (instance {config.instance_path})")
    run_simple(args.host, args.port, app, threaded=True)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    config = _config(args)
    _upgrade(config, args.revision)
    print(f"database at {args.revision}")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from sync_server.accounts.passwords import make_hasher
    from sync_server.accounts.services import create_user
    from sync_server.errors import ApiError

    config = _config(args)
    _upgrade(config)
    password = (sys.stdin.readline().rstrip("\n") if args.password_stdin
                else getpass.getpass("Password: "))
    if len(password) < 10:
        print("error: the password needs at least 10 characters", file=sys.stderr)
        return 2
    with _session(config) as session:
        try:
            user = create_user(session, email=args.email, password=password, name=args.name,
                               hasher=make_hasher(config), is_admin=args.admin)
        except ApiError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 1
        session.commit()
        result = {"id": user.id, "email": user.email, "name": user.name,
                  "is_admin": user.is_admin}
    print(json.dumps(result) if args.json else f"created user {result['id']} <{result['email']}>")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from sync_server.accounts.passwords import make_hasher
    from sync_server.demo_data import seed_demo

    config = _config(args)
    _upgrade(config)
    with _session(config) as session:
        try:
            summary = seed_demo(session, hasher=make_hasher(config),
                                master_secret=config.master_secret, seed=args.seed,
                                orders=args.orders, start=args.start, live=args.live)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        session.commit()
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
        return 0
    print(f"event {summary.event_id}: {summary.event_name}")
    print(f"  days: {', '.join(d['date'] for d in summary.days)}")
    for t in summary.ticket_types + summary.bundles:
        print(f"  {t['name']}: {t['sold']} sold")
    print(f"  {summary.orders} orders, {summary.tickets} tickets")
    for role in ("organizer", "staff", "seller"):
        who = getattr(summary, role)
        print(f"  {role}: {who['email']} / {who['password']}")
    for sample in summary.sample_tokens[:3]:
        print(f"  ticket {sample['ticket_number']} ({sample['holder_name']}): {sample['token']}")
    return 0


def cmd_pair_device(args: argparse.Namespace) -> int:
    from sync_server.accounts.models import User
    from sync_server.devices.models import DeviceKind
    from sync_server.devices.services import create_pairing_code
    from sync_server.events.models import Event

    config = _config(args)
    _upgrade(config)
    with _session(config) as session:
        event = session.get(Event, args.event_id)
        if event is None:
            print(f"error: no event {args.event_id}", file=sys.stderr)
            return 1
        organizer = session.get(User, event.organizer_id)
        assert organizer is not None
        code, row = create_pairing_code(session, by=organizer, events=[event],
                                        device_name=args.name, kind=DeviceKind(args.kind),
                                        minutes=config.pairing_code_minutes)
        session.commit()
        result = {"code": code, "event_id": event.id, "name": row.device_name,
                  "kind": row.kind.value, "expires_at": iso(row.expires_at)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"pairing code for event {event.id} ({row.device_name}): {code}")
        print(f"valid until {result['expires_at']}, once")
    return 0


def cmd_send_mail(args: argparse.Namespace) -> int:
    from sync_server.mail.cli import send_mail

    config = _config(args)
    _upgrade(config)
    return send_mail(config, args)


COMMANDS = {
    "run": cmd_run, "db": cmd_db, "create-user": cmd_create_user, "seed-demo": cmd_seed_demo,
    "pair-device": cmd_pair_device, "send-mail": cmd_send_mail,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else os.environ.get("SYNC_LOG_LEVEL", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
