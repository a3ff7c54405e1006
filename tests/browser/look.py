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

from playwright.sync_api import Page

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
AXE = Path(__file__).with_name("vendor") / "axe-4.14.1.min.js"
FAILING_IMPACTS = frozenset({"serious", "critical"})


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
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    violations = accessibility_violations(page)
    assert not violations, f"{name}: " + json.dumps(
        [{"id": v["id"], "impact": v["impact"], "help": v["help"],
          "nodes": [n["html"][:200] for n in v["nodes"][:5]]} for v in violations],
        indent=1,
    )
