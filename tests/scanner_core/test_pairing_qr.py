"""What a pairing QR says (scanner_app/core/pairing.py): the server's own QR, links with a code,
bare codes typed or printed; everything else is refused. No Qt."""

from __future__ import annotations

import pytest

from scanner_app.core.pairing import (
    PairingQr,
    parse_pairing_code,
    parse_pairing_payload,
    read_pairing_qr,
)
from shared.protocol import pairing_qr_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "stepperslife-pair:https://tix.example.com#ABCD-1234",
            ("https://tix.example.com", "ABCD-1234"),
        ),
        ("https://tix.example.com/pair?code=XY12", ("https://tix.example.com", "XY12")),
        ("http://127.0.0.1:5000/devices/pair?code=Q&x=1", ("http://127.0.0.1:5000", "Q")),
    ],
)
def test_pairing_qr_texts(text: str, expected: tuple[str, str]) -> None:
    assert parse_pairing_payload(text) == expected


def test_the_servers_pairing_qr_text_is_read_back() -> None:
    # The server renders pairing_qr_text(request.host_url, code) into its pairing QR.
    text = pairing_qr_text("http://door-server.local:5000/", "K7PM-3QXW")
    assert parse_pairing_payload(text) == ("http://door-server.local:5000", "K7PM-3QXW")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "AEAAAAABAAAAAAIBY3L35DQPMT3GA6VK",
        "stepperslife-pair:ftp://x#C",
        "stepperslife-pair:https://x.example",
        "https://x.example/pair",
        "javascript:alert(1)?code=1",
    ],
)
def test_other_texts_are_not_pairing_codes(text: str) -> None:
    assert parse_pairing_payload(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("K7QM2XH9PA", "K7QM2XH9PA"),
        ("k7qm-2xh9-pa", "K7QM2XH9PA"),
        (" K7QM 2XH9 PA\n", "K7QM2XH9PA"),
    ],
)
def test_bare_pairing_codes_as_the_servers_qr_holds_them(text: str, expected: str) -> None:
    assert parse_pairing_code(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ABC",
        "AEAAAAABAAAAAAIBY3L35DQPMT3GA6VK",  # a ticket token is not a pairing code
        "https://tix.example.com/pair?code=XY12",
        "K7QM_2XH9PA",
        "K7QM2XH9PÄ",
    ],
)
def test_other_texts_are_not_bare_pairing_codes(text: str) -> None:
    assert parse_pairing_code(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "stepperslife-pair:https://tix.example.com#ABCD-1234",
            PairingQr("ABCD-1234", "https://tix.example.com"),
        ),
        ("k7qm-2xh9-pa", PairingQr("K7QM2XH9PA", None)),
        ("AEAAAAABAAAAAAIBY3L35DQPMT3GA6VK", None),  # a ticket: neither
        ("stepperslife-pair:https://x.example", None),
    ],
)
def test_a_scanned_text_is_a_pairing_qr_with_a_server_a_bare_code_or_neither(
    text: str, expected: PairingQr | None
) -> None:
    assert read_pairing_qr(text) == expected
