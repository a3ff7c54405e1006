"""Webhook delivery as Stripe does it: signed, retried, sometimes twice, never promised in order.

Signature: header ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` keyed
with the endpoint's secret (``whsec_…``), the scheme ``stripe.Webhook.construct_event`` checks.
The body of one event is the same bytes on every delivery; each attempt is signed afresh.

Modes: ``auto`` sends each event as it is raised; ``hold`` keeps them until ``deliver`` names
them, in the order, number of copies, delay and signing the test asks for. A non-2xx answer or a
failed connection is retried ``max_attempts`` times with a doubling delay (Stripe's schedule spans
three days; the fake's starts at ``retry_delay`` seconds).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)
Obj = dict[str, Any]


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    event_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)
    secret: str | None = field(compare=False, default=None)
    timestamp_offset: int = field(compare=False, default=0)
    parallel: bool = field(compare=False, default=False)


class Deliverer:
    """One webhook endpoint and a thread that posts events to it."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.secret = "whsec_" + secrets.token_hex(16)
        self.mode = "auto"
        self.max_attempts = 4
        self.retry_delay = 0.2
        self.payloads: dict[str, bytes] = {}
        self.held: list[str] = []
        self.log: list[Obj] = []
        self._queue: list[_Job] = []
        self._seq = itertools.count()
        self._busy = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="fake-stripe-webhooks",
                                        daemon=True)
        self._thread.start()

    def configure(self, url: str | None = None, secret: str | None = None,
                  mode: str | None = None, max_attempts: int | None = None,
                  retry_delay: float | None = None) -> None:
        with self._cond:
            if url is not None:
                if not url.startswith(("http://", "https://")):
                    raise ValueError("the webhook URL is http:// or https://")
                self.url = url
            if secret:
                self.secret = secret
            if mode is not None:
                if mode not in ("auto", "hold"):
                    raise ValueError("mode is auto or hold")
                self.mode = mode
            if max_attempts is not None:
                self.max_attempts = max_attempts
            if retry_delay is not None:
                self.retry_delay = retry_delay

    def publish(self, event: Obj) -> None:
        """Called by the store for each event it raises."""
        with self._cond:
            self.payloads[event["id"]] = json.dumps(event, indent=2).encode()
            if self.mode == "hold" or self.url is None:
                self.held.append(event["id"])
            else:
                self._push(_Job(time.monotonic(), next(self._seq), event["id"]))

    def deliver(self, event_ids: list[str] | None = None, *, times: int = 1, delay: float = 0.0,
                secret: str | None = None, timestamp_offset: int = 0,
                parallel: bool = False) -> list[str]:
        """Queue events (default: every held one, oldest first) ``times`` times each, in order.

        ``secret`` signs with another key (a forged delivery); ``timestamp_offset`` moves the
        signed time (``-600`` makes a stale one); ``parallel`` sends these copies at once, each
        from its own thread (duplicates racing in the receiver). Returns the event ids queued.
        """
        with self._cond:
            if event_ids is None:
                event_ids, self.held = list(self.held), []
            else:
                self.held = [e for e in self.held if e not in event_ids]
            unknown = [e for e in event_ids if e not in self.payloads]
            if unknown:
                raise KeyError(f"no such event: {unknown}")
            due = time.monotonic() + delay
            for event_id in event_ids:
                for _ in range(times):
                    self._push(_Job(due, next(self._seq), event_id, secret=secret,
                                    timestamp_offset=timestamp_offset, parallel=parallel))
            return event_ids

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued or being sent (retries included)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _push(self, job: _Job) -> None:
        heapq.heappush(self._queue, job)
        self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (
                    not self._queue or self._queue[0].due > time.monotonic()
                ):
                    wait = self._queue[0].due - time.monotonic() if self._queue else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                job = heapq.heappop(self._queue)
                self._busy += 1
            if job.parallel:
                threading.Thread(target=self._attempt, args=(job,), daemon=True).start()
            else:
                self._attempt(job)

    def _attempt(self, job: _Job) -> None:
        with self._cond:
            url, secret = self.url, job.secret or self.secret
            payload = self.payloads[job.event_id]
        status = self._send(url, payload, secret, job)
        with self._cond:
            self._busy -= 1
            ok = status is not None and 200 <= status < 300
            if not ok and job.attempt < self.max_attempts:
                backoff = self.retry_delay * 2 ** (job.attempt - 1)
                self._push(_Job(time.monotonic() + backoff, next(self._seq), job.event_id,
                                job.attempt + 1, job.secret, job.timestamp_offset,
                                job.parallel))
            self._cond.notify_all()

    def _send(self, url: str | None, payload: bytes, secret: str, job: _Job) -> int | None:
        timestamp = int(time.time()) + job.timestamp_offset
        request = urllib.request.Request(url or "", data=payload, method="POST", headers={  # noqa: S310 - http(s) only, checked in configure
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign(payload, secret, timestamp),
        })
        status: int | None
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our URL
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError) as exc:
            logger.info("webhook %s to %s failed: %s", job.event_id, url, exc)
            status = None
        with self._cond:
            self.log.append({"event": job.event_id, "attempt": job.attempt, "status": status,
                             "signed_at": timestamp})
        return status
