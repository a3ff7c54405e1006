"""Run the fake Stripe as a process: ``python -m tests.fake_stripe --port 12111``.

Prints the API base, the secret key to give the app and the webhook signing secret, then serves
until interrupted. ``--webhook-url`` registers the app's endpoint at once (``make demo``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading

from tests.fake_stripe.server import DEFAULT_API_KEY, FakeStripe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_stripe", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--webhook-url", help="the app's webhook endpoint")
    parser.add_argument("--webhook-secret", help="sign with this whsec_… (default: random)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    fake = FakeStripe(args.host, args.port, args.api_key).start()
    if args.webhook_url:
        fake.register_webhook(args.webhook_url, args.webhook_secret)
    elif args.webhook_secret:
        fake.webhooks.configure(secret=args.webhook_secret)
    print(f"STRIPE_API_BASE={fake.api_base}", flush=True)
    print(f"STRIPE_SECRET_KEY={fake.api_key}", flush=True)
    print(f"STRIPE_WEBHOOK_SECRET={fake.webhook_secret}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
