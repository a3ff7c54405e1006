"""bench/live.py's server-sent-event clients, in processes of their own, as cheap as Python allows.

Why their own processes and this shape: the first bench ran 2,000 ``StreamReader.readline`` clients
in the bench's own event loop, parsing each frame as it came. That loop fell behind the frames (they
piled up in the sockets' buffers, so the "lag" grew through the run) and was measured as the
server's lag. Here each process runs an ``asyncio.Protocol`` per client whose ``data_received``
only notes (arrival time, bytes): parsing happens after the run. Each process also measures how
late its own loop runs (a 50 ms ticker's overshoot): when that lag is near the sale-to-client time,
the clients, not the server, are the bottleneck.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import re
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

TICK = 0.05


class _Stream(asyncio.Protocol):
    def __init__(self, request: bytes, chunks: list[tuple[float, bytes]]) -> None:
        self.request, self.chunks = request, chunks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.chunks.append((time.time(), data))


async def _run(port: int, event_id: int, count: int, stop: Connection) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    request = (f"GET /api/v1/events/{event_id}/live HTTP/1.1\r\nHost: b\r\n"
               "Accept: text/event-stream\r\n\r\n").encode()
    chunks: list[list[tuple[float, bytes]]] = [[] for _ in range(count)]
    transports = []
    for n in range(count):
        try:
            transport, _ = await loop.create_connection(
                functools.partial(_Stream, request, chunks[n]), "127.0.0.1", port)
            transports.append(transport)
        except OSError:
            continue
        if n % 100 == 99:
            await asyncio.sleep(0.05)
    # Open means answered: each stream's first availability came (a server still opening
    # streams when the sale starts would be measured as lag).
    deadline = loop.time() + 120
    while loop.time() < deadline and not all(chunks):
        await asyncio.sleep(0.1)
    stop.send(sum(1 for c in chunks if c))  # the parent waits for this before the sale
    lags: list[float] = []
    cpu_before = time.process_time()
    while not stop.poll():
        expected = loop.time() + TICK
        await asyncio.sleep(TICK)
        lags.append(loop.time() - expected)
    cpu = time.process_time() - cpu_before
    for transport in transports:
        transport.close()
    return {"chunks": chunks, "loop_lags": lags, "cpu_s": cpu}


def _child(port: int, event_id: int, count: int, pipe: Connection) -> None:
    pipe.send(asyncio.run(_run(port, event_id, count, pipe)))


def parse(chunks: list[tuple[float, bytes]], tier_id: int) -> list[tuple[float, int]]:
    """(time, available of ``tier_id``) per availability frame, by the time its chunk came."""
    pattern = re.compile(rb'"available":(\d+),"held":\d+,"id":' + str(tier_id).encode() + rb"\b")
    return [(at, int(m.group(1))) for at, data in chunks for m in pattern.finditer(data)]


class Clients:
    """``count`` clients spread over ``processes`` processes; ``seen`` after :meth:`close`."""

    def __init__(self, port: int, event_id: int, tier_id: int, count: int,
                 processes: int) -> None:
        self.tier_id, self.count = tier_id, count
        context = multiprocessing.get_context("spawn")
        shares = [count // processes + (1 if n < count % processes else 0)
                  for n in range(processes)]
        self.pipes, self.children = [], []
        for share in shares:
            ours, theirs = context.Pipe()
            child = context.Process(target=_child, args=(port, event_id, share, theirs),
                                    daemon=True)
            self.pipes.append(ours)
            self.children.append(child)
        self.seen: list[list[tuple[float, int]]] = []
        self.connected = 0
        self.loop_lag: dict[str, float] = {}
        self.cpu_s = 0.0
        self.open_seconds = 0.0

    def start(self) -> None:
        """Start the processes; return once every one has opened its streams."""
        began = time.monotonic()
        for child in self.children:
            child.start()
        for pipe in self.pipes:
            self.connected += pipe.recv() if pipe.poll(180) else 0
        self.open_seconds = round(time.monotonic() - began, 1)  # processes' start included

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send("stop")
        lags: list[float] = []
        for pipe, child in zip(self.pipes, self.children, strict=True):
            found = pipe.recv()
            child.join(timeout=30)
            self.seen += [parse(c, self.tier_id) for c in found["chunks"]]
            lags += found["loop_lags"]
            self.cpu_s += found["cpu_s"]
        ordered = sorted(lags) or [0.0]
        self.loop_lag = {"p50_s": round(statistics.median(ordered), 3),
                         "p99_s": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
                         "max_s": round(ordered[-1], 3)}
