"""The wire vocabulary: verdict sets that agree with each other, and shapes written one way."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from shared import protocol as p
from shared.vocabulary import (
    ADMITTING_VERDICTS,
    COUNTED_VERDICTS,
    REFUSING_VERDICTS,
    VerdictCode,
    format_optional_time,
    parse_time,
)


def test_verdict_sets_split_every_code() -> None:
    codes = {c.value for c in VerdictCode}
    assert {"admit", "admit_uncached"} == ADMITTING_VERDICTS
    assert ADMITTING_VERDICTS < COUNTED_VERDICTS == ADMITTING_VERDICTS | {"exit"}
    assert not COUNTED_VERDICTS & REFUSING_VERDICTS
    assert codes - COUNTED_VERDICTS - REFUSING_VERDICTS == {"repeat"}


def test_one_time_format_with_or_without_a_time() -> None:
    at = datetime(2026, 5, 1, 21, 30, tzinfo=UTC)
    assert format_optional_time(at) == "2026-05-01T21:30:00.000000Z"
    assert format_optional_time(None) is None
    assert parse_time("2026-05-01T21:30:00Z") == at


def test_json_bytes_is_the_same_body_as_to_json() -> None:
    now = datetime(2026, 5, 1, 21, 30, 0, 5, tzinfo=UTC)
    result = p.ScanBatchResult(
        (p.ScanResult(str(uuid.uuid4()), p.ScanOutcome.REJECTED, error="event_not_served"),),
        now)
    assert json.loads(result.json_bytes()) == result.to_json()
    assert result.to_json()["server_time"] == "2026-05-01T21:30:00.000005Z"
