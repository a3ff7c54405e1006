"""The door app as shipped: build the .deb (``make package``), unpack it with ``dpkg -x`` into a
scratch root, and run the installed copy: its self-test, then pair with a real server process,
sync and admit one ticket by its text and one from a picture, as a door would on the night.

The build takes minutes: ``scripts.package.ensure_built`` reuses the one in ``dist/`` when it is
newer than every source, so only the first run after a change pays for it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scripts import package
from shared.qr import render_png
from sync_server.door.models import DoorScan
from tests.e2e.conftest import ServerProcess, Stage, server, stage  # noqa: F401 (fixtures)
from tests.scanner_core.real_server import ticket_token

# Builds the package (minutes) unless dist/ is newer than the sources. `make test` hands a module
# to one worker (--dist loadscope), so a second worker never sits waiting on the build's lock.
pytestmark = pytest.mark.slow
TIMEOUT = 120


@pytest.fixture(scope="module")
def built() -> package.Built:
    return package.ensure_built(reuse=True)


@pytest.fixture(scope="module")
def installed(built: package.Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The package's files under a scratch root, as ``dpkg -i`` would place them under /."""
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg", "-x", str(built.deb), str(root)], check=True, timeout=TIMEOUT)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def installed_app(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The installed copy only: no PYTHONPATH, no virtualenv, and a working folder outside the tree.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("SYNC_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run([str(root / "usr" / "bin" / "scanner-app"), *args], env=env,
                          cwd=root, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def json_of(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, (done.args, done.stdout, done.stderr[-3000:])
    return json.loads(done.stdout)


def test_the_deb_declares_its_files_dependencies_and_checksums(built: package.Built) -> None:
    fields = subprocess.run(["dpkg-deb", "-f", str(built.deb), "Package", "Version", "Depends"],
                            check=True, capture_output=True, text=True).stdout
    assert "Package: stepperslife-door" in fields
    assert f"Version: {built.version}" in fields
    for debian_package in ("libzbar0", "libpulse0", "libxcb-cursor0", "libegl1"):
        assert debian_package in fields
    listing = subprocess.run(["dpkg-deb", "-c", str(built.deb)], check=True,
                             capture_output=True, text=True).stdout
    assert "./usr/bin/scanner-app -> ../../opt/stepperslife-door/scanner-app" in listing
    assert "./usr/share/applications/stepperslife-door.desktop" in listing
    assert "./usr/share/icons/hicolor/256x256/apps/stepperslife-door.png" in listing
    assert "QtWebEngine" not in listing and "/translations/" not in listing
    # issue 18: no OpenCV (cameras open through Qt Multimedia), no Pillow, and under 200 MB
    assert "/cv2/" not in listing and "opencv" not in listing and "/PIL/" not in listing
    installed_kib = int(subprocess.run(["dpkg-deb", "-f", str(built.deb), "Installed-Size"],
                                       check=True, capture_output=True, text=True).stdout)
    assert installed_kib * 1024 <= 200_000_000, f"{installed_kib} KiB installed"
    for artifact in (built.deb, built.tarball):
        subprocess.run(["sha256sum", "--check", "--quiet", f"{artifact.name}.sha256"],
                       cwd=artifact.parent, check=True)


def test_the_installed_copy_passes_its_self_test(installed: Path, built: package.Built) -> None:
    report = json_of(installed_app(installed, "--self-test"))
    assert report["ok"] is True and report["frozen"] is True
    assert report["decode"]["ok"] and report["data"]["ok"] and report["window"]["ok"]
    assert report["camera"]["ok"] and "media backend loaded" in report["camera"]["detail"]
    assert report["versions"]["app"] == built.version
    assert report["versions"]["sqlcipher"].startswith("4.")
    assert not report["versions"]["zbar"].startswith("missing")


def test_the_installed_copy_pairs_syncs_and_admits_a_ticket(
    installed: Path, stage: Stage, tmp_path: Path  # noqa: F811
) -> None:
    data = str(tmp_path / "door")
    paired = json_of(installed_app(installed, "--data-dir", data, "pair", "--server",
                                   stage.server.url, "--code", stage.pairing_code("Installed")))
    assert paired["paired"] is True and paired["event_ids"] == [stage.event.id]
    assert json_of(installed_app(installed, "--data-dir", data, "sync"))["tickets"] == 30

    ticket = stage.tickets[0]
    verdict = json_of(installed_app(installed, "--data-dir", data, "check", "--payload",
                                    ticket_token(ticket)))
    assert verdict["code"] == "admit" and verdict["ticket_id"] == ticket.id
    # a second ticket from a picture: the installed copy reads images without OpenCV
    pictured = stage.tickets[1]
    png = tmp_path / "ticket.png"
    png.write_bytes(render_png(ticket_token(pictured)))
    verdict = json_of(installed_app(installed, "--data-dir", data, "check", "--image", str(png)))
    assert verdict["code"] == "admit" and verdict["ticket_id"] == pictured.id
    assert json_of(installed_app(installed, "--data-dir", data, "sync"))["uploaded"] == 2
    stage.session.expire_all()
    scans = stage.session.scalars(sa.select(DoorScan.ticket_id)).all()
    assert sorted(scans) == sorted([ticket.id, pictured.id])
