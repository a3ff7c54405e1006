"""The card part of ``make demo``: a paid ticket bought through a local stand-in for Stripe.

The fake Stripe (``tests/fake_stripe``, the same one the tests use) runs as a subprocess on a
free port; the sync server is started with ``STRIPE_*`` pointing at it, so nothing leaves the
machine and no Stripe account is needed. The demo organizer connects their payouts account
(finishing the stand-in onboarding page), a buyer signs up and checks out by card, pays on the
stand-in Checkout page (its form, posted as a browser would), and the signed webhook completes
the order: tickets issued, money split between the organizer and the platform's fee.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

WEBHOOK = "/api/v1/payments/stripe/webhook"


def start_fake_stripe(python: str, root: Path, port: int, app_url: str,
                      log: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``python -m tests.fake_stripe`` on ``port``; returns it and the ``STRIPE_*`` it printed."""
    process = subprocess.Popen(
        [python, "-m", "tests.fake_stripe", "--port", str(port), "--webhook-url",
         app_url + WEBHOOK], cwd=root, stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    found: dict[str, str] = {}
    assert process.stdout is not None
    while len(found) < 3:
        line = process.stdout.readline()
        if not line:
            sys.exit(f"demo: the local Stripe stand-in did not start; see {log}")
        name, _, value = line.strip().partition("=")
        if name.startswith("STRIPE_"):
            found[name] = value
    return process, found


def _ok(response: httpx.Response, doing: str) -> Any:
    if response.status_code >= 400:
        sys.exit(f"demo: {doing} failed: {response.status_code} {response.text[:300]}")
    return response.json() if "json" in response.headers.get("content-type", "") else None


def _press(url: str, button: str, **fields: str) -> None:
    """Press a button of a stand-in Stripe page (a plain form posting to its own URL), as a
    browser would."""
    page = httpx.get(url, timeout=10)
    if page.status_code != 200 or f'value="{button}"' not in page.text:
        sys.exit(f"demo: the stand-in Stripe page {url} has no {button!r} button")
    _ok(httpx.post(url, data={**fields, "action": button}, timeout=10), f"pressing {button}")


def buy_paid_ticket(app_url: str, stripe_base: str, organizer: dict[str, str],
                    buyer: dict[str, str], event_id: int,
                    ticket_type: dict[str, Any]) -> list[str]:
    """Connect the organizer, ``buyer`` (a verified account: e-mail, password) buys one ticket
    by card; the lines to print."""
    api = httpx.Client(base_url=app_url + "/api/v1", timeout=15)
    fake = httpx.Client(base_url=stripe_base + "/_fake", timeout=15)
    signed = _ok(api.post("/accounts/sign-in", json=organizer), "the organizer's sign-in")
    boss = {"Authorization": f"Bearer {signed['token']}"}
    account = _ok(api.post("/payments/onboarding", headers=boss), "connecting Stripe")
    acct = account["account"]["stripe_account_id"]
    _press(account["url"], "complete")  # the stand-in onboarding page
    for _ in range(50):  # account.updated arrives by webhook
        state = _ok(api.get("/payments/onboarding", headers=boss), "reading the account")
        if state["account"]["charges_enabled"]:
            break
        time.sleep(0.1)
    else:
        sys.exit("demo: the organizer's account never took charges")
    signed_buyer = _ok(api.post("/accounts/sign-in", json=buyer), "the buyer's sign-in")
    me = {"Authorization": f"Bearer {signed_buyer['token']}"}
    placed = _ok(api.post("/checkout", headers=me, json={
        "event_id": event_id, "payment_method": "STRIPE",
        "items": [{"ticket_type_id": ticket_type["id"], "quantity": 1}]}), "the card checkout")
    order = placed["order"]
    _press(placed["payment_url"], "pay", email=buyer["email"])  # hosted Checkout
    for _ in range(100):
        mine = _ok(api.get("/me/orders", headers=me), "reading the order")["orders"]
        order = next(o for o in mine if o["id"] == order["id"])
        if order["payment_status"] != "PENDING":
            break
        time.sleep(0.1)
    ledger = _ok(fake.get("/ledger"), "reading the fake's ledger")
    [charge] = ledger["charges"]
    tickets = order.get("tickets") or []
    return [
        f"demo: card payments through a local Stripe stand-in at {stripe_base}",
        f"  organizer connected: {acct} (charges enabled)",
        f"  Casey Card bought 1 x {ticket_type['name']} by card: order {order['order_number']}"
        f" {order['payment_status']}, total ${order['total_cents'] / 100:.2f}",
        f"  Stripe charged ${charge['amount'] / 100:.2f} to the organizer's account"
        f" ({charge['destination']}), ${charge['application_fee'] / 100:.2f} of it the"
        " platform's fee",
        f"  ticket {tickets[0]['ticket_number'] if tickets else '?'} issued; its QR is on"
        f" {app_url}/my/orders/{order['id']}",
    ]
