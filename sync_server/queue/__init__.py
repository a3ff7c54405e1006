"""The waiting list of sold-out ticket types: join, leave, place in line, timed offers
(docs/queue.md)."""

from __future__ import annotations

from sync_server.config import Config


def connect_signals(config: Config) -> None:
    """Units back on sale -> offered to the line; an offer's order completed -> PURCHASED;
    an event cancelled -> its lines end."""
    from sync_server.queue.reactions import connect

    connect(config)
