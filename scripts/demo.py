"""``make demo``: until the server and the door app exist, say what the demo will do."""

from __future__ import annotations

PLAN = """\
make demo will:
  1. start the sync server on an embedded SQLite database with a demo dance weekend,
  2. pair the door app to it with a one-time pairing code,
  3. open the door app with a stand-in camera showing real demo tickets
     (some valid, one already used, one forged): green, orange and red within a minute.
     With no display it runs the same tickets through `scanner-app check` and prints each verdict.
The server (#3) and the door app (#5, #6) are being built; this step is a placeholder until then.
"""


def main() -> int:
    print(PLAN, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
