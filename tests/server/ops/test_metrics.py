"""/metrics: only with the bearer token; requests counted by route (the URL rule) and status;
the checkout's latency; outbox depth, devices' last contact and database up read at scrape."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from flask import Flask

from sync_server import create_app
from tests.server.conftest import World, server_config
from tests.server.ops.conftest import METRICS_TOKEN as TOKEN
from tests.server.ops.conftest import closed_port
from tests.support.apps import close_app


def sample(text: str, metric: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != metric:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


def scrape(client: httpx.Client) -> str:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return answer.text


def test_metrics_need_the_token(app: Flask, tmp_path: Path, database_url: str) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=app),
                      base_url="http://testserver") as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
        assert scrape(client).startswith("#")
    unset = create_app(server_config(database_url, tmp_path / "other"))
    with httpx.Client(transport=httpx.WSGITransport(app=unset),
                      base_url="http://testserver") as client:
        answer = client.get("/metrics", headers={"Authorization": "Bearer "})
        assert answer.status_code == 404
    close_app(unset)


def test_requests_by_route_and_status_and_checkout_latency(app: Flask, world: World) -> None:
    organizer = world.person("Olive Organizer")
    event = world.event(organizer)
    free = world.ticket_type(event, organizer, price_cents=0, quantity=10)
    buyer = world.person("Bea Buyer")
    _token, device = world.device(organizer, event, name="North door")
    route = "/api/v1/events/<id:event_id>"
    with httpx.Client(transport=httpx.WSGITransport(app=app),
                      base_url="http://testserver") as client:
        before = scrape(client)
        for _ in range(2):
            assert client.get(f"/api/v1/events/{event.id}").status_code == 200
        assert client.get("/api/v1/events/999999").status_code == 404
        bought = client.post("/api/v1/checkout", headers=buyer.headers, json={
            "event_id": event.id, "items": [{"ticket_type_id": free.id, "quantity": 1}]})
        assert bought.status_code == 201, bought.text
        client.get("/no/such/page/123")
        after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("sync_http_requests_total", method="GET", route=route, status="200") == 2
    assert delta("sync_http_requests_total", method="GET", route=route, status="404") == 1
    assert delta("sync_http_requests_total", method="POST", route="/api/v1/checkout",
                 status="201") == 1
    assert delta("sync_http_requests_total", route="<unmatched>", status="404") == 1
    assert f"/api/v1/events/{event.id}" not in after  # never the raw path
    assert delta("sync_checkout_duration_seconds_count") == 1
    assert sample(after, "sync_database_up") == 1
    assert sample(after, "sync_mail_outbox_depth") >= 1  # the free ticket's mail waits
    assert sample(after, "sync_device_last_contact_timestamp_seconds",
                  device_id=str(device.id), name="North door") > 0


def test_database_down_shows_in_the_scrape(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nothing"
    app = create_app({**server_config(url, tmp_path / "instance"), "metrics_token": TOKEN})
    with httpx.Client(transport=httpx.WSGITransport(app=app),
                      base_url="http://testserver") as client:
        assert sample(scrape(client), "sync_database_up") == 0
    close_app(app)
