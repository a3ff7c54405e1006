"""Live updates: server-sent events fanned out through PostgreSQL LISTEN/NOTIFY (polling on
SQLite). Domain-free: a domain ``publish``-es a topic after its commit; a stream process keeps one
``Hub`` that wakes on NOTIFY (or its poll tick), recomputes the watched snapshots with a function
the domain gives it, and pushes what changed to each open stream (docs/queue.md, "Streams").
"""

from sync_server.live.publish import CHANNEL, publish

__all__ = ["CHANNEL", "publish"]
