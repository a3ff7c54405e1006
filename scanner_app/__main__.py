"""``python -m scanner_app``: the same as ``scanner-app``.

Start-up order: exception hook first (so nothing dies silently), then the CLI, which loads the
config, sets up logging, opens (and migrates) the door database and only then starts Qt.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("scanner_app").critical("uncaught exception", exc_info=(kind, value, tb))
    sys.__excepthook__(kind, value, tb)


def run() -> int:
    sys.excepthook = _log_uncaught
    from scanner_app.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
