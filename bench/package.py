# ruff: noqa: E402  (sys.path must be fixed before the project imports: see below)
"""The door app's package: build time, package sizes, installed size, start-to-ready.

Run: ``.venv/bin/python bench/package.py [--rebuild] [--runs 5]``. Without ``--rebuild`` the
build in ``dist/`` is reused when it is newer than every source (its recorded build time is
printed then). The .deb is unpacked with ``dpkg -x`` into a scratch root; the installed copy's
``scanner-app --self-test`` is run beside the same command from the source tree, in alternating
runs. Start to ready is the report's ``start_to_ready_seconds``: from the process's start (the
kernel's start time, /proc) to what a door needs before its first scan done (an encrypted
scratch door database created and migrated with the scan path loaded, the window shown
offscreen, both decoders reading the sample QR); the camera backend and printing are checked
after it, as the door loads them after its window. Also printed: the CPU to ready (moves far
less with the machine's load than the wall time) and the whole command to its exit.
Targets (issue #18): installed <= 200 MB, start to ready <= 2 s.
"""

from __future__ import annotations

import os
import sys

# Run as a script, bench/ comes first on sys.path (bench/token.py shadows the stdlib): fix it.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts import package

MB = 1_000_000


@dataclass
class Runs:
    ready: list[float] = field(default_factory=list)  # the report's start_to_ready_seconds
    ready_cpu: list[float] = field(default_factory=list)
    command: list[float] = field(default_factory=list)  # wall, the whole command to its exit

    def add(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=120)
        self.command.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{command[0]} --self-test failed:\n{done.stdout}{done.stderr}")
        report = json.loads(done.stdout)
        self.ready.append(report["start_to_ready_seconds"])
        self.ready_cpu.append(report["start_to_ready_cpu_seconds"])

    def line(self, what: str) -> str:
        med = statistics.median
        return (f"{what}: start to ready {med(self.ready):.2f} s (min {min(self.ready):.2f}), "
                f"CPU {med(self.ready_cpu):.2f} s; whole command {med(self.command):.2f} s "
                f"(min {min(self.command):.2f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="build even if dist/ is fresh")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    built = package.ensure_built(reuse=not args.rebuild)
    print(f"build (PyInstaller + strip + .deb + tarball): {built.build_seconds:.0f} s")
    print(f"bundle folder: {built.bundle_bytes / MB:.0f} MB")
    print(f".deb: {built.deb_bytes / MB:.0f} MB   tarball: {built.tarball_bytes / MB:.0f} MB")

    with tempfile.TemporaryDirectory(prefix="door-package-bench-") as scratch:
        root = Path(scratch) / "root"
        subprocess.run(["dpkg", "-x", str(built.deb), str(root)], check=True)
        installed = package.folder_bytes(root)
        print(f"installed (dpkg -x): {installed / MB:.0f} MB   (target <= 200 MB)")

        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["QT_QPA_PLATFORM"] = "offscreen"
        source_env = {**env, "PYTHONPATH": str(package.ROOT)}
        frozen, source = Runs(), Runs()
        load = os.getloadavg()[0]
        for _ in range(args.runs):  # alternating, so both see the same machine load
            frozen.add([str(root / "usr/bin/scanner-app"), "--self-test"], env, root)
            source.add([sys.executable, "-m", "scanner_app", "--self-test"], source_env,
                       package.ROOT)
    print(f"medians of {args.runs}, load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    print(frozen.line("installed copy") + "   (target: start to ready <= 2 s)")
    print(source.line("source tree"))
    ratio = statistics.median(frozen.ready) / statistics.median(source.ready)
    print(f"ratio installed / source (start to ready): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
