# ruff: noqa: E402  (sys.path must be fixed before any import: bench/token.py shadows stdlib `token`)
"""What one checkout costs the server, in figures that do not move with the machine's speed.

The flash sale's orders per minute follow this machine's speed, which moves by 2x within
minutes; this bench counts instead. On a fresh PostgreSQL database (created here, dropped at the
end) with one published event, it sends free checkouts (each completes: order, signed ticket,
outbox row, door change number) and, as a yardstick, a trivial request (``GET /categories``)
through the real app in one process (Flask's test client), and prints per request:

- the SQL statements sent to the database (each its own round trip);
- the CPU time of the process (moves with the machine's speed, like the flash sale);
- the instructions executed, counted by ``valgrind --tool=callgrind`` (if installed: ``apt-get
  install valgrind``): two runs of different lengths, so start-up and warm-up cancel out. The
  same tree counts the same within ~2 % whatever else the machine is doing, so two trees can be
  compared one after the other (docs/purchase.md).

Run: ``.venv/bin/python bench/checkout_cost.py [--requests 200]`` (about 4 minutes with valgrind).
"""

from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import json
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.databases import fresh_database
from bench.flash_sale import seed
from sync_server.migrate import upgrade

WARM_UP = 50  # requests before anything is measured (prepared statements, caches)


def child(spec: dict[str, Any], kind: str, requests: int) -> None:
    """Run inside the measured process: ``requests`` requests of ``kind``; print the figures."""
    os.environ.update(
        SYNC_DATABASE_URL=spec["url"], SYNC_INSTANCE_PATH=tempfile.mkdtemp(dir=spec["scratch"]),
        SYNC_MASTER_SECRET=spec["master_secret"], SYNC_SECRET_KEY=spec["secret_key"],
        SYNC_CHECKOUT_LIMIT_PER_ADDRESS="0", SYNC_CHECKOUT_LIMIT_PER_USER="100000000",
        SYNC_SMTP_HOST="", SYNC_LOG_LEVEL="ERROR")
    from sync_server import create_app

    statements = [0]

    @sa.event.listens_for(sa.Engine, "before_cursor_execute")
    def count(*_: Any) -> None:
        statements[0] += 1

    client = create_app().test_client()
    body = json.dumps({"event_id": spec["event_id"],
                       "items": [{"ticket_type_id": spec["ticket_type_id"], "quantity": 1}]})
    tokens = spec["tokens"]

    def one(n: int) -> None:
        if kind == "checkout":
            answer = client.post("/api/v1/checkout", data=body, headers={
                "Authorization": f"Bearer {tokens[n % len(tokens)]}",
                "Content-Type": "application/json"})
            assert answer.status_code == 201, answer.data
        else:
            assert client.get("/api/v1/categories").status_code == 200

    for n in range(WARM_UP):
        one(n)
    statements[0] = 0
    began = time.process_time()
    for n in range(requests):
        one(n)
    cpu = time.process_time() - began
    print(json.dumps({"cpu_ms": cpu * 1000 / requests, "statements": statements[0] / requests}))


def measured(spec_file: Path, kind: str, requests: int, valgrind: bool) -> tuple[dict[str, Any],
                                                                                 int | None]:
    command = [sys.executable, __file__, "--child", str(spec_file), kind, str(requests)]
    if valgrind:
        out = spec_file.parent / f"callgrind.{kind}.{requests}"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command]
    # A fixed hash seed: the same tree then runs the same instructions, run after run.
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONHASHSEED="0"))
    found = re.search(r"Collected\s*:\s*([\d,]+)", done.stderr)
    instructions = int(found.group(1).replace(",", "")) if found else None
    return json.loads(done.stdout.strip().splitlines()[-1]), instructions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200,
                        help="requests of each kind in the longer valgrind run")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec_path, kind, requests = args.child
        child(json.loads(Path(spec_path).read_text()), kind, int(requests))
        return 0

    valgrind = shutil.which("valgrind") is not None
    result: dict[str, Any] = {}
    with fresh_database("checkout_cost") as url, tempfile.TemporaryDirectory() as scratch:
        upgrade(url)
        seeded = seed(url, buyers=8, tickets=10_000_000, paid_tickets=1)
        spec_file = Path(scratch) / "spec.json"
        spec_file.write_text(json.dumps({
            "url": url, "event_id": seeded.event_id, "ticket_type_id": seeded.free_type_id,
            "tokens": seeded.tokens, "master_secret": secrets.token_hex(32),
            "secret_key": secrets.token_hex(32), "scratch": scratch}))
        for kind in ("checkout", "trivial"):
            plain, _ = measured(spec_file, kind, 1000, valgrind=False)
            result[f"{kind}_statements_per_request"] = round(plain["statements"], 2)
            result[f"{kind}_cpu_ms_per_request"] = round(plain["cpu_ms"], 3)
            if valgrind:
                _, short = measured(spec_file, kind, 10, valgrind=True)
                _, long = measured(spec_file, kind, 10 + args.requests, valgrind=True)
                assert short is not None and long is not None, "valgrind printed no count"
                result[f"{kind}_instructions_per_request"] = round(
                    (long - short) / args.requests)

    result["checkout_to_trivial_cpu"] = round(
        result["checkout_cpu_ms_per_request"] / result["trivial_cpu_ms_per_request"], 2)
    if valgrind:
        result["checkout_to_trivial_instructions"] = round(
            result["checkout_instructions_per_request"]
            / result["trivial_instructions_per_request"], 2)
    else:
        result["instructions"] = "not counted: needs valgrind (apt-get install valgrind)"
    for key, value in result.items():
        print(f"{key:>34}: {value:,}" if isinstance(value, int) else f"{key:>34}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
