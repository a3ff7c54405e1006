"""``scanner-app`` starts in order: exception hook, config, logging, the door database, then Qt."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    import scanner_app.app as app
    from scanner_app import cli

    opened = app.open_paired_door

    def probe(data):
        paired = opened(data)  # the real door database, opened and migrated
        logs = list(Path(sys.argv[1], "logs").glob("*.log"))
        print("hook", sys.excepthook is cli._log_uncaught)
        print("logging", bool(logs))
        print("paired", paired is not None)
        print("qt", QApplication.instance() is not None)
        raise SystemExit(0)

    app.open_paired_door = probe
    sys.exit(cli.main(["--home", sys.argv[1]]))
    """
)


def test_the_door_database_opens_after_logging_and_before_qt(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "STEPPERSLIFE_DOOR_NO_KEYRING": "1"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "hook", "True", "logging", "True", "paired", "False", "qt", "False"
    ]
    assert list((tmp_path / "data").rglob("*.sqlite3"))  # the database exists, migrated
