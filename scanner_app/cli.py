"""``scanner-app``: the door app. With no command it opens the window; commands run headless.

Commands use the same core as the window (``scanner_app.core``) and print JSON on stdout:

    scanner-app pair --server URL --code CODE
    scanner-app sync
    scanner-app check --payload TEXT | --image FILE  [--door NAME] [--exit]
    scanner-app lookup TEXT [--limit N]
    scanner-app status
    scanner-app sell --tier NAME[=QTY] --code CODE ...   (box office: see cli_sell.py)
    scanner-app --self-test

``--data-dir`` (before the command) picks the data folder; default: the window's data folder
(``scanner_app.settings.Folders``), so the headless commands and the window share one database.
Exit status: 0 done (a refused ticket is still "done": read the verdict), 1 failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from scanner_app import cli_sell
from scanner_app.settings import Folders, add_gui_arguments

logger = logging.getLogger(__name__)

def data_dir_for(args: argparse.Namespace) -> Path:
    """``--data-dir``, else the window's data folder (``--home`` / its variable / platformdirs)."""
    if args.data_dir is not None:
        return Path(args.data_dir)
    return Folders.for_user(getattr(args, "home", None)).data


def server_address(text: str) -> str:
    """The server's address as typed, refused (usage error) without ``http://`` or ``https://``:
    a bare ``host:port`` would otherwise be read as a URL scheme and fail later as "offline"."""
    address = text.strip().rstrip("/")
    scheme, sep, rest = address.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest:
        raise argparse.ArgumentTypeError(
            f"{text!r} needs http:// or https:// in front, e.g. http://{rest or address}")
    return address


NOT_PAIRED = ("this data folder is not paired with a server: run "
              "`scanner-app pair --server URL --code CODE` first")
DAMAGED = ("the door database in {folder} cannot be read ({reason}). Move the folder aside "
           "(mv {folder} {folder}.damaged) and pair this door again: its tickets download anew, "
           "and scans it had not uploaded stay in the moved folder")


NO_DISPLAY = ("scanner-app: there is no display to open the door window on (no DISPLAY or "
              "WAYLAND_DISPLAY). On a machine without a screen use the headless commands: "
              "pair, sync, check, lookup, status (scanner-app --help). To draw off-screen "
              "anyway, set QT_QPA_PLATFORM=offscreen.")


