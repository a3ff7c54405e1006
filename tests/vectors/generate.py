"""Regenerate ``ticket_tokens.json`` — only when the token format deliberately changes.

The vectors pin the format byte for byte: keys derived from a published TEST master secret
(never used anywhere else), the tokens they sign, and the verdict each payload must get.
Run: ``.venv/bin/python tests/vectors/generate.py``
"""

from __future__ import annotations

import json
from pathlib import Path

from shared.keys import Keyring, derive_event_key
from shared.ticket_token import TicketClaims, sign, verify

# A test vector, public on purpose: it signs nothing real.
MASTER_SECRET = bytes(range(32))
KEYS = [(1, 1), (1, 2), (4242, 1), (2**32 - 1, 255)]
TOKENS = [(1, 1, 1), (1, 123456, 2), (4242, 7, 1), (2**32 - 1, 2**32 - 1, 255)]


def build() -> dict[str, object]:
    keys = {(e, v): derive_event_key(MASTER_SECRET, e, v) for e, v in KEYS}
    tokens = [
        {
            "event_id": e,
            "ticket_id": t,
            "key_version": v,
            "token": sign(TicketClaims(e, t, v), keys[(e, v)]),
        }
        for e, t, v in TOKENS
    ]
    good = tokens[1]["token"]
    assert isinstance(good, str)
    keyring_all = [list(k) for k in KEYS]
    keyring_retired = [[1, 1], [4242, 1]]  # event 1's key version 2 retired
    cases: list[tuple[str, object, list[int] | None, list[list[int]]]] = [
        ("valid", good, [1], keyring_all),
        ("valid, lower case (caps-lock wedge scanner)", good.lower(), [1], keyring_all),
        ("valid, with the scanner's CR LF", good + "\r\n", [1], keyring_all),
        ("valid, any event served", good, None, keyring_all),
        ("other event", good, [4242], keyring_all),
        ("retired key version", good, [1], keyring_retired),
        ("last character changed", good[:-1] + ("A" if good[-1] != "A" else "B"), [1], keyring_all),
        ("ticket id changed", tokens[0]["token"][:12] + good[12:], [1], keyring_all),
        ("truncated", good[:-1], [1], keyring_all),
        ("padded", good + "====", [1], keyring_all),
        ("empty", "", [1], keyring_all),
        (
            "JSON of the seed's format",
            '{"ticketId":"x","timestamp":1,"signature":"ab"}',
            [1],
            keyring_all,
        ),
        ("future format version 2", "AI" + good[2:], [1], keyring_all),
        ("not base32", good[:10] + "0" + good[11:], [1], keyring_all),
        ("too long", "A" * 10_000, [1], keyring_all),
        ("top event id and key version", tokens[3]["token"], [2**32 - 1], keyring_all),
    ]
    verdicts = []
    for name, payload, events, keyring in cases:
        ring = Keyring({(e, v): keys[(e, v)] for e, v in keyring})
        verdicts.append(
            {
                "name": name,
                "payload": payload,
                "events": events,
                "keyring": keyring,
                "reason": verify(payload, ring, events).reason.value,
            }
        )
    return {
        "comment": "Ticket token v1 test vectors. MASTER SECRET IS A PUBLIC TEST VALUE.",
        "master_secret_hex": MASTER_SECRET.hex(),
        "keys": [{"event_id": e, "key_version": v, "key_hex": keys[(e, v)].hex()} for e, v in KEYS],
        "tokens": tokens,
        "verdicts": verdicts,
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("ticket_tokens.json")
    out.write_text(json.dumps(build(), indent=2) + "\n")
    print(f"wrote {out}")
