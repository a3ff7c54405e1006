"""Ops fixtures: an HTTP client at the app's root (probes and /metrics live outside /api/v1)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask

from sync_server import create_app
from tests.server.conftest import server_config
from tests.support.apps import close_app

METRICS_TOKEN = "scrape-token-for-tests"


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def app(database_at_head: str, tmp_path: Path) -> Iterator[Flask]:
    """The server's ``app`` fixture, with a metrics token set."""
    application = create_app({**server_config(database_at_head, tmp_path / "instance"),
                              "metrics_token": METRICS_TOKEN})
    yield application
    close_app(application)


@pytest.fixture
def root(app: Flask) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.WSGITransport(app=app),
                      base_url="http://testserver") as client:
        yield client
