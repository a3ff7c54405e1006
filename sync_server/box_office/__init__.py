"""The box office: cash sales by authorized sellers, codes of the day, offline stock.

See docs/box-office.md.
"""

from __future__ import annotations


def connect_signals() -> None:
    """Release lapsed cash holds with the tidy job; close the box office of a cancelled event."""
    from sync_server.box_office.services import close_for_cancelled_event, release_lapsed_job
    from sync_server.signals import event_cancelled, tidying_holds

    tidying_holds.connect(release_lapsed_job)
    event_cancelled.connect(close_for_cancelled_event)
