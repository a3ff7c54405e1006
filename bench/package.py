# ruff: noqa: E402  (sys.path must be fixed before the project imports: see below)
"""The door app's package: build time, package sizes, installed size, start-to-ready.

Run: ``.venv/bin/python bench/package.py [--rebuild] [--runs 5]``. Without ``--rebuild`` the
build in ``dist/`` is reused when it is newer than every source (its recorded build time is
printed then). The .deb is unpacked with ``dpkg -x`` into a scratch root; the installed copy's
``scanner-app --self-test`` is timed from process start to its report (window shown offscreen,
both decoders and an encrypted scratch database working: more than the window needs before the
first scan), beside the same command from the source tree, in alternating runs.
Targets (issue #18): installed <= 200 MB, start to ready <= 2 s.
"""

from __future__ import annotations

import os
import sys

# Run as a script, bench/ comes first on sys.path (bench/token.py shadows the stdlib): fix it.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from scripts import package

MB = 1_000_000


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} --self-test failed:\n{done.stdout}{done.stderr}")
    return elapsed


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
        frozen: list[float] = []
        source: list[float] = []
        for _ in range(args.runs):  # alternating, so both see the same machine load
            frozen.append(timed([str(root / "usr/bin/scanner-app"), "--self-test"], env, root))
            source.append(timed([sys.executable, "-m", "scanner_app", "--self-test"], source_env,
                                package.ROOT))
    print(f"start to ready, installed copy (median of {args.runs}): "
          f"{statistics.median(frozen):.2f} s (min {min(frozen):.2f})   (target <= 2 s)")
    print(f"start to ready, source tree (median of {args.runs}): "
          f"{statistics.median(source):.2f} s (min {min(source):.2f})")
    print(f"ratio installed / source: {statistics.median(frozen) / statistics.median(source):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
