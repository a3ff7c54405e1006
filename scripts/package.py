"""``make package``: the door app as a Debian package and a plain tarball, in ``dist/``.

    python -m scripts.package            # always rebuild
    python -m scripts.package --reuse    # keep dist/ when it is newer than every source

Steps: PyInstaller runs ``packaging/door-app.spec`` (one folder, ``build/app/stepperslife-door``);
the folder is staged as ``/opt/stepperslife-door`` with ``/usr/bin/scanner-app``, a desktop entry
and an icon, and ``dpkg-deb --build`` makes the ``.deb``; the same folder is tarred. Each file in
``dist/`` gets a ``.sha256`` beside it (``sha256sum -c`` reads it), and ``dist/package.json``
records the sizes and the build time (``bench/package.py`` prints them).

The .deb's ``Depends`` is read off the bundle itself: every shared library an ELF file in it needs
(``objdump -p``) that the bundle does not carry is looked up with ``ldconfig -p`` and ``dpkg -S``,
as ``dpkg-shlibdeps`` does for Debian's own packages; a library found nowhere stops the build.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from scripts.icu_data import trim_icu_data

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "door-app.spec"
ICON = ROOT / "packaging" / "stepperslife-door.png"
BUILD = ROOT / "build"
DIST = ROOT / "dist"
NAME = "stepperslife-door"
PREFIX = Path("opt") / NAME
# Loaded with ctypes (pyzbar) or by Qt at run time, so no ELF file names them: declared by hand.
RUNTIME_DEPENDS = ("libzbar0", "libpulse0", "libgl1", "libegl1", "libxkbcommon0",
                   "libxkbcommon-x11-0", "libfontconfig1", "libdbus-1-3", "libglib2.0-0",
                   "libxcb-cursor0")
SOURCES = ("scanner_app", "shared", "resources", "packaging", "scripts/package.py",
           "scripts/icu_data.py",
           "pyproject.toml", "constraints.txt")
DESKTOP_ENTRY = """\
[Desktop Entry]
Type=Application
Name=SteppersLife Door
GenericName=Ticket scanner
Comment=Scan and check in tickets at the door, online or offline
Exec=scanner-app
Icon=stepperslife-door
Terminal=false
Categories=Office;
StartupWMClass=scanner-app
"""


class PackageError(RuntimeError):
    """The package cannot be built; the message says why."""


@dataclass(frozen=True, slots=True)
class Built:
    version: str
    deb: Path
    tarball: Path
    build_seconds: float
    bundle_bytes: int
    deb_bytes: int
    tarball_bytes: int
    depends: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["deb"], data["tarball"] = self.deb.name, self.tarball.name
        return data


def app_version() -> str:
    text = (ROOT / "scanner_app" / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if found is None:
        raise PackageError("scanner_app/__init__.py has no __version__")
    return found.group(1)


def architecture() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True,
                          text=True).stdout.strip()


def multiarch() -> str:
    return subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True,
                          text=True).stdout.strip() or "x86_64-linux-gnu"


def folder_bytes(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def newest_source() -> float:
    newest = 0.0
    for name in SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()
                                                  and "__pycache__" not in p.parts]
        newest = max([newest, *(p.stat().st_mtime for p in files)])
    return newest


def run_pyinstaller() -> Path:
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--workpath", str(BUILD / "pyinstaller"), "--distpath", str(BUILD / "app"),
               str(SPEC)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise PackageError(f"PyInstaller failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return BUILD / "app" / NAME


def _is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def strip_debug_info(bundle: Path) -> int:
    """Drop the debug sections some wheels ship (libpython, sqlcipher3, sqlalchemy's Cython):
    ~49 MB, and the symbol tables a loader never reads (``--strip-unneeded``: cryptography's
    Rust module, NumPy, ICU, libpython: ~8 MB). Files without either are not touched, and the
    auditwheel-repaired libraries in ``*.libs`` only lose debug sections: rewriting them
    more can break them."""
    saved = 0
    for path in bundle.rglob("*.so*"):
        if path.is_symlink() or not path.is_file() or not _is_elf(path):
            continue
        sections = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True,
                                  text=True).stdout
        repaired = any(part.endswith(".libs") for part in path.relative_to(bundle).parts)
        if ".symtab" in sections and not repaired:
            option = "--strip-unneeded"
        elif ".debug_info" in sections:
            option = "--strip-debug"
        else:
            continue
        before = path.stat().st_size
        subprocess.run(["strip", option, str(path)], check=True)
        saved += before - path.stat().st_size
    return saved


def needed_libraries(bundle: Path) -> set[str]:
    """Shared libraries the bundle's ELF files need and the bundle does not carry."""
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)]
    carried = {p.name for p in bundle.rglob("*")}
    needed: set[str] = set()
    for chunk in range(0, len(files), 200):
        out = subprocess.run(["objdump", "-p", *map(str, files[chunk:chunk + 200])],
                             check=True, capture_output=True, text=True).stdout
        needed.update(re.findall(r"^\s+NEEDED\s+(\S+)$", out, re.M))
    return needed - carried


