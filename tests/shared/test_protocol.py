"""The sync protocol's shapes: every body survives JSON, and a wrong body names every bad field."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import protocol as p

NOW = datetime(2026, 5, 1, 23, 14, 5, 120000, tzinfo=UTC)


def _page() -> p.DoorDataPage:
    event = p.EventSettings(
        event_id=12, name="Spring Fling", time_zone="America/Chicago",
        days=(p.EventDay(date(2026, 5, 1), NOW, NOW + timedelta(hours=8)),),
        reentry_allowed=True, uncached_policy=p.UncachedPolicy.REFUSE,
    )
    ticket = p.TicketRecord(
        ticket_id=901, event_id=12, ticket_number="T-901", order_number="SL-1042",
        holder_name="María López", holder_email="maria@example.com", ticket_type="Weekend",
        valid_dates=(date(2026, 5, 1),), status=p.TicketStatus.SCANNED, revision=5,
        scanned_at=NOW, scanned_door="North",
    )
    conflict = p.Conflict(str(uuid.uuid4()), 901, NOW, "North", str(uuid.uuid4()), NOW, "South")
    return p.DoorDataPage(
        event=event, keys=(p.EventKey(1, "AAAA"),), tickets=(ticket,),
        revocations=(p.Revocation(77, p.RevocationReason.TRANSFERRED, NOW),),
        conflicts=(conflict,), cursor="c1", has_more=False, full=True, server_time=NOW,
    )


def _roundtrip(obj: object) -> object:
    cls = type(obj)
    text = json.dumps(obj.to_json())  # type: ignore[attr-defined]
    return cls.from_json(json.loads(text))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "obj",
    [
        p.PairRequest("ABCD-1234", "North door", "0.1.0", "Linux"),
        p.PairResponse(7, "North door", "sld_abc", (12,), NOW),
        p.HeartbeatRequest(NOW, "0.1.0", 3, 100),
        p.HeartbeatResponse(NOW, 7, "North", (p.EventSummary(12, "Spring", 48211),)),
        _page(),
        p.ScanBatch(
            (p.ScanRecord(str(uuid.uuid4()), NOW, "North", "", "admit",
                          p.ScanType.MANUAL_LOOKUP, p.Direction.ENTRY, 12, 901, "no phone"),),
            NOW,
        ),
        p.ScanBatchResult(
            (p.ScanResult(str(uuid.uuid4()), p.ScanOutcome.DUPLICATE),
             p.ScanResult(str(uuid.uuid4()), p.ScanOutcome.REJECTED, error="event_not_served")),
            NOW,
        ),
    ],
    ids=lambda o: type(o).__name__,
)
def test_every_shape_survives_json(obj: object) -> None:
    assert _roundtrip(obj) == obj


def test_whole_event_is_null_valid_dates() -> None:
    ticket = _page().tickets[0]
    whole = p.TicketRecord(**{**{f: getattr(ticket, f) for f in ticket.__slots__},
                              "valid_dates": None})
    assert whole.to_json()["valid_dates"] is None
    assert _roundtrip(whole) == whole


def test_times_are_utc_with_z_and_zone_is_required() -> None:
    assert p.format_time(NOW) == "2026-05-01T23:14:05.120000Z"
    assert p.parse_time("2026-05-01T18:14:05.12-05:00") == NOW
    with pytest.raises(ValueError):
        p.format_time(datetime(2026, 5, 1))
    with pytest.raises(ValueError):
        p.parse_time("2026-05-01T18:14:05")


def test_a_bad_scan_batch_names_every_bad_field() -> None:
    body = {
        "device_time": "yesterday",
        "scans": [
            {"scan_id": "not-a-uuid", "scanned_at": "2026-05-01T23:00:00Z", "door": "N",
             "payload": "x", "verdict": "admit", "scan_type": "QR_SCAN", "direction": "sideways",
             "event_id": True},
            {"scan_id": str(uuid.uuid4()), "scanned_at": "2026-05-01T23:00:00Z", "door": "N",
             "payload": "", "verdict": "admit", "scan_type": "MANUAL_LOOKUP",
             "direction": "entry"},
        ],
    }
    with pytest.raises(p.ProtocolError) as caught:
        p.ScanBatch.from_json(body)
    assert set(caught.value.fields) == {
        "device_time", "scans[0].scan_id", "scans[0].direction", "scans[0].event_id",
        "scans[1].manual_reason",
    }


def test_a_batch_over_the_limit_is_refused() -> None:
    scan = p.ScanRecord(str(uuid.uuid4()), NOW, "N", "x", "admit", p.ScanType.QR_SCAN,
                        p.Direction.ENTRY).to_json()
    body = {"device_time": p.format_time(NOW), "scans": [scan] * (p.MAX_SCANS_PER_BATCH + 1)}
    with pytest.raises(p.ProtocolError) as caught:
        p.ScanBatch.from_json(body)
    assert "scans" in caught.value.fields


@pytest.mark.parametrize("body", [None, [], "text", 5, {"results": "no"}])
def test_non_objects_are_protocol_errors(body: object) -> None:
    with pytest.raises(p.ProtocolError):
        p.ScanBatchResult.from_json(body)


def test_pair_response_token_must_be_a_device_token() -> None:
    body = p.PairResponse(7, "N", "sld_x").to_json() | {"token": "slu_user"}
    with pytest.raises(p.ProtocolError) as caught:
        p.PairResponse.from_json(body)
    assert list(caught.value.fields) == ["token"]


def test_pair_request_needs_only_the_code() -> None:
    assert p.PairRequest.from_json({"code": "ABCD"}) == p.PairRequest("ABCD")
    with pytest.raises(p.ProtocolError) as caught:
        p.PairResponse.from_json({"token": "sld_x", "device_id": 0, "event_ids": [0]})
    assert set(caught.value.fields) == {"device_id", "device_name", "event_ids[0]"}


def test_event_day_must_end_after_it_starts() -> None:
    with pytest.raises(p.ProtocolError):
        p.EventDay.from_json({"date": "2026-05-01", "starts_at": "2026-05-01T23:00:00Z",
                              "ends_at": "2026-05-01T22:00:00Z"})


def test_error_envelope_reads_back() -> None:
    body = p.error_body(p.ErrorCode.DEVICE_REVOKED, "revoked", {"token": ["revoked"]})
    assert body["error"]["fields"] == {"token": ["revoked"]}
    assert p.read_error(body) == ("device_revoked", "revoked")
    assert p.read_error({"nope": 1}) == ("", "")


def test_paths() -> None:
    assert p.door_data_path(12) == "/api/v1/door/events/12/data"
    assert p.SCANS_PATH == "/api/v1/door/scans"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
_SHAPES = [p.PairRequest, p.PairResponse, p.HeartbeatRequest, p.HeartbeatResponse,
           p.DoorDataPage, p.ScanBatch, p.ScanBatchResult, p.TicketRecord, p.EventSettings]


@settings(max_examples=200, deadline=None)
@given(shape=st.sampled_from(_SHAPES), body=_json)
def test_any_json_is_read_or_refused_with_field_messages(shape: type, body: object) -> None:
    try:
        shape.from_json(body)
    except p.ProtocolError as exc:
        assert exc.fields and all(exc.fields.values())


@settings(max_examples=100, deadline=None)
@given(body=st.fixed_dictionaries(
    {"scan_id": st.uuids().map(str), "scanned_at": st.text(max_size=30), "door": _json,
     "payload": _json, "verdict": _json, "scan_type": _json, "direction": _json},
    optional={"event_id": _json, "ticket_id": _json, "manual_reason": _json},
))
def test_almost_valid_scans_are_refused_cleanly(body: dict[str, object]) -> None:
    try:
        p.ScanRecord.from_json(body)
    except p.ProtocolError as exc:
        assert exc.fields
