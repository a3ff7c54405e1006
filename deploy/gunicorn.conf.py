"""gunicorn settings for the sync server: ``gunicorn -c deploy/gunicorn.conf.py``.

Worker class gthread with 2 threads per worker: bench/flash_sale.py measured `--threads 2` as the
checkout's knob (a worker's second thread runs Python while the first waits on PostgreSQL's row
lock; more threads only queue on the GIL and the one hot ticket-type row). Workers: 2 per core,
not gunicorn's 2 x cores + 1, because PostgreSQL on the same machine does about a quarter of the
work; with the database on its own machine try 2 x cores + 1. Every worker holds its own
connection pool: workers x threads connections at most, keep it under PostgreSQL's
max_connections with room for the jobs worker, backups and psql.

The live streams (server-sent events) are not served here: a stream would hold one of these
threads for as long as a page stays open. They have their own process, ``sync-server streams``
(one asyncio thread for every stream; deploy/systemd/sync-server-streams.service, docs/queue.md).

Each value can be overridden by the environment (``SYNC_BIND``, ``SYNC_WORKERS``,
``SYNC_THREADS``) or on gunicorn's command line.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

wsgi_app = "sync_server:create_app()"
bind = os.environ.get("SYNC_BIND", "127.0.0.1:8000")
worker_class = "gthread"
threads = int(os.environ.get("SYNC_THREADS", "2"))
workers = int(os.environ.get("SYNC_WORKERS", str(2 * (os.cpu_count() or 1))))
# A request that takes longer than this is a stuck worker: it is killed and replaced.
timeout = 30
graceful_timeout = 30
keepalive = 5  # behind nginx, which keeps its own connections to the clients
# Not preloaded: each worker builds its app (and connection pool) after the fork.
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("SYNC_GUNICORN_LOG_LEVEL", "info")
# Trust X-Forwarded-* only from the local reverse proxy.
forwarded_allow_ips = "127.0.0.1,::1"


def on_starting(server: Any) -> None:
    """Prometheus' multiprocess folder starts empty: samples of the last run's workers would
    otherwise be added to this run's (sync_server/ops/metrics.py)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker that ended leaves its live gauges behind; prometheus_client drops them."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
