"""The ticket token: vectors both sides are held to, its byte layout, and its refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode

from shared.keys import Keyring, derive_event_key
from shared.qr import qr_version, render_png, render_svg
from shared.ticket_token import (
    TOKEN_CHARS,
    Reason,
    TicketClaims,
    read_claims,
    sign,
    verify,
)

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "ticket_tokens.json").read_text())
MASTER = bytes.fromhex(VECTORS["master_secret_hex"])
KEY_1 = derive_event_key(MASTER, 1, 1)
KEY_2 = derive_event_key(MASTER, 2, 1)
RING = Keyring({(1, 1): KEY_1, (2, 1): KEY_2})
TOKEN = sign(TicketClaims(1, 987654, 1), KEY_1)


@pytest.mark.parametrize(
    "vector", VECTORS["keys"], ids=lambda v: f"e{v['event_id']}v{v['key_version']}"
)
def test_key_derivation_matches_vectors(vector: dict[str, int | str]) -> None:
    key = derive_event_key(MASTER, int(vector["event_id"]), int(vector["key_version"]))
    assert key.hex() == vector["key_hex"]


@pytest.mark.parametrize("vector", VECTORS["tokens"], ids=lambda v: v["token"])
def test_signing_matches_vectors(vector: dict[str, int | str]) -> None:
    claims = TicketClaims(
        int(vector["event_id"]), int(vector["ticket_id"]), int(vector["key_version"])
    )
    assert (
        sign(claims, derive_event_key(MASTER, claims.event_id, claims.key_version))
        == vector["token"]
    )


@pytest.mark.parametrize("case", VECTORS["verdicts"], ids=lambda c: c["name"])
def test_verdicts_match_vectors(case: dict[str, object]) -> None:
    keyring = Keyring(
        {(e, v): derive_event_key(MASTER, e, v) for e, v in case["keyring"]}  # type: ignore[attr-defined]
    )
    events = case["events"]
    result = verify(case["payload"], keyring, events)  # type: ignore[arg-type]
    assert result.reason.value == case["reason"]


def test_byte_layout_is_as_documented() -> None:
    # Rebuild a token from docs/ticket-token.md alone, without the module's helpers.
    header = struct.pack(">BIIB", 1, 1, 987654, 1)
    mac = hmac.new(KEY_1, header, hashlib.sha256).digest()[:10]
    assert base64.b32encode(header + mac).decode() == TOKEN
    assert len(TOKEN) == TOKEN_CHARS == 32


def test_hkdf_parameters_are_as_documented() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"stepperslife-ticket-token",
        info=b"stepperslife/ticket-key/v1/event=1/version=1",
    )
    assert hkdf.derive(MASTER) == KEY_1


def test_keys_differ_per_event_and_version() -> None:
    keys = {derive_event_key(MASTER, e, v) for e in (1, 2, 3) for v in (1, 2)}
    assert len(keys) == 6


@pytest.mark.parametrize(
    ("master", "event_id", "version"),
    [(b"short", 1, 1), (MASTER, 0, 1), (MASTER, 2**32, 1), (MASTER, 1, 0), (MASTER, 1, 256)],
)
def test_key_derivation_refuses_bad_arguments(master: bytes, event_id: int, version: int) -> None:
    with pytest.raises(ValueError):
        derive_event_key(master, event_id, version)


@pytest.mark.parametrize(
    ("event_id", "ticket_id", "version"),
    [(0, 1, 1), (1, 0, 1), (1, 1, 0), (2**32, 1, 1), (1, 1, 256)],
)
def test_claims_out_of_range_cannot_be_signed(event_id: int, ticket_id: int, version: int) -> None:
    with pytest.raises(ValueError):
        TicketClaims(event_id, ticket_id, version)


def test_rotation_keeps_old_versions_until_retired() -> None:
    key_v2 = derive_event_key(MASTER, 1, 2)
    new = sign(TicketClaims(1, 5, 2), key_v2)
    both = Keyring({(1, 1): KEY_1, (1, 2): key_v2})
    assert verify(TOKEN, both, [1]).ok and verify(new, both, [1]).ok
    assert both.versions_for(1) == [1, 2]
    retired = Keyring({(1, 2): key_v2})
    assert verify(TOKEN, retired, [1]).reason is Reason.UNKNOWN_KEY
    assert verify(new, retired, [1]).ok


def test_a_door_serving_several_events() -> None:
    other = sign(TicketClaims(2, 5, 1), KEY_2)
    assert verify(other, RING, [1, 2]).ok
    assert verify(other, RING, [1]).reason is Reason.WRONG_EVENT
    assert verify(other, RING, [1]).claims == TicketClaims(2, 5, 1)


def test_a_token_signed_with_another_events_key_is_forged() -> None:
    # Event 1's claims signed with event 2's key: the door for event 1 must refuse it.
    forged = sign(TicketClaims(1, 5, 1), KEY_2)
    assert verify(forged, RING, [1]).reason is Reason.BAD_SIGNATURE


def test_read_claims_does_not_vouch_for_the_signature() -> None:
    forged = sign(TicketClaims(1, 5, 1), KEY_2)
    assert read_claims(forged).claims == TicketClaims(1, 5, 1)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        42,
        3.5,
        ["AEAA"],
        {"t": TOKEN},
        b"",
        b"\x00" * 32,
        b"\xff\xfe" * 16,
        bytearray(TOKEN, "ascii"),
        "\x00" * 32,
        "é" * 32,
        TOKEN + "\x00",
        " " * 1000,
        "A" * 10**7,
        TOKEN.encode("utf-16"),
    ],
    ids=repr,
)
def test_hostile_payloads_get_a_reason_not_an_exception(payload: object) -> None:
    result = verify(payload, RING, [1])
    expected_ok = isinstance(payload, bytearray)
    assert result.ok is expected_ok
    if not expected_ok:
        assert result.reason is Reason.MALFORMED


@settings(max_examples=500)
@given(st.one_of(st.text(), st.binary(), st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")))
def test_any_input_gives_a_result_and_no_exception(payload: str | bytes) -> None:
    result = verify(payload, RING, [1])
    assert isinstance(result.reason, Reason)
    assert not result.ok  # no random input is a genuine ticket


@settings(max_examples=500)
@given(st.integers(0, TOKEN_CHARS - 1), st.characters(codec="utf-8"))
def test_any_change_of_one_character_is_refused(position: int, char: str) -> None:
    # Case does not matter in base32 (a caps-lock wedge scanner sends lower case), so a change
    # of case alone is not a change of the token.
    if char.upper() == TOKEN[position]:
        return
    changed = TOKEN[:position] + char + TOKEN[position + 1 :]
    assert not verify(changed, RING, [1]).ok


@settings(max_examples=200)
@given(
    st.integers(1, 2**32 - 1),
    st.integers(1, 2**32 - 1),
    st.integers(1, 2**32 - 1),
    st.integers(1, 255),
)
def test_a_token_for_one_event_is_refused_for_another(
    event_id: int, other_event: int, ticket_id: int, version: int
) -> None:
    if other_event == event_id:
        other_event = event_id % (2**32 - 1) + 1
    key = derive_event_key(MASTER, event_id, version)
    token = sign(TicketClaims(event_id, ticket_id, version), key)
    ring = Keyring({(event_id, version): key, (other_event, version): key})
    assert verify(token, ring, [event_id]).ok
    assert verify(token, ring, [other_event]).reason is Reason.WRONG_EVENT
    # Even a door that holds the same key bytes for the other event cannot be fooled:
    # the event id is inside the signed bytes.
    assert verify(token, ring, None).claims == TicketClaims(event_id, ticket_id, version)


def test_png_round_trip_through_a_real_decoder() -> None:
    png = render_png(TOKEN)
    image = Image.open(io.BytesIO(png)).convert("L")
    # 25 modules (version 2) plus a 4-module quiet zone each side, 10 px per module.
    assert image.size == ((25 + 8) * 10, (25 + 8) * 10)
    decoded = zbar_decode(image, symbols=[ZBarSymbol.QRCODE])
    assert [d.data.decode("ascii") for d in decoded] == [TOKEN]
    assert verify(decoded[0].data, RING, [1]).ok


def test_qr_is_version_2_at_level_m_in_alphanumeric_mode() -> None:
    assert qr_version(TOKEN) == 2
    # Byte mode would need version 3 for 32 characters at level M; version 2 proves alphanumeric.
    assert all(qr_version(sign(TicketClaims(e, e, 1), KEY_1)) == 2 for e in (1, 99, 2**32 - 1))


def test_svg_is_a_scalable_image_with_a_quiet_zone() -> None:
    svg = render_svg(TOKEN).decode()
    assert svg.startswith("<?xml") and "<svg" in svg and "<path" in svg
    # 25 modules + 2 x 4 quiet-zone modules = 33 units, and the first dark module sits at (4, 4).
    assert 'viewBox="0 0 33 33"' in svg
    assert 'd="M4,4H5V5H4z' in svg


@pytest.mark.parametrize(
    ("genuine", "look_alike"),
    [("I", "ı"), ("S", "ſ"), ("FF", "ﬀ")],  # dotless i, long s, the ff ligature
)
def test_unicode_look_alikes_are_malformed_not_folded(genuine: str, look_alike: str) -> None:
    # A token that contains the genuine letter(s), re-spelt with the look-alike in lower case.
    claims = next(
        TicketClaims(1, ticket_id, 1)
        for ticket_id in range(1, 100_000)
        if genuine in sign(TicketClaims(1, ticket_id, 1), KEY_1)
    )
    token = sign(claims, KEY_1)
    assert verify(token.lower(), RING).reason is Reason.OK  # lower case is read, as documented
    forged = token.lower().replace(genuine.lower(), look_alike, 1)
    assert forged.upper() == token  # str.upper() folds it back into the genuine token
    assert verify(forged, RING).reason is Reason.MALFORMED
    assert read_claims(forged).reason is Reason.MALFORMED
