"""Trim Qt's ICU data library (``libicudata.so.73``, 32 MB) to what an English door app uses.

Why: ICU's data is the largest single file in the door package (docs/packaging.md). Qt only
reaches into it for collation (``QCollator``), locale-aware case mapping, time-zone names and
non-UTF text encodings; its own ``QLocale`` data is compiled into QtCore. The door's UI is English,
so the data for other locales (their names of languages, currencies, units, zones, their
collation tailorings), the dictionaries that break Thai/Khmer/Lao/Burmese/CJK text into words,
transliterators, and the East Asian and EBCDIC converters can go: ICU falls back to its root locale
for anything missing, as it does for a locale it never had.

How: the library is one symbol, ``icudt73_dat``, holding an ICU "common data" package: a header,
a table of contents (item count, then name and data offsets, sorted by name) and the items. The
package is rewritten with the kept items, then assembled back into a shared library with the same
soname and symbol (``as`` and ``ld``, from binutils, which the build needs already).
"""

from __future__ import annotations

import logging
import re
import struct
import subprocess
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

# Locales kept: root and English (every region: they are small), the door UI's language.
KEPT_LOCALE = re.compile(r"^(root|en(_[A-Za-z0-9]+)*|pool|res_index)$")
# Locale trees, one .res per locale; only KEPT_LOCALE ones stay.
LOCALE_TREES = frozenset({"", "coll", "curr", "lang", "region", "unit", "zone", "rbnf"})
# Non-locale items of a tree that stay whatever their name (data every locale shares).
# Converters kept: the Western single-byte code pages; UTF-8/16/32, ASCII and Latin-1 are
# built into ICU and need no file.
KEPT_CONVERTER = re.compile(r"^(ibm-(5346|5347|5348|5349|5350|5351|5352|5353|5354|912|913|914|915|"
                            r"1089|920|921|923|878|1168)_|iso-8859_|windows-(?!9\d\d)|macos-)")
ALIGN = 16


def keep(name: str) -> bool:
    """Whether the item ``name`` (``icudt73l/coll/fr.res``, without the package prefix) stays."""
    tree, _, leaf = name.rpartition("/")
    stem, _, suffix = leaf.rpartition(".")
    if tree == "brkitr":
        return suffix != "dict"  # break rules stay; only the word dictionaries go
    if tree == "translit":
        return False  # Qt never transliterates
    if suffix == "cnv":
        return bool(KEPT_CONVERTER.match(leaf))
    if tree in LOCALE_TREES and suffix == "res":
        return bool(KEPT_LOCALE.match(stem)) or not re.match(r"^[a-z]{2,3}(_|$)", stem)
    return True


def read_items(package: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The package's header and its (name, data) items, in table order."""
    header_size = struct.unpack_from("<H", package, 0)[0]
    if package[2:4] != b"\xda\x27":
        raise ValueError("not an ICU data package (bad magic)")
    count = struct.unpack_from("<I", package, header_size)[0]
    entries = [struct.unpack_from("<II", package, header_size + 4 + 8 * i) for i in range(count)]
    starts = [header_size + data for _name, data in entries] + [len(package)]
    items = []
    for index, (name_offset, _data) in enumerate(entries):
        name_start = header_size + name_offset
        name = package[name_start:package.index(b"\0", name_start)].decode("ascii")
        items.append((name, package[starts[index]:starts[index + 1]]))
    return package[:header_size], items


def write_package(header: bytes, items: list[tuple[str, bytes]]) -> bytes:
    """An ICU common data package of ``items`` (already sorted, as ICU's binary search needs)."""
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in items)
    table_size = 4 + 8 * len(items)
    data_start = -(-(table_size + len(names)) // ALIGN) * ALIGN
    table = bytearray(struct.pack("<I", len(items)))
    body = bytearray()
    name_offset = table_size
    for name, data in items:
        table += struct.pack("<II", name_offset, data_start + len(body))
        name_offset += len(name) + 1
        body += data + b"\0" * (-len(data) % ALIGN)
    toc = bytes(table) + names
    return header + toc + b"\0" * (data_start - len(toc)) + bytes(body)


def _symbol(library: Path) -> tuple[str, int, int]:
    """(name, file offset, size) of the library's ``icudt*_dat`` symbol."""
    symbols = subprocess.run(["readelf", "-s", "-W", str(library)], check=True,
                             capture_output=True, text=True).stdout
    found = re.search(r"\s([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+OBJECT\s+GLOBAL\s+\S+\s+(\d+)\s+"
                      r"(icudt\d+_dat)$", symbols, re.M)
    if found is None:
        raise ValueError(f"{library.name} has no icudt*_dat symbol")
    address, size, section = int(found.group(1), 16), int(found.group(2), 0), found.group(3)
    sections = subprocess.run(["readelf", "-S", "-W", str(library)], check=True,
                              capture_output=True, text=True).stdout
    line = re.search(rf"^\s*\[\s*{section}\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)", sections,
                     re.M)
    if line is None:
        raise ValueError(f"{library.name}: section {section} not found")
    offset = int(line.group(2), 16) + address - int(line.group(1), 16)
    return found.group(4), offset, size


def _soname(library: Path) -> str:
    out = subprocess.run(["objdump", "-p", str(library)], check=True, capture_output=True,
                         text=True).stdout
    found = re.search(r"^\s+SONAME\s+(\S+)$", out, re.M)
    return found.group(1) if found else library.name


def trim_library(library: Path) -> int:
    """Rewrite ``library`` with the kept items only; the bytes saved."""
    symbol, offset, size = _symbol(library)
    header, items = read_items(library.read_bytes()[offset:offset + size])
    prefix = items[0][0].split("/", 1)[0] + "/" if items else ""
    kept = [(name, data) for name, data in items if keep(name.removeprefix(prefix))]
    package = write_package(header, kept)
    before = library.stat().st_size
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "data.dat").write_bytes(package)
        (work / "data.s").write_text(
            f'\t.section .rodata\n\t.globl {symbol}\n\t.type {symbol}, @object\n'
            f'\t.balign 16\n{symbol}:\n\t.incbin "data.dat"\n\t.size {symbol}, .-{symbol}\n'
            '\t.section .note.GNU-stack,"",@progbits\n'
        )
        subprocess.run(["as", "-o", "data.o", "data.s"], cwd=work, check=True)
        subprocess.run(["ld", "-shared", "-soname", _soname(library), "-o", "out.so", "data.o"],
                       cwd=work, check=True)
        (work / "out.so").replace(library)
    library.chmod(0o755)
    logger.info("ICU data: %d of %d items kept, %.1f -> %.1f MB", len(kept), len(items),
                before / 1e6, library.stat().st_size / 1e6)
    return before - library.stat().st_size


def trim_icu_data(bundle: Path) -> int:
    """Trim every ``libicudata.so.*`` in ``bundle`` (symlinks followed once); bytes saved."""
    saved = 0
    for library in sorted(bundle.rglob("libicudata.so*")):
        if library.is_file() and not library.is_symlink():
            saved += trim_library(library)
    return saved
