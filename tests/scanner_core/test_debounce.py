"""The three repeat-scan rules (scanner_app/core/debounce.py): one memory, three windows."""

from __future__ import annotations

from scanner_app.core.debounce import COUNTED_S, IN_VIEW_S, SENT_TWICE_S, InView, Recent


def test_recent_answers_within_the_window_only() -> None:
    recent: Recent[str] = Recent(window=3.0)
    recent.note("a", 10.0, "first")
    assert recent.get("a", 12.9) == (10.0, "first")
    assert recent.get("a", 13.0) is None  # the window is half-open: at 3 s it has passed
    assert recent.get("b", 11.0) is None


def test_recent_forgets_old_keys_beyond_its_size_but_keeps_fresh_ones() -> None:
    recent: Recent[int] = Recent(window=1.0, keep=4)
    for i in range(4):
        recent.note(f"old{i}", 0.0, i)
    recent.note("fresh", 5.0, 9)  # the fifth key: everything older than the window goes
    assert recent._noted.keys() == {"fresh"}
    assert recent.get("fresh", 5.5) == (5.0, 9)


def test_a_code_held_in_view_is_reported_once_until_it_has_been_gone() -> None:
    view = InView(window=2.0)
    assert view.new_codes(["T1"], 0.0) == ["T1"]
    frames = [view.new_codes(["T1"], t / 30) for t in range(1, 90)]  # 3 s in view at 30 fps
    assert not any(frames)
    assert view.new_codes(["T1", "T2"], 4.0) == ["T2"]  # T1 was seen 1 s ago: still in view
    assert view.new_codes(["T1"], 6.5) == ["T1"]  # out of view for 2.5 s: shown again


def test_the_windows_are_ordered_as_the_rules_need() -> None:
    # A doubled scanner code arrives within milliseconds; a code shown again after the camera
    # lost it must still be caught by the door's counted window, which is the longest.
    assert SENT_TWICE_S < IN_VIEW_S < COUNTED_S
