"""``make demo``'s box office and organizer parts, against the running demo server.

- A box-office desk is paired (a BOX_OFFICE device), the demo seller signs in with their code of
  the day (read by the organizer, as the box-office page shows it) and sells two tickets for
  cash through the headless ``scanner-app sell``; the tickets are printed to a PDF.
- The organizer signs in to the web pages (a real form post with its CSRF token) and each
  organizer page answers: dashboard, the event, its orders, the door live, analytics and the
  box office's night.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def _ok(response: httpx.Response, doing: str) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"demo: {doing} failed: {response.status_code} {response.text[:300]}")
    return response.json()


def box_office_sale(app_url: str, event_id: int, organizer: dict[str, str],
                    seller: dict[str, str], tier: str, desk: Path, pdf: Path,
                    server: Callable[..., str], door: Callable[..., str]) -> list[str]:
    """Pair a desk, sign the seller in, sell two tickets of ``tier`` (or of the paid tier with
    the most left in the seller's allocation) for cash; the lines to print."""
    code = json.loads(server("pair-device", "--event", str(event_id), "--name", "Front desk",
                             "--kind", "BOX_OFFICE", "--json"))["code"]
    door(desk, "pair", "--server", app_url, "--code", code)
    with httpx.Client(base_url=app_url + "/api/v1", timeout=15) as api:
        token = _ok(api.post("/accounts/sign-in", json=organizer), "the organizer's sign-in")
        codes = _ok(api.get(f"/events/{event_id}/box-office/codes",
                            headers={"Authorization": f"Bearer {token['token']}"}),
                    "reading today's seller codes")["codes"]
    today = codes[0]["code"]
    signed = json.loads(door(desk, "sign-in", "--email", seller["email"], "--event",
                             str(event_id), "--code", today))
    paid = [t for t in signed["tiers"] if t["price_cents"] > 0 and (t["available"] or 0) >= 2]
    if paid:  # the paid tier with the most left in the seller's allocation
        tier = max(paid, key=lambda t: t["available"])["name"]
    sold = json.loads(door(desk, "sell", "--code", today, "--tier", f"{tier}=2", "--cash", "100",
                           "--buyer", "Walk-up Wanda", "--pdf", pdf))
    sale = sold.get("sale", sold)
    tickets = sale.get("tickets", [])
    return [
        "demo: a box-office desk (the same app, paired as BOX_OFFICE) sells for cash",
        f"  {codes[0]['name']} signed in with today's code {today}; sold 2 x {tier} to Walk-up"
        f" Wanda: {json.dumps({k: sale[k] for k in ('total_cents', 'change_cents') if k in sale})}",
        f"  tickets {', '.join(t.get('ticket_number', '?') for t in tickets)}; printed to {pdf}",
    ]


def organizer_pages(app_url: str, event_id: int, organizer: dict[str, str]) -> list[str]:
    """Sign the organizer in through the sign-in form; fetch each organizer page."""
    lines = [f"demo: the organizer's pages at {app_url}/organize (sign in as"
             f" {organizer['email']}, password {organizer['password']})"]
    with httpx.Client(base_url=app_url, timeout=30, follow_redirects=True) as web:
        form = web.get("/sign-in").text
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        if csrf is None:
            raise SystemExit("demo: the sign-in page has no CSRF token")
        web.post("/sign-in", data={"email": organizer["email"],
                                   "password": organizer["password"],
                                   "csrf_token": csrf.group(1)})
        base = f"/organize/events/{event_id}"
        for path in ("/organize", base, f"{base}/tickets", f"{base}/people", f"{base}/orders",
                     f"{base}/live", f"{base}/analytics", f"{base}/box-office"):
            page = web.get(path)
            title = re.search(r"<h1[^>]*>(.*?)</h1>", page.text, re.S)
            words = re.sub(r"<[^>]+>", "", title.group(1)).strip() if title else "?"
            lines.append(f"  {page.status_code} {path:<34} {words}")
    return lines
