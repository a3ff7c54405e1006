"""/healthz and /readyz: ready on a migrated database; 503 with the reason when the database
is unreachable or its migrations are behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Response, request

from sync_server import create_app
from sync_server.migrate import current_heads, upgrade
from tests.server.conftest import server_config
from tests.server.ops.conftest import closed_port
from tests.support.apps import close_app


def _client(database_url: str, instance: Path) -> Iterator[httpx.Client]:
    app = create_app(server_config(database_url, instance))
    with httpx.Client(transport=httpx.WSGITransport(app=app),
                      base_url="http://testserver") as client:
        yield client
    close_app(app)


def test_ready_on_a_migrated_database(root: httpx.Client) -> None:
    assert root.get("/healthz").json() == {"status": "ok"}
    ready = root.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "problems": []}


@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
def test_unreachable_database_is_not_ready_but_healthy(where: str, tmp_path: Path) -> None:
    url = (f"sqlite:///{tmp_path / 'no-such-folder' / 'x.db'}" if where == "sqlite"
           else f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nothing")
    for client in _client(url, tmp_path / "instance"):
        assert client.get("/healthz").status_code == 200
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["status"] == "not ready"
        assert answer.json()["problems"][0].startswith("database unreachable: ")


def test_migrations_behind_are_not_ready(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url, "0003")
    for client in _client(database_url, tmp_path / "instance"):
        answer = client.get("/readyz")
        assert answer.status_code == 503
        (problem,) = answer.json()["problems"]
        wanted = ", ".join(current_heads())
        assert f"migrations not at head: database at 0003, code wants {wanted}" in problem
    upgrade(database_url)
    for client in _client(database_url, tmp_path / "instance"):
        assert client.get("/readyz").status_code == 200


def test_probes_need_no_session_or_token(root: httpx.Client) -> None:
    answer = root.get("/readyz")
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_client_address_from_the_proxy_only_when_told(tmp_path: Path, database_url: str,
                                                      hops: int, seen: str) -> None:
    app = create_app({**server_config(database_url, tmp_path / "i"), "proxy_hops": hops})
    addresses: list[str | None] = []

    @app.after_request
    def note(response: Response) -> Response:
        addresses.append(request.remote_addr)
        return response

    with httpx.Client(transport=httpx.WSGITransport(app=app, remote_addr="127.0.0.1"),
                      base_url="http://testserver") as client:
        client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert addresses == [seen]
    close_app(app)
