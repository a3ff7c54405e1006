"""Closing an app a test made: what it started stopped, its database connections closed."""

from __future__ import annotations

import time

from flask import Flask

WAIT_SECONDS = 10.0


def close_app(app: Flask, *, wait_seconds: float = WAIT_SECONDS) -> None:
    """Stop the app's live hub and close its connections once every one is back in the pool.

    A live server's request thread may still be finishing when its test ends. A connection it
    holds at ``dispose()`` goes back to the discarded pool and is deleted, still open, whenever
    the garbage collector gets to it. psycopg warns then (a ResourceWarning, an error under the
    project's filterwarnings), and the error lands on whichever later test is running. So wait
    (at most ``wait_seconds``) for the connections to come back before closing them.
    """
    hub = app.extensions.get("sync_live_hub")
    if hub is not None:
        hub.stop()
    engine = app.extensions["sync_db_engine"]
    checked_out = getattr(engine.pool, "checkedout", lambda: 0)
    deadline = time.monotonic() + wait_seconds
    while checked_out() and time.monotonic() < deadline:
        time.sleep(0.02)
    engine.dispose()
