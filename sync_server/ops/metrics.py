"""Prometheus metrics at ``/metrics`` with the official ``prometheus_client``.

Counted in every worker: requests by route (the URL rule, never the raw path: ids would make a
series per order) and status, and the checkout's latency (observed around the endpoint by its
name, so the orders domain knows nothing of metrics). Read from the database at each scrape:
the mail outbox depth, each door device's last contact, and whether the database answers.

Under gunicorn with several workers each worker counts on its own; set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder (deploy/gunicorn.conf.py does, and empties it at
start) and every worker writes its samples there, and a scrape answered by any worker adds them
all up (prometheus_client's multiprocess mode).

Who may read: only a scraper presenting ``Authorization: Bearer $SYNC_METRICS_TOKEN``; without
the setting ``/metrics`` answers 404. A token, not an address list: behind the reverse proxy
every request comes from the proxy's address, so an address rule would let the world in (or
need the proxy's forwarded headers, which a client can forge if the proxy is ever bypassed).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from sync_server.config import Config
from sync_server.devices.models import Device
from sync_server.jobs.models import JobRun
from sync_server.mail.models import MailStatus, OutboxMessage

logger = logging.getLogger(__name__)

# The checkout route's endpoint (blueprint "api_v1", view orders.api.checkout).
CHECKOUT_ENDPOINT = "api_v1.orders_checkout"
UNMATCHED = "<unmatched>"

REQUESTS = Counter("sync_http_requests", "HTTP requests answered, by route and status",
                   ["method", "route", "status"])
CHECKOUT_SECONDS = Histogram(
    "sync_checkout_duration_seconds", "Time to answer POST /api/v1/checkout",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))


class DatabaseCollector(Collector):
    """Gauges read from the database when scraped (the same in every worker: not summed)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("sync_database_up", "1 when the database answered the scrape")
        outbox = GaugeMetricFamily("sync_mail_outbox_depth",
                                   "Mail messages waiting to be sent (PENDING)")
        contact = GaugeMetricFamily(
            "sync_device_last_contact_timestamp_seconds",
            "Unix time a paired (not revoked) device last reached the server",
            labels=["device_id", "name"])
        jobs_ok = GaugeMetricFamily(
            "sync_job_last_success_timestamp_seconds",
            "Unix time each job of `sync-server jobs` last finished without error (job "
            "\"worker\": the worker's heartbeat)", labels=["job"])
        jobs_failed = GaugeMetricFamily(
            "sync_job_failed", "1 when the job's last run failed", labels=["job"])
        try:
            with self.engine.connect() as connection:
                runs = connection.execute(
                    sa.select(JobRun.name, JobRun.last_ok_at, JobRun.last_error)).all()
                pending = connection.scalar(
                    sa.select(sa.func.count()).select_from(OutboxMessage)
                    .where(OutboxMessage.status == MailStatus.PENDING))
                devices = connection.execute(
                    sa.select(Device.id, Device.name, Device.last_seen_at, Device.paired_at)
                    .where(Device.revoked_at.is_(None))).all()
        except sa.exc.SQLAlchemyError as error:
            logger.warning("metrics: the database did not answer: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        outbox.add_metric([], pending or 0)
        for device_id, name, last_seen, paired in devices:
            seen = last_seen or paired
            contact.add_metric([str(device_id), name], seen.timestamp() if seen else 0)
        for name, last_ok, last_error in runs:
            jobs_ok.add_metric([name], last_ok.timestamp() if last_ok else 0)
            jobs_failed.add_metric([name], 1 if last_error else 0)
        yield from (up, outbox, contact, jobs_ok, jobs_failed)


def _started() -> None:
    g.ops_started = time.perf_counter()


def _counted(response: Response) -> Response:
    rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    REQUESTS.labels(request.method, rule, str(response.status_code)).inc()
    started = g.get("ops_started")
    if request.endpoint == CHECKOUT_ENDPOINT and started is not None:
        CHECKOUT_SECONDS.observe(time.perf_counter() - started)
    return response


def metrics_view() -> Response:
    config: Config = current_app.extensions["sync_config"]
    given = request.headers.get("Authorization", "")
    if not config.metrics_token or not hmac.compare_digest(
            given.encode(), f"Bearer {config.metrics_token}".encode()):
        # One answer for "disabled" and "wrong token": nothing to learn by probing.
        return Response("not found\n", status=404, mimetype="text/plain")
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(REQUESTS)
        registry.register(CHECKOUT_SECONDS)
    registry.register(DatabaseCollector(current_app.extensions["sync_db_engine"]))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.before_request(_started)
    app.after_request(_counted)
    app.add_url_rule("/metrics", "ops_metrics", metrics_view)
