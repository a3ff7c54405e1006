"""Every page test ends a visit with ``look(page, name)``: a screenshot kept in
``tests/artifacts/`` and an accessibility check with axe-core that fails the test on any serious
or critical violation.

axe-core is vendored (``vendor/axe-<version>.min.js``, from the npm registry: see
``vendor/README.md``) and run through Playwright's ``evaluate``, which the page's content security
policy does not apply to, so pages keep their "scripts from self only" policy under test.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Error, Locator, Page

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
AXE = Path(__file__).with_name("vendor") / "axe-4.14.1.min.js"
FAILING_IMPACTS = frozenset({"serious", "critical"})
# Chromium now and then refuses one capture ("Unable to capture screenshot", a compositor
# hiccup, seen once in ~1,300 screenshots on a loaded CI host) and takes the same picture when
# asked again after a frame: the screenshot is an artifact, not what the test checks.
SCREENSHOT_TRIES = 3


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v.get("impact") in FAILING_IMPACTS]


def look(page: Page, name: str) -> None:
    """Screenshot the page as ``tests/artifacts/<name>.png`` and fail on accessibility errors."""
    ARTIFACTS.mkdir(exist_ok=True)
    capture(page, path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    violations = accessibility_violations(page)
    assert not violations, f"{name}: " + json.dumps(
        [{"id": v["id"], "impact": v["impact"], "help": v["help"],
          "nodes": [n["html"][:200] for n in v["nodes"][:5]]} for v in violations],
        indent=1,
    )


def capture(target: Page | Locator, **options: Any) -> bytes:
    """``target.screenshot(**options)``, asked again after a frame if Chromium refuses it."""
    page = target if isinstance(target, Page) else target.page
    for tries_left in range(SCREENSHOT_TRIES - 1, -1, -1):
        try:
            return target.screenshot(**options)
        except Error as error:
            if tries_left == 0 or "Unable to capture screenshot" not in error.message:
                raise
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => done(null)))")
    raise AssertionError("unreachable")
