"""The fake as a process (``python -m tests.fake_stripe``) and where its object shapes come from."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import stripe

from tests.fake_stripe.shapes import FIXTURES

# ../shared/ beside the checkout (as CI lays it out), not a fixed path
PUBLISHED = Path(__file__).resolve().parents[3] / "shared/fixtures/stripe/fixtures3.json"
ROOT = Path(__file__).parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_runs_as_a_process_the_app_can_point_at() -> None:
    port = _free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "tests.fake_stripe", "--port", str(port),
         "--webhook-secret", "whsec_demo"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as process:
        try:
            assert process.stdout is not None
            lines = dict(process.stdout.readline().strip().split("=", 1) for _ in range(3))
            assert lines["STRIPE_API_BASE"] == f"http://127.0.0.1:{port}"
            assert lines["STRIPE_WEBHOOK_SECRET"] == "whsec_demo"
            client = stripe.StripeClient(lines["STRIPE_SECRET_KEY"],
                                         base_addresses={"api": lines["STRIPE_API_BASE"]})
            account = client.v1.accounts.create(params={
                "type": "express", "capabilities": {"transfers": {"requested": True}}})
            assert client.v1.accounts.retrieve(account.id).id == account.id
        finally:
            process.terminate()
            assert process.wait(timeout=10) == 0


def test_object_shapes_are_stripes_published_examples_unchanged() -> None:
    # ../shared/ (the reference material) lies beside every checkout here and in CI.
    assert PUBLISHED.exists(), f"{PUBLISHED} is missing: the reference material beside the checkout"
    published = json.loads(PUBLISHED.read_text())["resources"]
    extract = json.loads(FIXTURES.read_text())
    assert extract == {name: published[name] for name in extract}
    assert {"account", "checkout.session", "payment_intent", "charge", "refund",
            "event"} <= set(extract)
