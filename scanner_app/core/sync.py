"""The sync engine: upload the journal, then download door data. Loses nothing, doubles nothing.

Rules (see docs/sync-protocol.md and docs/door-core.md):

- journal first, then send: the scan path has committed a scan before the engine can see it;
- upload before download: the server holds this door's admissions before we read states back;
- a failed upload never blocks the download: upload, heartbeat and download are steps of a
  round, and an upload the server refuses is recorded while the round goes on (only "offline",
  "wait" and "not authorised" answers end the round, since every later step would get them too);
- a scan the server refuses when sent alone is retried behind the rest, and set aside (a
  journal state, ``set_aside``) after ``MAX_REFUSALS`` rounds in which the server otherwise
  answered: one bad scan can never stop a door from learning of refunds and transfers;
- a scan leaves the outbound queue only once the server's answer for it is stored, so killing
  the process at any instant re-sends at most one batch, which the server dedupes by scan id;
- a page and its cursor are stored together; the cursor is the server's, never our clock;
- failures back off exponentially with full jitter; 429/503 honour ``Retry-After``;
- 401 ``device_revoked`` wipes this server's local data.

It takes an ``httpx.Client`` whose ``base_url`` is the server: a real one in production, one on
``httpx.WSGITransport(app=flask_app)`` in contract tests. The window's sync worker calls
``sync_round`` on a timer (never raises; it says when to try again), the CLI ``sync_once``
(raises); its SQLite transactions are short.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from scanner_app import __version__
from scanner_app.core.backoff import MAX_RETRY_AFTER as MAX_RETRY_AFTER
from scanner_app.core.backoff import Backoff, parse_retry_after
from scanner_app.core.ports import SyncOutcome
from scanner_app.storage.store import LATEST_APP_VERSION, DoorStore, PreparedPage
from shared import protocol as p

logger = logging.getLogger(__name__)

CLOCK_SKEW_WARNING = 120.0  # seconds: scan times (and "which day is today") depend on this clock
MAX_REFUSALS = 3  # rounds in which the server refused a scan sent alone before it is set aside
MAX_REFUSED_PER_ROUND = 3  # lone refusals before a round stops uploading (a broken server)
# Answers that say the server is away, asks us to wait, or will not hear this device: every
# later step of the round would get them too, so the round ends (and backs off).
ROUND_ENDING_STATUSES = frozenset({401, 403, 408, 429, 502, 503, 504})


class SyncError(Exception):
    """A sync round failed; nothing acknowledged was lost. ``code`` is an ErrorCode value or
    ``offline`` / ``bad_answer``; ``retry_after`` is seconds when the server said so."""

    def __init__(self, code: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after


class DeviceRevoked(SyncError):
    """The server revoked this device; its local data has been wiped."""


class NotPaired(SyncError):
    """No device token: pair first."""


@dataclass
class SyncReport:
    uploaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    conflicts: int = 0
    tickets: int = 0
    pages: int = 0
    requests: int = 0
    events: int = 0
    set_aside: int = 0
    upload_error: str | None = None  # the upload step failed (the round went on)

    def to_json(self) -> dict[str, int | str | None]:
        return dict(self.__dict__)


def ends_round(exc: SyncError) -> bool:
    """Whether an upload failure ends the round instead of being recorded."""
    return (isinstance(exc, DeviceRevoked) or exc.code == "offline"
            or exc.status in ROUND_ENDING_STATUSES)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Http:
    """One request at a time, answers checked, errors turned into SyncError."""

    def __init__(self, client: httpx.Client, token: str | None,
                 clock: Callable[[], datetime]) -> None:
        self.client = client
        self.token = token
        self.clock = clock
        self.requests = 0

    def call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
             params: dict[str, str | int] | None = None) -> Any:
        headers = {"X-Protocol-Version": str(p.PROTOCOL_VERSION), "Accept-Encoding": "gzip"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.requests += 1
        try:
            response = self.client.request(method, path, json=body, params=params,
                                           headers=headers)
        except httpx.TransportError as exc:
            raise SyncError("offline", f"{type(exc).__name__}: {exc}") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            code, message = p.read_error(data)
            code = code or f"http_{response.status_code}"
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
            error_type = (DeviceRevoked if code == p.ErrorCode.DEVICE_REVOKED
                          else SyncError)
            raise error_type(code, message or response.reason_phrase,
                             status=response.status_code, retry_after=retry_after)
        if data is None:
            raise SyncError("bad_answer", f"{method} {path}: not JSON",
                            status=response.status_code)
        return data


class SyncEngine:
    def __init__(
        self,
        store: DoorStore,
        client: httpx.Client,
        *,
        batch_size: int = 500,
        page_size: int = p.DEFAULT_PAGE_SIZE,
        clock: Callable[[], datetime] = _utc_now,
        backoff: Backoff | None = None,
        on_page: Callable[[p.DoorDataPage], None] | None = None,
        prefetch: bool = True,
    ) -> None:
        """``on_page`` is called after each door-data page is stored (a progress bar).
        ``prefetch``: ask for the next door-data page while storing this one (False: one
        after the other, as before; the benchmark compares both)."""
        self.store = store
        self.client = client
        self.batch_size = max(1, min(batch_size, p.MAX_SCANS_PER_BATCH))
        self.page_size = page_size
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.on_page = on_page
        self.prefetch = prefetch

    # --- one round ---------------------------------------------------------------------------

    def sync_once(self) -> SyncReport:
        """Upload every queued scan, then download every served event. Raises SyncError."""
        token = self.store.device_token()
        if token is None:
            raise NotPaired("not_paired", "this door is not paired with a server")
        http = _Http(self.client, token, self.clock)
        report = SyncReport()
        skew: float | None = None
        try:
            refused = self._upload_step(http, report)
            sent_at = self.clock()
            beat = self._heartbeat(http)
            if beat.latest_app_version:  # an older server says nothing: keep what we knew
                self.store.set_setting(LATEST_APP_VERSION, beat.latest_app_version)
            if refused:  # the server answers, so those scans are at fault, not an outage
                report.set_aside = self.store.note_refusals(refused, MAX_REFUSALS)
            skew = (beat.server_time - sent_at).total_seconds()
            if abs(skew) > CLOCK_SKEW_WARNING:
                logger.warning("this device's clock is %+.0f s off the server's: fix it", -skew)
            self._download(http, beat, report)
        except DeviceRevoked:
            self.store.wipe()
            raise
        except SyncError as exc:
            self.store.note_sync(ok=False, error=str(exc), at=self.clock())
            raise
        finally:
            report.requests = http.requests
        self.store.note_sync(ok=True, error=report.upload_error, at=self.clock(),
                             clock_skew_seconds=skew)
        self.store.checkpoint()  # after a round, while the door is likely idle
        return report

    def sync_round(self) -> SyncOutcome:
        """``sync_once`` for a timer: never raises a ``SyncError``; a failure backs off (full
        jitter, or the server's ``Retry-After``) and the outcome says how long to wait."""
        try:
            report = self.sync_once()
        except DeviceRevoked:
            return SyncOutcome(online=True, revoked=True, message="device revoked",
                               finished_at=self.clock())
        except NotPaired as exc:
            return SyncOutcome(online=False, message=exc.message, finished_at=self.clock())
        except SyncError as exc:
            delay = self.backoff.failure(exc.retry_after)
            logger.info("sync failed (%s); next try in %.1f s", exc.code, delay)
            return SyncOutcome(online=False, message=exc.message, finished_at=self.clock(),
                               retry_after_s=delay)
        self.backoff.success()
        message = f"sent {report.uploaded} scans, received {report.tickets} tickets"
        if report.upload_error:
            message += f"; upload failed: {report.upload_error}"
        return SyncOutcome(online=True, message=message, finished_at=self.clock())

    def _upload_step(self, http: _Http, report: SyncReport) -> dict[str, str]:
        """Upload; a failure that does not end the round is recorded in ``report``. Returns the
        scans the server refused when sent alone (scan id -> its error code)."""
        refused: dict[str, str] = {}
        try:
            self._upload(http, report, refused)
        except SyncError as exc:
            if ends_round(exc):
                raise
            report.upload_error = str(exc)
        if refused and report.upload_error is None:
            report.upload_error = (f"the server refused {len(refused)} scan(s): "
                                   + ", ".join(sorted(set(refused.values()))))
        if report.upload_error:
            logger.warning("upload failed, the round goes on: %s", report.upload_error)
        return refused

    def _upload(self, http: _Http, report: SyncReport, refused: dict[str, str]) -> None:
        size = self.batch_size
        # A batch the server refuses is halved until the scan at fault is alone; that scan is
        # left queued (behind the rest from the next round on) and the rest goes on.
        while len(refused) < MAX_REFUSED_PER_ROUND:
            batch = self.store.pending_scans(size, refused.keys())
            if not batch:
                return
            body = p.ScanBatch(tuple(batch), self.clock()).to_json()
            try:
                data = http.call("POST", p.SCANS_PATH, body=body)
            except SyncError as exc:
                if ends_round(exc) or exc.status is None:
                    raise
                if len(batch) > 1:
                    size = max(1, len(batch) // 2)
                    continue
                logger.error("server refused scan %s sent alone: %s %s",
                             batch[0].scan_id, exc.status, exc.message)
                refused[batch[0].scan_id] = exc.code
                size = self.batch_size
                continue
            try:
                answer = p.ScanBatchResult.from_json(data)
            except p.ProtocolError as exc:
                raise SyncError("bad_answer", f"scan upload answer: {exc}") from exc
            sent = {s.scan_id for s in batch}
            results = [r for r in answer.results if r.scan_id in sent]
            if self.store.acknowledge(results) == 0:
                raise SyncError("bad_answer", "the server acknowledged none of the batch")
            for r in results:
                if r.outcome is p.ScanOutcome.ACCEPTED:
                    report.uploaded += 1
                elif r.outcome is p.ScanOutcome.DUPLICATE:
                    report.duplicates += 1
                else:
                    report.rejected += 1
                if r.conflict is not None:
                    report.conflicts += 1

    def _heartbeat(self, http: _Http) -> p.HeartbeatResponse:
        counts = self.store.counts()
        body = p.HeartbeatRequest(
            device_time=self.clock(), app_version=__version__,
            scans_queued=counts["scans_queued"], tickets_cached=counts["tickets_cached"],
        ).to_json()
        try:
            return p.HeartbeatResponse.from_json(http.call("POST", p.HEARTBEAT_PATH, body=body))
        except p.ProtocolError as exc:
            raise SyncError("bad_answer", f"heartbeat answer: {exc}") from exc

    def _download(self, http: _Http, beat: p.HeartbeatResponse, report: SyncReport) -> None:
        self.store.note_events_served(beat.events)
        held = self.store.event_cursors()
        for summary in beat.events:
            cursor, revision = held.get(summary.event_id, (None, -1))
            if cursor is not None and revision == summary.revision:
                continue  # nothing changed since our last complete download
            report.events += 1
            try:
                self._download_event(http, summary, cursor, report)
            except SyncError as exc:
                if exc.code == p.ErrorCode.CURSOR_EXPIRED:
                    logger.info("event %s: cursor expired, full download", summary.event_id)
                    self.store.restart_snapshot(summary.event_id)
                    self._download_event(http, summary, None, report)
                elif exc.code in (p.ErrorCode.EVENT_NOT_SERVED, p.ErrorCode.NOT_FOUND):
                    self.store.forget_event(summary.event_id)
                else:
                    raise

    def _download_event(self, http: _Http, summary: p.EventSummary, cursor: str | None,
                        report: SyncReport) -> None:
        """Fetch and store the event's pages in order. With ``prefetch``, page n + 1 is asked
        for, parsed and prepared (its rows and search terms computed) in one helper thread
        while page n is being stored: the server's work, the door's Python work and the door's
        SQLite work (which releases the GIL) overlap. Pages are still stored one after the
        other, each moving the cursor, so an interrupted download resumes as before."""
        pool = ThreadPoolExecutor(1, thread_name_prefix="door-prefetch") if self.prefetch else None
        try:
            prepared = self._fetch_page(http, summary, cursor)
            while True:
                page = prepared.page
                repeated = page.has_more and page.cursor == cursor
                following: Future[PreparedPage] | None = None
                if page.has_more and not repeated and pool is not None:
                    following = pool.submit(self._fetch_page, http, summary, page.cursor)
                try:
                    report.tickets += self.store.store_page(
                        summary.event_id, prepared, None if page.has_more else summary.revision
                    )
                except BaseException:
                    if following is not None:
                        following.cancel()
                        with contextlib.suppress(Exception):
                            following.result()  # never leave a request running behind us
                    raise
                report.pages += 1
                if self.on_page is not None:
                    self.on_page(page)
                if not page.has_more:
                    return
                if repeated:
                    raise SyncError("bad_answer", "the server repeated its cursor")
                cursor = page.cursor
                prepared = (following.result() if following is not None
                            else self._fetch_page(http, summary, cursor))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    def _fetch_page(self, http: _Http, summary: p.EventSummary,
                    cursor: str | None) -> PreparedPage:
        params: dict[str, str | int] = {"limit": self.page_size}
        if cursor is not None:
            params["cursor"] = cursor
        data = http.call("GET", p.door_data_path(summary.event_id), params=params)
        try:
            page = p.DoorDataPage.from_json(data)
        except p.ProtocolError as exc:
            raise SyncError("bad_answer", f"door data page: {exc}") from exc
        if page.event.event_id != summary.event_id:
            raise SyncError("bad_answer", "door data page of another event")
        return self.store.prepare_page(page)


def pair(client: httpx.Client, data_dir: Path, code: str, *, device_name: str = "",
         platform: str = "") -> p.PairResponse:
    """Exchange a pairing code for a device token; store it (sealed) and make it the active
    server. ``client.base_url`` is the server. The code already names the device and its
    events; a non-empty ``device_name`` renames the device on the server."""
    server_url = str(client.base_url).rstrip("/")
    http = _Http(client, None, _utc_now)
    body = p.PairRequest(code=code.strip(), device_name=device_name.strip(),
                         app_version=__version__, platform=platform).to_json()
    data = http.call("POST", p.PAIR_PATH, body=body)
    try:
        answer = p.PairResponse.from_json(data)
    except p.ProtocolError as exc:
        raise SyncError("bad_answer", f"pairing answer: {exc}") from exc
    store = DoorStore.open_server(data_dir, server_url)
    try:
        store.save_pairing(server_url, answer)
    finally:
        store.close()
    logger.info("paired with %s as device %s", server_url, answer.device_id)
    return answer