def has_display(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt can open a window: always on Windows and macOS; on Linux only with an X11 or
    Wayland display, or a platform plugin chosen on purpose (``QT_QPA_PLATFORM``). Without this
    check Qt dies with a message about a missing ``xcb-cursor0`` library."""
    if not platform.startswith("linux"):
        return True
    return any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scanner-app", description="SteppersLife door scanner.",
        epilog="With no command, the door window opens.",
    )
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data folder (default: the user data folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installed copy (window offscreen, both decoders, an "
                             "encrypted scratch database), print versions as JSON, exit 0 or 1")
    add_gui_arguments(parser)  # the window's options (--camera, --decoder, --kiosk, --home)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    pair = sub.add_parser("pair", help="pair this door with a server")
    pair.add_argument("--server", required=True, type=server_address,
                      help="server address with its scheme, e.g. https://tix.example "
                           "or http://127.0.0.1:5000")
    pair.add_argument("--code", required=True,
                      help="the one-time pairing code (10 letters and digits, e.g. K7QM3XWT2P) "
                           "from `sync-server pair-device` or the organizer's API")

    sub.add_parser("sync", help="upload queued scans, then download door data")

    check = sub.add_parser("check", help="decide on one ticket code and record it")
    what = check.add_mutually_exclusive_group(required=True)
    what.add_argument("--payload", help="the code's text")
    what.add_argument("--image", type=Path, help="a picture holding the QR code")
    check.add_argument("--door", default=None, help="door name (default: this door's)")
    check.add_argument("--exit", action="store_true", help="record an exit, not an entry")

    lookup = sub.add_parser("lookup", help="find tickets by name, email, order or ticket number")
    lookup.add_argument("text")
    lookup.add_argument("--limit", type=int, default=20)

    sub.add_parser("status", help="tickets cached, scans queued, last sync, conflicts")
    cli_sell.add_commands(sub)  # the box office: sell, sales, void, reprint, return-stock
    return parser


def _json_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _print(data: object) -> None:
    print(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2))


def _decode_image(path: Path) -> list[str]:
    """QR texts found in an image file, by the first decoder that finds any."""
    from scanner_app.hardware.imaging import read_gray

    frame = read_gray(path)
    if frame is None:
        raise ValueError(f"cannot read an image from {path}")
    from scanner_app.hardware.decoders import available_decoders

    for decoder in available_decoders().values():
        found = decoder.decode(frame)
        if found:
            return found
    return []


def _http_client(server_url: str) -> Any:
    import httpx

    return httpx.Client(base_url=server_url, timeout=httpx.Timeout(30.0, connect=5.0))


def _run(args: argparse.Namespace) -> int:
    from scanner_app.core.door import Door
    from scanner_app.core.sync import SyncEngine, SyncError, pair
    from shared.protocol import Direction

    data_dir = data_dir_for(args)
    if args.command in cli_sell.COMMANDS:
        return cli_sell.run(args, data_dir, _print)

    if args.command == "pair":
        with _http_client(args.server) as client:
            try:
                answer = pair(client, data_dir, args.code)
            except SyncError as exc:
                _print({"paired": False, "error": exc.code, "message": exc.message})
                return 1
        _print({"paired": True, "server": args.server, "device_id": answer.device_id,
                "device_name": answer.device_name, "event_ids": list(answer.event_ids)})
        return 0

    if args.command == "check":
        if args.image is not None:
            texts = _decode_image(args.image)
            if not texts:
                _print({"decoded": False, "error": "no QR code found in the image"})
                return 1
            payload, source = texts[0], "image"
        else:
            payload, source = args.payload, "cli"

    door = Door.open(data_dir)
    try:
        identity = door.store.identity()
        if identity is None or not identity.paired:
            # Nothing to check against: a verdict here would be a made-up "wrong event".
            _print({"error": "not_paired", "message": NOT_PAIRED})
            return 1
        if args.command == "sync":
            with _http_client(identity.server_url) as client:
                try:
                    report = SyncEngine(door.store, client).sync_once()
                except SyncError as exc:
                    _print({"synced": False, "error": exc.code, "message": exc.message})
                    return 1
            _print({"synced": True, **report.to_json(), "box_office": _desk_refresh(data_dir)})
            return 0
        if args.command == "check":
            verdict = door.check(payload, door=args.door or door.door_name, source=source,
                                 direction=Direction.EXIT if args.exit else Direction.ENTRY)
            _print({**asdict(verdict), "colour": verdict.colour.value,
                    "admitted": verdict.admitted})
            return 0
        if args.command == "lookup":
            _print([asdict(row) for row in door.lookup(args.text, args.limit)])
            return 0
        if args.command == "status":
            info = door.store.sync_info()
            _print({
                **asdict(door.status()),
                "last_error": info.last_error,
                "clock_skew_seconds": info.clock_skew_seconds,
                "server": identity.server_url,
                "device_id": identity.device_id,
                "door": door.door_name,
                "events": [{"event_id": e.event_id, "name": e.name} for e in door.events()],
                "conflict_list": [c.to_json() for c in door.conflicts()],
            })
            return 0
    finally:
        door.close()
    return 2


def _desk_refresh(data_dir: Path) -> dict[str, object] | None:
    """After a door sync, the box office's: upload offline sales, tiers, stock (None: no
    box office on this device's server)."""
    from scanner_app.core.desk import open_desk

    desk = open_desk(data_dir)
    if desk is None:
        return None
    try:
        return desk.refresh().to_json()
    finally:
        desk.close()


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("scanner_app").critical("uncaught exception", exc_info=(kind, value, tb))
    sys.__excepthook__(kind, value, tb)


def main(argv: list[str] | None = None) -> int:
    sys.excepthook = _log_uncaught  # first: nothing after this dies without a log line
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from scanner_app import self_test

        code = self_test.run()
        if argv is None:  # this process is the command (a test passes its own argv): end it
            self_test.end_process(code)
        return code
    if args.command is None:
        if not has_display():
            print(NO_DISPLAY, file=sys.stderr)
            return 1
        # The window, imported only when wanted (Qt is heavy).
        app = importlib.import_module("scanner_app.app")
        return int(app.main(args) or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from sqlalchemy.exc import DatabaseError

    from scanner_app.storage.database import UnreadableDatabase

    try:
        return _run(args)
    except UnreadableDatabase as exc:
        print(f"scanner-app: {exc}", file=sys.stderr)
        return 1
    except DatabaseError as exc:
        reason = str(exc.orig) if exc.orig is not None else type(exc).__name__
        print(f"scanner-app: {DAMAGED.format(folder=data_dir_for(args), reason=reason)}",
              file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"scanner-app: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
