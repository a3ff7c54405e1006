"""A door on a real SQLite file, fed real door-data pages signed with real event keys."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from scanner_app.core.door import Door
from shared import protocol as p
from shared.keys import derive_event_key
from shared.ticket_token import TicketClaims, sign

MASTER = bytes(range(32))
EVENT = 12
OTHER_EVENT = 13
# Friday 1 May 2026, 7 pm to 2 am in Chicago (UTC-5): 00:00Z to 07:00Z on 2 May; Saturday likewise
DAY1 = p.EventDay(date(2026, 5, 1), datetime(2026, 5, 2, 0, tzinfo=UTC),
                  datetime(2026, 5, 2, 7, tzinfo=UTC))
DAY2 = p.EventDay(date(2026, 5, 2), datetime(2026, 5, 3, 0, tzinfo=UTC),
                  datetime(2026, 5, 3, 7, tzinfo=UTC))
DURING_DAY1 = datetime(2026, 5, 2, 2, 30, tzinfo=UTC)  # 9:30 pm Friday in Chicago


def key_b64(event_id: int = EVENT, version: int = 1) -> str:
    return base64.b64encode(derive_event_key(MASTER, event_id, version)).decode()


def token(ticket_id: int, event_id: int = EVENT, version: int = 1) -> str:
    return sign(TicketClaims(event_id, ticket_id, version),
                derive_event_key(MASTER, event_id, version))


def settings(**changes: object) -> p.EventSettings:
    base = p.EventSettings(event_id=EVENT, name="Spring Fling", time_zone="America/Chicago",
                           days=(DAY1, DAY2), reentry_allowed=False,
                           uncached_policy=p.UncachedPolicy.ADMIT_WITH_WARNING,
                           entry_opens_minutes_before=60)
    return p.EventSettings(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})


def ticket(ticket_id: int, **changes: object) -> p.TicketRecord:
    base = p.TicketRecord(
        ticket_id=ticket_id, event_id=EVENT, ticket_number=f"T-{ticket_id:06d}",
        order_number=f"SL-{1000 + ticket_id}", holder_name=f"Guest {ticket_id}",
        holder_email=f"guest{ticket_id}@example.com", ticket_type="Weekend pass",
        valid_dates=None, status=p.TicketStatus.VALID, revision=1,
    )
    return p.TicketRecord(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})


def page(tickets: tuple[p.TicketRecord, ...] = (), *, event: p.EventSettings | None = None,
         revocations: tuple[p.Revocation, ...] = (), cursor: str = "c1",
         has_more: bool = False, versions: tuple[int, ...] = (1,)) -> p.DoorDataPage:
    return p.DoorDataPage(
        event=event or settings(), keys=tuple(p.EventKey(v, key_b64(EVENT, v)) for v in versions),
        tickets=tickets, revocations=revocations, conflicts=(), cursor=cursor,
        has_more=has_more, full=True, server_time=DURING_DAY1,
    )


@dataclass
class FakeClock:
    now: datetime = DURING_DAY1
    calls: list[datetime] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def _no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    # The machine has no keyring backend anyway; make it explicit and identical everywhere.
    monkeypatch.setenv("STEPPERSLIFE_DOOR_NO_KEYRING", "1")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "door-data"


@pytest.fixture
def door(data_dir: Path, clock: FakeClock) -> Iterator[Door]:
    d = Door.open(data_dir, server_url="http://server.test", clock=clock)
    d.store.store_page(EVENT, page(tuple(ticket(i) for i in range(1, 21))), revision=5)
    yield d
    d.close()
