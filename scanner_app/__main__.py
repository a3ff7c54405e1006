"""``python -m scanner_app``: the same as ``scanner-app`` (``scanner_app.cli.main``).

Start-up order, the same from either entry point: the exception hook first (so nothing dies
silently), then the arguments; with no command the window (``scanner_app.app.main``) loads the
config, sets up logging, opens and migrates the door database, and only then starts Qt.
"""

from __future__ import annotations

from scanner_app.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
