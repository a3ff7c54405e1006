"""Is a newer door-app release out? The server names the newest in each heartbeat
(``HeartbeatResponse.latest_app_version``); the door only tells its staff (no self-update).
Pure: no I/O."""

from __future__ import annotations

import re

_RELEASE = re.compile(r"(\d+(?:\.\d+)*)")


def _numbers(version: str) -> tuple[int, ...] | None:
    """``"1.10.2"`` -> (1, 10, 2); the leading dotted numbers of a version, or None."""
    found = _RELEASE.match(version.strip().removeprefix("v"))
    if found is None:
        return None
    numbers = [int(part) for part in found.group(1).split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:  # 1.2 == 1.2.0
        numbers.pop()
    return tuple(numbers)


def newer_release(latest: str, running: str) -> str | None:
    """``latest`` if it is a newer release than ``running``, else None (also when either is
    empty or unreadable: a door never nags about a version it cannot compare)."""
    mine, theirs = _numbers(running), _numbers(latest)
    if mine is None or theirs is None:
        return None
    return latest.strip() if theirs > mine else None
