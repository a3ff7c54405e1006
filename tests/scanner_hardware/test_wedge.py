"""Keyboard-wedge rules: bursts are scans, typing is typing, doubled codes count once."""

from __future__ import annotations

from scanner_app.core.wedge import KeyOutcome, WedgeDetector
from tests.support.synthetic import sample_token

TOKEN = sample_token(3)


def feed(detector: WedgeDetector, text: str, start: float, gap: float) -> list[KeyOutcome]:
    return [detector.key(ch, start + i * gap) for i, ch in enumerate(text)]


def scans(outcomes: list[KeyOutcome]) -> list[str]:
    return [o.scan for o in outcomes if o.scan]


def test_fast_burst_ending_in_enter_is_one_scan_and_types_nothing() -> None:
    outcomes = feed(WedgeDetector(), TOKEN + "\r", 10.0, 0.004)
    assert scans(outcomes) == [TOKEN]
    assert all(o.swallow for o in outcomes)
    assert "".join(o.replay for o in outcomes) == ""


def test_person_typing_is_replayed_and_never_a_scan() -> None:
    detector = WedgeDetector()
    typed = ""
    for i, ch in enumerate("Jordan Smith"):
        now = 5.0 + i * 0.15
        typed += detector.expire(now)  # the window's timer
        outcome = detector.key(ch, now)
        typed += outcome.replay
        assert outcome.scan is None
    typed += detector.expire(100.0)
    assert typed == "Jordan Smith"
    assert not detector.holding


def test_typing_then_enter_passes_enter_through() -> None:
    detector = WedgeDetector()
    outcomes = feed(detector, "ab", 0.0, 0.2)
    enter = detector.key("\r", 0.41)
    assert enter.scan is None and not enter.swallow
    assert "".join(o.replay for o in [*outcomes, enter]) == "ab"


def test_short_fast_burst_is_typing() -> None:
    detector = WedgeDetector(min_length=6)
    outcomes = feed(detector, "abc\r", 0.0, 0.005)
    assert scans(outcomes) == []
    assert outcomes[-1].replay == "abc" and not outcomes[-1].swallow


def test_a_pause_inside_the_burst_splits_it() -> None:
    detector = WedgeDetector()
    first = feed(detector, TOKEN[:10], 0.0, 0.004)
    rest = feed(detector, TOKEN[10:] + "\r", 0.5, 0.004)
    assert rest[0].replay == TOKEN[:10]  # what came before the pause was typing
    assert scans(first + rest) == [TOKEN[10:]]  # never the whole token


def test_scanner_sending_the_code_twice_counts_once() -> None:
    detector = WedgeDetector()
    outcomes = feed(detector, TOKEN + "\r" + TOKEN + "\r", 0.0, 0.004)
    assert scans(outcomes) == [TOKEN]
    assert [o.duplicate for o in outcomes].count(True) == 1


def test_code_doubled_without_enter_between_counts_once() -> None:
    outcomes = feed(WedgeDetector(), TOKEN + TOKEN + "\r", 0.0, 0.003)
    assert scans(outcomes) == [TOKEN]


def test_same_code_again_after_the_window_is_a_new_scan() -> None:
    detector = WedgeDetector(repeat_window=1.0)
    first = feed(detector, TOKEN + "\r", 0.0, 0.004)
    second = feed(detector, TOKEN + "\r", 5.0, 0.004)
    assert scans(first + second) == [TOKEN, TOKEN]


def test_different_codes_back_to_back_are_two_scans() -> None:
    other = sample_token(4)
    outcomes = feed(WedgeDetector(), TOKEN + "\r" + other + "\r", 0.0, 0.004)
    assert scans(outcomes) == [TOKEN, other]


def test_special_keys_release_what_was_held() -> None:
    detector = WedgeDetector()
    feed(detector, "ab", 0.0, 0.004)
    tab = detector.key("\t", 0.01)
    assert tab.replay == "ab" and not tab.swallow
