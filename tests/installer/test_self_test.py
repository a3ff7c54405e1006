"""``scanner-app --self-test`` from the source tree: every check passes here, and a broken part
is named in words with exit status 1 (the installed copy is tested in test_package.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner_app import cli, self_test

REPO = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = cli.main(["--self-test"])
    return code, json.loads(capsys.readouterr().out)


def test_every_check_passes_and_versions_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run(capsys)
    assert code == 0 and report["ok"] is True and report["frozen"] is False
    versions = report["versions"]
    assert isinstance(versions, dict)
    assert set(versions) >= {"app", "qt", "pyside6", "numpy", "zxing_cpp", "zbar", "sqlcipher"}
    assert versions["sqlcipher"].startswith("4.")
    camera = report["camera"]  # the camera backend (Qt Multimedia's FFmpeg) is there
    assert isinstance(camera, dict) and camera["ok"] is True, camera
    assert "media backend loaded" in camera["detail"]
    printed = report["print"]  # the box office's tickets: Qt print support is there
    assert isinstance(printed, dict) and printed["ok"] is True and "80 mm" in printed["detail"]
    # how long each check took, and the start to ready figure (bench/package.py prints it)
    assert all(isinstance(report[name]["seconds"], float)  # type: ignore[index]
               for name in self_test.CHECKS)
    started = report["start_to_ready_seconds"]
    assert isinstance(started, float) and started > 0
    cpu = report["start_to_ready_cpu_seconds"]
    assert isinstance(cpu, float) and cpu > 0
    # ready (database, window, decoders) comes before the camera and print checks
    assert list(self_test.READY_CHECKS) == ["data", "window", "decode"]
    reported = report["start_to_report_seconds"]
    assert isinstance(reported, float) and reported >= started


def test_the_command_ends_right_after_a_whole_report(tmp_path: Path) -> None:
    """As a program, the self-test ends without the interpreter's teardown (end_process): the
    report must still arrive whole, and the exit status be the report's."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "scanner_app", "--self-test"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"] is True, done.stdout + done.stderr
    assert report["frozen"] is False and report["versions"]["app"]


def test_a_missing_sample_fails_with_its_name_and_the_rest_still_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(self_test, "resource_path", lambda *parts: tmp_path.joinpath(*parts))
    code, report = run(capsys)
    assert code == 1 and report["ok"] is False
    decode = report["decode"]
    assert isinstance(decode, dict) and decode["ok"] is False
    assert self_test.SAMPLE_NAME in decode["reason"]
    data = report["data"]
    assert isinstance(data, dict) and data["ok"] is True


def test_the_sample_holds_no_ticket() -> None:
    from shared.ticket_token import Reason, read_claims

    assert read_claims(self_test.SAMPLE_TEXT).reason is Reason.MALFORMED