def debian_packages(libraries: set[str]) -> tuple[str, ...]:
    """The Debian packages holding ``libraries`` (found with ``ldconfig -p``, then ``dpkg -S``)."""
    arch = architecture()
    cache = subprocess.run(["ldconfig", "-p"], check=True, capture_output=True, text=True).stdout
    where: dict[str, str] = {}
    for name, flags, path in re.findall(r"^\s+(\S+) \(([^)]*)\) => (\S+)$", cache, re.M):
        if arch != "amd64" or "x86-64" in flags:
            where.setdefault(name, path)
    for lib in libraries - where.keys():  # a name the loader finds by file, not in the cache
        for folder in ("/lib", "/usr/lib", f"/lib/{multiarch()}", f"/usr/lib/{multiarch()}"):
            if Path(folder, lib).exists():
                where[lib] = str(Path(folder, lib))
                break
    missing = sorted(lib for lib in libraries if lib not in where)
    if missing:
        raise PackageError("the bundle needs libraries this machine lacks, so the .deb cannot "
                           f"name their packages: {', '.join(missing)}")
    packages: set[str] = set()
    for lib in sorted(libraries):
        path = Path(where[lib])
        candidates = {str(path), str(path.resolve())}
        candidates |= {c.removeprefix("/usr") for c in list(candidates)}
        candidates |= {"/usr" + c for c in list(candidates) if not c.startswith("/usr")}
        out = subprocess.run(["dpkg", "-S", *sorted(candidates)], capture_output=True,
                             text=True).stdout
        owners = {line.split(":", 1)[0] for line in out.splitlines() if ": " in line}
        if not owners:
            raise PackageError(f"no Debian package owns {lib} ({path})")
        packages.add(sorted(owners)[0])
    return tuple(sorted(packages | set(RUNTIME_DEPENDS)))


def control_file(version: str, arch: str, installed_kib: int, depends: tuple[str, ...]) -> str:
    return (
        f"Package: {NAME}\nVersion: {version}\nArchitecture: {arch}\n"
        "Maintainer: SteppersLife <ops@stepperslife.com>\nSection: misc\nPriority: optional\n"
        f"Installed-Size: {installed_kib}\nDepends: {', '.join(depends)}\n"
        "Homepage: https://stepperslife.com\n"
        "Description: SteppersLife door scanner and box office\n"
        " Offline-first ticket scanning for dance events: reads ticket QR codes with a camera\n"
        " or a scanner, checks them against an encrypted local copy of the door list, and syncs\n"
        " with the SteppersLife server. `scanner-app --self-test` checks an installation.\n"
    )


def stage(bundle: Path, version: str, arch: str, depends: tuple[str, ...]) -> Path:
    root = BUILD / "deb" / f"{NAME}_{version}_{arch}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(bundle, root / PREFIX, symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "scanner-app").symlink_to(Path("../..") / PREFIX / "scanner-app")
    applications = root / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    (applications / f"{NAME}.desktop").write_text(DESKTOP_ENTRY)
    icons = root / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps"
    icons.mkdir(parents=True)
    shutil.copy2(ICON, icons / f"{NAME}.png")
    for path in [root, *root.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    installed_kib = (folder_bytes(root) + 1023) // 1024
    (root / "DEBIAN").mkdir(mode=0o755)
    (root / "DEBIAN" / "control").write_text(control_file(version, arch, installed_kib, depends))
    return root


def write_checksum(path: Path) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    path.with_name(path.name + ".sha256").write_text(f"{digest.hexdigest()}  {path.name}\n")


def build() -> Built:
    started = time.perf_counter()
    bundle = run_pyinstaller()
    return package_bundle(bundle, started)


def package_bundle(bundle: Path, started: float) -> Built:
    """Strip, stage and pack a frozen folder into dist/ (the steps after PyInstaller)."""
    version, arch = app_version(), architecture()
    logger.info("debug sections and symbol tables stripped: %.1f MB",
                strip_debug_info(bundle) / 1e6)
    logger.info("ICU data trimmed: %.1f MB", trim_icu_data(bundle) / 1e6)
    depends = debian_packages(needed_libraries(bundle))
    root = stage(bundle, version, arch, depends)
    DIST.mkdir(exist_ok=True)
    deb = DIST / f"{NAME}_{version}_{arch}.deb"
    # gzip: xz saves ~15 % more but takes ~8 minutes for 400 MB on two busy cores
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
                   check=True, capture_output=True)
    tarball = DIST / f"{NAME}-{version}-linux-{arch}.tar.gz"
    subprocess.run(["tar", "-C", str(bundle.parent), "--owner=0", "--group=0",
                    f"--transform=s,^{NAME},{NAME}-{version},", "-czf", str(tarball), NAME],
                   check=True)
    for path in (deb, tarball):
        write_checksum(path)
    built = Built(version=version, deb=deb, tarball=tarball,
                  build_seconds=round(time.perf_counter() - started, 1),
                  bundle_bytes=folder_bytes(bundle), deb_bytes=deb.stat().st_size,
                  tarball_bytes=tarball.stat().st_size, depends=depends)
    (DIST / "package.json").write_text(json.dumps(built.to_json(), indent=2) + "\n")
    return built


def reusable() -> Built | None:
    """The build in dist/ when it is newer than every source, else None."""
    record = DIST / "package.json"
    if not record.exists() or record.stat().st_mtime < newest_source():
        return None
    data = json.loads(record.read_text())
    built = Built(**{**data, "deb": DIST / data["deb"], "tarball": DIST / data["tarball"],
                     "depends": tuple(data["depends"])})
    return built if built.deb.exists() and built.tarball.exists() else None


def ensure_built(reuse: bool = True) -> Built:
    """The package in dist/, built unless ``reuse`` and fresh. One build at a time: test
    workers (pytest -n) and a bench started together wait for the first one, then reuse it."""
    BUILD.mkdir(exist_ok=True)
    with (BUILD / "package.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return (reusable() if reuse else None) or build()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.package", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the build in dist/ when it is newer than every source")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        built = ensure_built(reuse=args.reuse)
    except (PackageError, subprocess.CalledProcessError) as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(built.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
