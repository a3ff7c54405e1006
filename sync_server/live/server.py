"""``sync-server streams``: the live streams served from ONE asyncio thread, not a thread each.

Why: under gunicorn's gthread worker every open stream is a thread waiting on its subscription;
each change of availability wakes 2,000 of them, and each takes the GIL in turn to write its few
hundred bytes. Here the hub's thread hands each refresh's changed subscriptions to an event loop
in ONE call, and the loop writes the same encoded frame to each socket: no thread wakes per
stream. Before / after (bench/live.py, 2,000 streams, 20 s flash sale, alternated, 2026-12-03
18:14–18:39, load 12–17): the streams process's CPU during the sale 7.97–9.55 s / 1.15–1.24 s;
sale → every client p99 1.07–1.51 s / 0.51–0.74 s; 2,000 streams opened in 27–46 s / 14–16.5 s.

What stays the app's: every request is first answered by the Flask app itself (a thread of a
small pool runs it as WSGI), so routing, authorization, the session cookie and bearer tokens,
error envelopes and the first snapshot are exactly gunicorn's. The stream view sees
:data:`HANDOVER` in the WSGI environ and, instead of a body that never ends, hands its hub and
subscription to this server, which sends the response's status and headers and then the frames.
Any other request (or a client not asking for ``text/event-stream``) is answered once and the
connection closed. Meant behind nginx (deploy/nginx.conf), which speaks HTTP/1.1 to it.

Only the standard library (asyncio): no async worker package is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import signal
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote_to_bytes

from sync_server.live.hub import KEEPALIVE, Hub, Subscription

logger = logging.getLogger(__name__)

HANDOVER = "sync.live.handover"  # environ key: a callable(hub, subscription)
MAX_HEAD = 64 * 1024
HEAD_SECONDS = 10.0
BUFFERED_LIMIT = 64 * 1024  # a client this far behind skips states until it catches up
REQUEST_THREADS = 8  # WSGI calls at once (stream openings: a snapshot each)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Stream:
    """One handed-over stream: its subscription and its socket."""

    __slots__ = ("hub", "sub", "writer")

    def __init__(self, hub: Hub, sub: Subscription, writer: asyncio.StreamWriter) -> None:
        self.hub, self.sub, self.writer = hub, sub, writer

    def flush(self) -> None:
        """Write what the hub handed over, unless the client has not read what it had."""
        if self.writer.is_closing() or not self.sub.ready.is_set():
            return
        if self.writer.transport.get_write_buffer_size() > BUFFERED_LIMIT:
            return  # its pending frames are kept (latest only) for a later flush
        for _kind, encoded in self.sub.take(0):
            self.writer.write(encoded)


class StreamServer:
    def __init__(self, app: WsgiApp, *, keepalive_seconds: float) -> None:
        self.app = app
        self.keepalive_seconds = keepalive_seconds
        self.pool = ThreadPoolExecutor(REQUEST_THREADS, thread_name_prefix="live-request")
        self.streams: dict[Subscription, _Stream] = {}
        self.hubs: set[Hub] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    # --- the hub's side (its thread) ------------------------------------------------------

    def _offered(self, subs: list[Subscription]) -> None:
        """Called by a hub's thread after each refresh: ONE hop to the loop for all of them."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._flush, subs)

    def _flush(self, subs: Iterable[Subscription]) -> None:
        for sub in subs:
            stream = self.streams.get(sub)
            if stream is not None:
                stream.flush()

    # --- connections ----------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_SECONDS)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            writer.close()
            return
        try:
            environ = await self._environ(head, reader, writer)
        except (ValueError, asyncio.IncompleteReadError, ConnectionError):
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            writer.close()
            return
        handed: list[tuple[Hub, Subscription]] = []
        environ[HANDOVER] = lambda hub, sub: handed.append((hub, sub))
        loop = asyncio.get_running_loop()
        try:
            status, headers, body = await loop.run_in_executor(self.pool, self._call, environ)
        except Exception:  # Flask answers its own errors: this is a bug, never a hung socket
            logger.exception("live streams: the app failed on %s", environ["PATH_INFO"])
            status, headers, body = "500 Internal Server Error", [], b""
        if not handed:
            writer.write(_head(status, [*headers, ("Content-Length", str(len(body)))]) + body)
            await _close(writer)
            return
        hub, sub = handed[0]
        if hub not in self.hubs:
            self.hubs.add(hub)
            hub.listeners.append(self._offered)
        stream = _Stream(hub, sub, writer)
        self.streams[sub] = stream
        try:
            writer.write(_head(status, headers) + body + b"retry: 2000\n\n")
            stream.flush()  # the first snapshot the view offered
            while await reader.read(4096):  # a stream's client sends nothing more: wait for EOF
                pass
        except ConnectionError:
            pass
        finally:
            self.streams.pop(sub, None)
            hub.unsubscribe(sub)
            await _close(writer)

    async def _environ(self, head: bytes, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> dict[str, Any]:
        lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError(version)
        path, _, query = target.partition("?")
        peer = writer.get_extra_info("peername") or ("", 0)
        sock = writer.get_extra_info("sockname") or ("", 0)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "", "QUERY_STRING": query,
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "RAW_URI": target,
            "SERVER_PROTOCOL": version, "SERVER_NAME": str(sock[0]), "SERVER_PORT": str(sock[1]),
            "REMOTE_ADDR": str(peer[0]), "REMOTE_PORT": str(peer[1]),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        }
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(line)
            key = name.strip().upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value.strip()
            elif "_" not in name:  # never a header spelled with "_" (it would pass as "-")
                key = "HTTP_" + key
                environ[key] = (environ[key] + "," + value.strip() if key in environ
                                else value.strip())
        if "HTTP_TRANSFER_ENCODING" in environ:  # streams are GETs: no chunked bodies here
            raise ValueError("Transfer-Encoding")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if not 0 <= length <= MAX_HEAD:
            raise ValueError("body too large")
        environ["wsgi.input"] = io.BytesIO(await reader.readexactly(length) if length else b"")
        return environ

    def _call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """The app's answer (a thread of the pool): status, headers, the whole body."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return lambda _data: None

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return started[0], [(k, v) for k, v in started[1] if k.lower() != "content-length"], body

    async def keepalive(self) -> None:
        """A comment line to every stream (proxies keep idle streams open; a dead client is
        found by its failed write), and a second chance for skipped streams."""
        while True:
            await asyncio.sleep(self.keepalive_seconds)
            for stream in list(self.streams.values()):
                if stream.writer.transport.get_write_buffer_size() <= BUFFERED_LIMIT:
                    stream.writer.write(KEEPALIVE)
                    stream.flush()

    async def serve(self, host: str, port: int, ready: Callable[[int], None] | None = None,
                    stop: asyncio.Event | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        if ready is None:  # the command: SIGTERM/SIGINT end it (a test stops it with ``stop``)
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.loop.add_signal_handler(sig, stop.set)
        server = await asyncio.start_server(self.handle, host, port, limit=MAX_HEAD,
                                            backlog=4096)
        ticker = asyncio.ensure_future(self.keepalive())
        bound = server.sockets[0].getsockname()[1]
        logger.info("live streams on http://%s:%s/", host, bound)
        if ready is not None:
            ready(bound)
        try:
            await stop.wait()
        finally:
            ticker.cancel()
            server.close()
            for stream in list(self.streams.values()):
                stream.writer.close()
            for hub in self.hubs:
                hub.listeners.remove(self._offered)
            self.pool.shutdown(wait=False)


def _head(status: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
