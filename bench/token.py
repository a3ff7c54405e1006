"""Ticket token figures: signing and verifying rates, and how small the QR code is.

Run: ``.venv/bin/python bench/token.py``. Compares against the seed's format (JSON with an
issue timestamp and a 64-hex-digit HMAC, rendered at error correction H).
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# standard library's `token` module (imported by `inspect`); put the project root there instead.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import json
import platform
import time
from collections.abc import Callable

import qrcode
import qrcode.constants

from shared.keys import Keyring, derive_event_key
from shared.qr import qr_version, render_png
from shared.ticket_token import TicketClaims, sign, verify

MASTER = bytes(range(32))
N = 50_000


def rate(label: str, fn: Callable[[int], object], n: int = N) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    elapsed = time.perf_counter() - start
    per_s = n / elapsed
    print(f"  {label:<38} {per_s:>12,.0f} /s   {elapsed / n * 1e6:8.2f} µs each")
    return per_s


def seed_qr_version(level: int) -> tuple[int, int]:
    payload = json.dumps(
        {
            "ticketId": "k57a8c9d2e3f4g5h6j7k8m9n0p",
            "timestamp": 1761300000000,
            "signature": "f" * 64,
        }
    )
    code = qrcode.QRCode(error_correction=level)
    code.add_data(payload)
    code.make(fit=True)
    assert code.version is not None
    return len(payload), int(code.version)


def main() -> None:
    print(f"ticket token benchmark — Python {platform.python_version()}, {platform.machine()}")
    key = derive_event_key(MASTER, 1, 1)
    ring = Keyring({(1, 1): key})
    tokens = [sign(TicketClaims(1, i + 1, 1), key) for i in range(N)]
    forged = [t[:-1] + ("A" if t[-1] != "A" else "B") for t in tokens]

    sign_rate = rate("sign", lambda i: sign(TicketClaims(1, i + 1, 1), key))
    verify_rate = rate("verify (genuine)", lambda i: verify(tokens[i], ring, (1,)))
    rate("verify (forged: bad signature)", lambda i: verify(forged[i], ring, (1,)))
    rate("verify (garbage text)", lambda i: verify("not a ticket at all", ring, (1,)))
    rate("derive an event key (HKDF)", lambda i: derive_event_key(MASTER, i + 1, 1), n=5_000)

    token = tokens[0]
    version = qr_version(token)
    modules = 17 + 4 * version
    seed_chars, seed_h = seed_qr_version(qrcode.constants.ERROR_CORRECT_H)
    _, seed_m = seed_qr_version(qrcode.constants.ERROR_CORRECT_M)
    seed_modules = 17 + 4 * seed_h
    print("QR size")
    print(f"  token: {len(token)} characters (20 bytes, base32, QR alphanumeric mode)")
    print(
        f"  QR version {version} at level M: {modules}x{modules} modules "
        f"+ 4-module quiet zone = {modules + 8}x{modules + 8}"
    )
    print(f"  PNG at 10 px/module: {len(render_png(token)):,} bytes")
    print(
        f"  seed's JSON format: {seed_chars} characters -> QR version {seed_h} at level H "
        f"({seed_modules}x{seed_modules}), version {seed_m} at M"
    )
    ratio = (seed_modules / modules) ** 2
    print(
        f"  ratio: the seed's code has {ratio:.1f}x the modules; at the same printed size each "
        f"of ours is {seed_modules / modules:.1f}x wider (easier on cracked, bright screens)"
    )
    print(
        f"summary: sign {sign_rate:,.0f}/s, verify {verify_rate:,.0f}/s, "
        f"{len(token)} chars, QR v{version}-M"
    )


if __name__ == "__main__":
    main()
