"""The ICU data trim: the real Qt ICU library, trimmed, still serves what Qt asks of it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import PySide6
import pytest

from scripts.icu_data import keep, read_items, trim_library, write_package

QT_LIB = Path(PySide6.__file__).parent / "Qt" / "lib"
ICU_DATA = sorted(QT_LIB.glob("libicudata.so.*"))

pytestmark = pytest.mark.skipif(not ICU_DATA or shutil.which("ld") is None,
                                reason="needs PySide6's ICU and binutils")

PROBE = """
import functools, json, sys
from PySide6.QtCore import QCollator, QLocale, QStringDecoder
collator = QCollator(QLocale("en_US"))
by_collator = functools.cmp_to_key(collator.compare)
words = sorted(["zebra", "Emile", "apple", "éclair", "Apple"], key=by_collator)
maps = [line.split()[-1] for line in open("/proc/self/maps") if "libicudata" in line]
print(json.dumps({"sorted": words, "upper": QLocale("en_US").toUpper("straße"),
                  "cp1252": QStringDecoder("windows-1252").isValid(),
                  "shift_jis": QStringDecoder("Shift_JIS").isValid(), "maps": sorted(set(maps))}))
"""


def test_keep_rules() -> None:
    assert keep("coll/ucadata.icu") and keep("coll/root.res") and keep("coll/en_GB.res")
    assert not keep("coll/fr.res") and not keep("zone/zh_Hant.res") and not keep("ksh.res")
    assert keep("supplementalData.res") and keep("zoneinfo64.res") and keep("pool.res")
    assert keep("brkitr/line.brk") and not keep("brkitr/thaidict.dict")
    assert keep("ibm-5348_P100-1997.cnv") and not keep("ibm-943_P15A-2003.cnv")
    assert not keep("windows-936-2000.cnv") and not keep("translit/root.res")
    assert keep("uprops.icu") and keep("cnvalias.icu") and keep("nfc.nrm")


def test_a_package_rewritten_with_every_item_reads_back_the_same(tmp_path: Path) -> None:
    library = tmp_path / ICU_DATA[0].name
    shutil.copy2(ICU_DATA[0], library)
    data = library.read_bytes()
    start = data.index(b"\xda\x27") - 2  # the package header's magic follows its size
    header, items = read_items(data[start:])
    assert len(items) > 1000 and items == sorted(items, key=lambda item: item[0])
    again = write_package(header, items)
    assert read_items(again) == (header, items)


def test_trimmed_library_is_small_and_qt_still_sorts_and_converts(tmp_path: Path) -> None:
    library = tmp_path / ICU_DATA[0].name
    shutil.copy2(ICU_DATA[0], library)
    saved = trim_library(library)
    assert library.stat().st_size < 8_000_000 and saved > 20_000_000
    env = {**os.environ, "LD_LIBRARY_PATH": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found["maps"] == [str(library)]  # the trimmed copy is the one Qt's ICU loaded
    assert found["sorted"] == ["apple", "Apple", "éclair", "Emile", "zebra"]
    assert found["upper"] == "STRASSE"
    assert found["cp1252"] is True
    assert found["shift_jis"] is False  # East Asian converters are what was left out
