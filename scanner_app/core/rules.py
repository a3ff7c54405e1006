"""The door's rules: from what is known about one scan to a verdict. Pure: no I/O, no clock.

Order of checks: the token (well-formed, our version, an event served here, a known key, a
genuine signature) -> the event (cancelled) -> the ticket (revoked/transferred, cancelled, not
in the cache) -> the direction (exit) -> the day (event days in the event's time zone, the
ticket's valid days) -> earlier entries (already scanned; re-entry) -> admit.

A day is a window, not a calendar date: it opens ``entry_opens_minutes_before`` its start and
closes at its end, which may be after midnight. "Already scanned" counts entries of the current
day only, so a weekend pass gets in once each day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scanner_app.core.verdict import Verdict, VerdictCode
from shared.protocol import (
    Direction,
    EventDay,
    EventSettings,
    RevocationReason,
    TicketRecord,
    TicketStatus,
    UncachedPolicy,
)
from shared.ticket_token import Reason, Verification
from shared.vocabulary import COUNTED_VERDICTS

TITLES: dict[VerdictCode, str] = {
    VerdictCode.ADMIT: "Admit",
    VerdictCode.ADMIT_UNCACHED: "Admit",
    VerdictCode.EXIT: "Exit recorded",
    VerdictCode.ALREADY_SCANNED: "Already scanned",
    VerdictCode.REPEAT: "Just scanned",
    VerdictCode.WRONG_EVENT: "Wrong event",
    VerdictCode.NOT_VALID_TODAY: "Not valid today",
    VerdictCode.NOT_YET_VALID: "Not valid yet",
    VerdictCode.NO_LONGER_VALID: "No longer valid",
    VerdictCode.CANCELLED: "Cancelled",
    VerdictCode.REVOKED: "Ticket replaced",
    VerdictCode.UNKNOWN_TICKET: "Unknown ticket",
    VerdictCode.FORGED: "Fake ticket",
    VerdictCode.UNKNOWN_KEY: "Unknown ticket key",
    VerdictCode.UNSUPPORTED_VERSION: "Code not supported",
    VerdictCode.MALFORMED: "Not a ticket",
    VerdictCode.ERROR: "Scan again",
}

_TOKEN_VERDICTS: dict[Reason, tuple[VerdictCode, str]] = {
    Reason.MALFORMED: (VerdictCode.MALFORMED, "This code is not a ticket of ours."),
    Reason.UNSUPPORTED_VERSION: (
        VerdictCode.UNSUPPORTED_VERSION,
        "A newer ticket format: update this app, or check the guest in by name.",
    ),
    Reason.WRONG_EVENT: (VerdictCode.WRONG_EVENT, "This ticket is for another event."),
    Reason.UNKNOWN_KEY: (
        VerdictCode.UNKNOWN_KEY,
        "The ticket's key is not known here: sync this door, or check the guest in by name.",
    ),
    Reason.BAD_SIGNATURE: (
        VerdictCode.FORGED,
        "The code's signature is wrong: this ticket was not issued by us.",
    ),
}

COUNTED = COUNTED_VERDICTS  # the scans a door counts (entries and exits)


@dataclass(frozen=True, slots=True)
class PastScan:
    """An entry or exit this door counted before."""

    scanned_at: datetime
    door: str
    direction: Direction


@dataclass(frozen=True, slots=True)
class Facts:
    verification: Verification
    event: EventSettings | None = None
    ticket: TicketRecord | None = None
    revoked: RevocationReason | None = None
    history: Sequence[PastScan] = ()  # newest first


def verdict(code: VerdictCode, detail: str = "", **fields: object) -> Verdict:
    return Verdict(code, TITLES[code], detail, **fields)  # type: ignore[arg-type]


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(moment: datetime, tz: str, now: datetime | None = None) -> str:
    """'9:14 pm', or 'Fri 1 May, 9:14 pm' when not on the same local day as ``now``."""
    z = zone(tz)
    local = moment.astimezone(z)
    clock = local.strftime("%I:%M %p").lstrip("0").lower()
    if now is not None and now.astimezone(z).date() == local.date():
        return clock
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b')}, {clock}"


def active_day(event: EventSettings, now: datetime) -> EventDay | None:
    margin = timedelta(minutes=event.entry_opens_minutes_before)
    for day in event.days:
        if day.starts_at - margin <= now <= day.ends_at:
            return day
    return None


def _day_refusal(
    event: EventSettings, valid_dates: tuple[date, ...] | None, now: datetime
) -> tuple[VerdictCode, str] | None:
    if not event.days:
        return None
    days = [d for d in event.days if valid_dates is None or d.date in valid_dates]
    if not days:
        return VerdictCode.NOT_VALID_TODAY, "This ticket is for none of this event's days."
    today = active_day(event, now)
    if today is not None and today in days:
        return None
    margin = timedelta(minutes=event.entry_opens_minutes_before)
    first = min(days, key=lambda d: d.starts_at)
    last = max(days, key=lambda d: d.ends_at)
    if now < first.starts_at - margin:
        when = local_time(first.starts_at - margin, event.time_zone)
        return VerdictCode.NOT_YET_VALID, f"Valid from {when}."
    if now > last.ends_at:
        until = local_time(last.ends_at, event.time_zone)
        return VerdictCode.NO_LONGER_VALID, f"It was valid until {until}."
    dates = ", ".join(f"{d.date:%a} {d.date.day} {d.date:%b}" for d in days)
    return VerdictCode.NOT_VALID_TODAY, f"Valid on {dates} only."


def decide(facts: Facts, now: datetime, direction: Direction) -> Verdict:
    """The verdict for one scan. Never raises on any combination of facts."""
    ver = facts.verification
    if ver.reason is not Reason.OK or ver.claims is None:
        code, detail = _TOKEN_VERDICTS.get(ver.reason, _TOKEN_VERDICTS[Reason.MALFORMED])
        ticket_id = ver.claims.ticket_id if ver.claims is not None else None
        return verdict(code, detail, ticket_id=ticket_id)
    event, ticket = facts.event, facts.ticket
    if event is None:  # verify() passed, so the event is served; a race with a sync dropping it
        return verdict(VerdictCode.WRONG_EVENT, "This ticket's event is not served here.",
                       ticket_id=ver.claims.ticket_id)
    people: dict[str, object] = {"ticket_id": ver.claims.ticket_id}
    if ticket is not None:
        people |= {"holder_name": ticket.holder_name, "ticket_type": ticket.ticket_type,
                   "ticket_number": ticket.ticket_number}
    if event.cancelled:
        return verdict(VerdictCode.CANCELLED, f"{event.name} was cancelled.", **people)
    status = ticket.status if ticket is not None else None
    if facts.revoked in (RevocationReason.TRANSFERRED, RevocationReason.REISSUED) or (
        status is TicketStatus.TRANSFERRED
    ):
        return verdict(VerdictCode.REVOKED,
                       "This ticket was transferred or re-issued: this copy is void.", **people)
    if facts.revoked is RevocationReason.CANCELLED or status is TicketStatus.CANCELLED:
        return verdict(VerdictCode.CANCELLED, "This ticket was cancelled.", **people)
    warning = None
    if ticket is None:
        if event.uncached_policy is UncachedPolicy.REFUSE:
            return verdict(VerdictCode.UNKNOWN_TICKET,
                           "Genuine code, but this door has not downloaded the ticket yet: "
                           "sync, or check the guest in by name.", **people)
        warning = "Genuine code, not yet downloaded to this door: admitted on its signature."
    if direction is Direction.EXIT:
        back = ("They can come back in." if event.reentry_allowed
                else "No re-entry at this event: they cannot come back in.")
        return verdict(VerdictCode.EXIT, back, **people)
    refusal = _day_refusal(event, None if ticket is None else ticket.valid_dates, now)
    if refusal is not None:
        return verdict(refusal[0], refusal[1], **people)
    previous = _previous_entry(facts, event, now)
    if previous is not None:
        at, door = previous
        where = f" at {door}" if door else ""
        detail = (f"Already inside since {local_time(at, event.time_zone, now)}{where}."
                  if event.reentry_allowed
                  else f"Admitted at {local_time(at, event.time_zone, now)}{where}.")
        return verdict(VerdictCode.ALREADY_SCANNED, detail, previous_scan_at=at,
                       previous_scan_door=door or None, **people)
    code = VerdictCode.ADMIT if ticket is not None else VerdictCode.ADMIT_UNCACHED
    return verdict(code, ticket.ticket_type if ticket is not None else "", warning=warning,
                   **people)


def _previous_entry(
    facts: Facts, event: EventSettings, now: datetime
) -> tuple[datetime, str] | None:
    """The entry that makes this one a second entry, if any: (when, door)."""
    today = active_day(event, now)
    since = None
    if today is not None:
        since = today.starts_at - timedelta(minutes=event.entry_opens_minutes_before)

    def in_window(at: datetime) -> bool:
        return since is None or at >= since

    history = [h for h in facts.history if in_window(h.scanned_at)]
    if event.reentry_allowed:
        # inside when this door's last counted scan today was an entry
        if history and history[0].direction is Direction.ENTRY:
            return history[0].scanned_at, history[0].door
        return None
    entries = [h for h in history if h.direction is Direction.ENTRY]
    if entries:
        return entries[-1].scanned_at, entries[-1].door  # the first admission, not the latest
    ticket = facts.ticket
    if ticket is None:
        return None
    # what other doors did, as of the last sync: the first entry, else the latest one
    for at, door in ((ticket.scanned_at, ticket.scanned_door),
                     (ticket.last_entry_at, ticket.last_entry_door)):
        if at is not None and in_window(at):
            return at, door or ""
    return None
