"""Pytest fixtures: ``fake_stripe`` (a started FakeStripe) and ``webhook_receiver``.

Use them from any test package with ``pytest_plugins`` or by importing them into a conftest:
``from tests.fake_stripe.fixture import fake_stripe, stripe_client, webhook_receiver``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from tests.fake_stripe.server import FakeStripe


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    """A fake Stripe on a free port of 127.0.0.1, served from a thread, stopped afterwards."""
    fake = FakeStripe().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def stripe_client(fake_stripe: FakeStripe) -> stripe.StripeClient:
    """The real stripe library pointed at the fake (no global state touched)."""
    return stripe.StripeClient(
        fake_stripe.api_key,
        base_addresses={"api": fake_stripe.api_base},
        max_network_retries=2,
    )


@dataclass
class Delivery:
    body: bytes
    signature: str
    arrived_at: float  # time.monotonic()


@dataclass
class WebhookReceiver:
    """A tiny endpoint that keeps what it is sent; ``answers`` scripts its status codes and
    ``delay`` holds each answer (so parallel deliveries overlap: ``most_at_once``)."""

    url: str = ""
    received: list[Delivery] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    at_once: int = 0
    most_at_once: int = 0
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"{len(self.received)} of {count} webhooks arrived")
            return list(self.received)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.arrived:
                receiver.at_once += 1
                receiver.most_at_once = max(receiver.most_at_once, receiver.at_once)
            time.sleep(receiver.delay)
            with receiver.arrived:
                receiver.at_once -= 1
                status = receiver.answers.pop(0) if receiver.answers else 200
                receiver.received.append(
                    Delivery(body, self.headers.get("Stripe-Signature", ""), time.monotonic())
                )
                receiver.arrived.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/webhooks/stripe"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
