"""The fake Stripe as one object: an HTTP server on 127.0.0.1, its state, its webhook sender.

``FakeStripe(port=0).start()`` serves from a thread; ``api_base`` is what ``stripe.api_base`` or
``StripeClient(base_addresses={"api": ...})`` takes. The helper methods are what the control API
under ``/_fake/`` exposes over HTTP (see ``control.py``), for tests in this process.
"""

from __future__ import annotations

import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.fake_stripe import api, checkout, control, pages, refunds
from tests.fake_stripe.store import Store
from tests.fake_stripe.webhooks import Deliverer

logger = logging.getLogger(__name__)
Obj = dict[str, Any]
DEFAULT_API_KEY = "sk_test_fakestripe0000000000000000"


class FakeStripe:
    """A local Stripe: the v1 API subset issue 14 calls, hosted pages, signed webhooks."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 api_key: str = DEFAULT_API_KEY) -> None:
        self.api_key = api_key
        self.httpd = _Server((host, port), _Handler)
        self.httpd.fake = self
        self.base_url = f"http://{host}:{self.httpd.server_port}"
        self.store = Store(self.base_url, api_key)
        self.webhooks = Deliverer()
        self.store.publish = self.webhooks.publish
        # per "<api key>:<Idempotency-Key>": the request's parameters and the answer given
        self.idempotency: dict[str, tuple[str, int, bytes]] = {}
        self.requests: list[Obj] = []
        self._faults: list[tuple[str, str]] = []  # (mode, path prefix), in order
        self._thread: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        return self.base_url

    @property
    def webhook_secret(self) -> str:
        return self.webhooks.secret

    def start(self) -> FakeStripe:
        # a short poll interval: shutdown() waits for it, and every test stops a server
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        name="fake-stripe", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.webhooks.close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # --- test helpers (also behind /_fake/) ----------------------------------------------------

    def register_webhook(self, url: str, secret: str | None = None, mode: str = "auto") -> str:
        """Send events to ``url``; returns the signing secret (``whsec_…``)."""
        self.webhooks.configure(url=url, secret=secret, mode=mode)
        return self.webhooks.secret

    def fail_next(self, count: int = 1, mode: str = "error", path: str = "/v1/") -> None:
        """The next ``count`` API calls under ``path`` fail: ``error`` (500), ``drop`` (the
        connection closes unanswered), or ``error_after`` / ``drop_after`` (the call takes
        effect, then its answer is lost). ``path="/v1/refunds"`` spares other calls."""
        if mode not in api.FAULTS:
            raise ValueError(f"mode is one of {api.FAULTS}")
        with self.store.lock:
            self._faults.extend([(mode, path)] * count)

    def take_fault(self, path: str) -> str | None:
        with self.store.lock:
            for n, (mode, prefix) in enumerate(self._faults):
                if path.startswith(prefix):
                    del self._faults[n]
                    return mode
            return None

    def record(self, method: str, path: str, key: str | None, status: int | None,
               replayed: bool) -> None:
        with self.store.lock:
            self.requests.append({"method": method, "path": path, "idempotency_key": key,
                                  "status": status, "replayed": replayed})

    def pay(self, session_id: str, email: str = "buyer@example.com") -> Obj:
        with self.store.lock:
            return self.store.render(checkout.pay(self.store, session_id, email), [])

    def decline(self, session_id: str) -> Obj:
        with self.store.lock:
            return self.store.render(checkout.decline(self.store, session_id), [])

    def enable_charges(self, account_id: str) -> Obj:
        with self.store.lock:
            return self.store.render(self.store.enable_charges(account_id), [])

    def dispute(self, charge_or_intent: str) -> Obj:
        with self.store.lock:
            return self.store.render(refunds.create_dispute(self.store, charge_or_intent), [])

    def advance_clock(self, seconds: int) -> list[str]:
        """Move the fake's clock on; sessions past ``expires_at`` expire (events sent)."""
        with self.store.lock:
            self.store.clock_offset += seconds
            return checkout.sweep_expired(self.store)

    def ledger(self) -> Obj:
        with self.store.lock:
            return refunds.ledger(self.store)

    def events(self, kind: str | None = None) -> list[Obj]:
        with self.store.lock:
            return [e for e in self.store.events if kind is None or e["type"] == kind]

    def deliver(self, event_ids: list[str] | None = None, **options: Any) -> list[str]:
        return self.webhooks.deliver(event_ids, **options)

    def wait_for_webhooks(self, timeout: float = 10.0) -> None:
        if not self.webhooks.wait_idle(timeout):
            raise TimeoutError("webhook deliveries still pending")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeStripe


_CHECKOUT = re.compile(r"^/c/pay/(cs_test_\w+)$")
_ONBOARDING = re.compile(r"^/setup/e/(acct_\w+)/(\w+)$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake stripe: " + format, *args)

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply: tuple[int, dict[str, str], bytes] | None
        if parts.path.startswith("/v1/"):
            reply = api.handle(fake, method, parts.path, parts.query, body, self.headers)
        elif parts.path.startswith("/_fake/"):
            reply = control.handle(fake, method, parts.path, body)
        elif match := _CHECKOUT.match(parts.path):
            reply = pages.checkout_page(fake, match[1], method, body)
        elif match := _ONBOARDING.match(parts.path):
            reply = pages.onboarding_page(fake, match[1], match[2], method, body)
        else:
            reply = 404, {"Content-Type": "text/plain"}, b"not found\n"
        if reply is None:  # an injected "unreachable": close without a word
            self.close_connection = True
            return
        status, headers, payload = reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
