"""The door app's settings: one frozen dataclass, read from a JSON file in the user's config folder.

Folders come from ``platformdirs`` (``STEPPERSLIFE_DOOR_HOME`` puts all three under one folder,
for the demo and the tests). A setting missing or unreadable in the file falls back to its default
with a warning: a corrupt settings file never stops the door.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import logging.handlers
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

logger = logging.getLogger(__name__)

APP_NAME = "stepperslife-door"
HOME_VARIABLE = "STEPPERSLIFE_DOOR_HOME"
SETTINGS_FILE = "settings.json"
LOG_FILE = "door.log"
_HANDLER_NAME = "stepperslife-door"
RESOLUTIONS = ((640, 480), (1280, 720), (1920, 1080))


@dataclass(frozen=True, slots=True)
class Folders:
    config: Path
    data: Path
    logs: Path

    @classmethod
    def for_user(cls, home: str | os.PathLike[str] | None = None) -> Folders:
        home = home or os.environ.get(HOME_VARIABLE)
        if home:
            base = Path(home)
            return cls(base / "config", base / "data", base / "logs")
        return cls(
            Path(platformdirs.user_config_dir(APP_NAME)),
            Path(platformdirs.user_data_dir(APP_NAME)),
            Path(platformdirs.user_log_dir(APP_NAME)),
        )

    def create(self) -> None:
        """Make the three folders, readable by this user only (0700, also if made wider before:
        the data folder holds the guest list, the logs name guests, the config the kiosk PIN)."""
        for folder in (self.config, self.data, self.logs):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            folder.chmod(0o700)


NULLABLE = frozenset({"event_id", "kiosk_pin_hash"})
INTEGER = frozenset({"width", "height", "event_id"})


def _valid(name: str, value: object, default: object) -> bool:
    if value is None:
        return name in NULLABLE
    if isinstance(default, bool):
        return isinstance(value, bool)
    if name in INTEGER:
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    return isinstance(value, str)


@dataclass(frozen=True, slots=True)
class Settings:
    """What the door staff choose in Settings. ``folders`` is where it lives, not saved itself."""

    folders: Folders = field(compare=False)
    camera: str = "0"  # a device index, or a video file / image folder (the stand-in camera)
    width: int = 1280
    height: int = 720
    decoder: str = "auto"  # "auto" picks the backend by measurement
    door: str = "Main entrance"
    event_id: int | None = None
    kiosk_pin_hash: str | None = None
    sound: bool = True

    @property
    def path(self) -> Path:
        return self.folders.config / SETTINGS_FILE

    @classmethod
    def load(cls, folders: Folders | None = None) -> Settings:
        folders = folders or Folders.for_user()
        path = folders.config / SETTINGS_FILE
        values: dict[str, Any] = {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            values = raw
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            logger.warning("settings file %s is unreadable (%s): using defaults", path, exc)
        defaults = cls(folders)
        known: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "folders" or f.name not in values:
                continue
            value = values[f.name]
            if _valid(f.name, value, getattr(defaults, f.name)):
                known[f.name] = value
            else:
                logger.warning("setting %s=%r is not valid: using the default", f.name, value)
        return dataclasses.replace(defaults, **known)

    def save(self) -> None:
        """Write atomically (temporary file, then rename): a crash never leaves half a file."""
        self.folders.create()
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del data["folders"]
        fd, tmp = tempfile.mkstemp(dir=self.folders.config, prefix=".settings-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
        os.replace(tmp, self.path)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def configure_logging(folders: Folders, level: int = logging.INFO) -> Path:
    """Log to a rotating file in the user's log folder (5 x 1 MB) and to stderr for warnings."""
    folders.create()
    path = folders.logs / LOG_FILE
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
            handler.close()
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for handler in (file_handler, console):
        handler.set_name(_HANDLER_NAME)  # so a second call replaces, never doubles, our handlers
        root.addHandler(handler)
    return path


def add_gui_arguments(parser: argparse.ArgumentParser) -> None:
    """The window's options, for ``scanner_app.cli`` to add to its top-level parser.

    Here, not in ``app.py``, so the CLI can add them without importing Qt.
    """
    parser.add_argument(
        "--camera",
        help="camera number, or a video file / image folder to play as a stand-in camera",
    )
    parser.add_argument(
        "--decoder", choices=["auto", "zxing-cpp", "pyzbar"], help="QR decoder backend"
    )
    parser.add_argument("--kiosk", action="store_true", help="start in kiosk mode")
    parser.add_argument(
        "--home",
        type=Path,
        help=f"keep settings, data and logs under this folder (${HOME_VARIABLE})",
    )
