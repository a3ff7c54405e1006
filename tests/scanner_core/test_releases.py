"""Which door-app version counts as newer (scanner_app.core.releases)."""

from __future__ import annotations

import pytest

from scanner_app.core.releases import newer_release


@pytest.mark.parametrize(("latest", "running", "told"), [
    ("0.2.0", "0.1.0", "0.2.0"),
    ("0.10.0", "0.9.3", "0.10.0"),  # numbers, not text: 10 > 9
    ("1.0", "0.9", "1.0"),
    ("v1.2.0", "1.1.9", "v1.2.0"),
    ("1.2.0rc1", "1.1", "1.2.0rc1"),
    (" 2.0.0 ", "1.0.0", "2.0.0"),
    ("0.1.0", "0.1.0", None),  # the same
    ("0.1", "0.1.0", None),  # the same, written shorter
    ("0.1.0", "0.2.0", None),  # older: a server behind its doors says nothing useful
    ("", "0.1.0", None),  # an older server: nothing to tell
    ("soon", "0.1.0", None),  # unreadable: never nag
    ("0.2.0", "dev", None),
])
def test_newer_release(latest: str, running: str, told: str | None) -> None:
    assert newer_release(latest, running) == told
