"""The migrations build exactly the models; the OpenAPI document covers every route."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from shared import protocol as p
from sync_server import api_routes
from sync_server.api import API_PREFIX
from sync_server.migrate import current_heads, upgrade
from sync_server.models import Base
from sync_server.openapi import openapi_path
from tests.server.test_authorization_matrix import registered_api_routes


def test_upgrading_an_empty_database_gives_exactly_the_models(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # idempotent
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_heads() == current_heads()
            tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set(Base.metadata.tables)
        # Every table of the seed's section 4 has a home (seed "tickets" are ticket_types).
        assert {"users", "events", "event_days", "ticket_types", "bundles", "bundle_days",
                "orders", "order_items", "ticket_instances", "waiting_list",
                "authorized_sellers", "event_staff", "scans", "rate_limits", "discount_codes",
                "devices", "device_events", "pairing_codes", "event_key_versions",
                "revoked_tokens", "audit_log", "api_tokens"} <= tables
    finally:
        engine.dispose()


def test_openapi_documents_every_registered_route(app: Flask, api: httpx.Client) -> None:
    doc = api.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    registered = {(openapi_path(rule), method) for rule, method in registered_api_routes(app)}
    assert registered == documented
    routes = api_routes()
    assert len(documented) == len(routes)
    for route in routes:
        op = doc["paths"][openapi_path(route.rule)][route.method.lower()]
        assert op["summary"] and op["x-access"] == route.access.value
        if route.body is not None:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            name = ref.rsplit("/", 1)[1]
            assert doc["components"]["schemas"][name]["type"] == "object"
        success = op["responses"][str(route.status)]["content"][route.produces]["schema"]
        if route.response is not None:
            assert success == {"$ref": f"#/components/schemas/{route.response.__name__}"}
        params = {p["name"] for p in op["parameters"] if p["in"] == "path"}
        assert params == {part.split(":")[1].rstrip(">") for part in route.rule.split("/")
                          if part.startswith("<")}
    assert all(path.startswith(API_PREFIX) for path in doc["paths"])
    assert "Error" in doc["components"]["schemas"]
    # Every route of this issue documents its success body (others may add theirs later).
    mine = ("accounts", "events", "staff", "devices")
    assert all(r.response is not None for r in routes if r.tag in mine)


def test_openapi_shows_the_door_protocol_shapes(api: httpx.Client) -> None:
    doc = api.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    upload = doc["paths"]["/api/v1/door/scans"]["post"]
    assert upload["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScanBatch"}
    assert upload["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScanBatchResult"}
    assert schemas["ScanBatch"]["properties"]["scans"]["maxItems"] == p.MAX_SCANS_PER_BATCH
    scan = schemas["ScanRecord"]
    assert {"scan_id", "scanned_at", "verdict", "scan_type"} <= set(scan["required"])
    assert scan["properties"]["scanned_at"]["format"] == "date-time"
    data = doc["paths"]["/api/v1/door/events/{event_id}/data"]["get"]
    limit = next(q for q in data["parameters"] if q["name"] == "limit")
    assert (limit["in"], limit["schema"]["maximum"]) == ("query", p.MAX_PAGE_SIZE)
    assert set(schemas["DoorDataPage"]["properties"]) >= {"event", "tickets", "cursor"}
    pair = doc["paths"]["/api/v1/door/pair"]["post"]
    assert pair["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PairResponse"}


def test_migrations_and_templates_ship_in_the_package() -> None:
    # setuptools ships packages (folders with __init__.py) plus their package-data patterns
    # (*.mako, *.html in pyproject.toml): the revision files and page templates must be inside.
    import tomllib
    from pathlib import Path

    from setuptools import find_packages

    root = Path(__file__).resolve().parents[2]
    packages = set(find_packages(where=str(root), include=["sync_server*"]))
    assert {"sync_server.migrations", "sync_server.migrations.versions",
            "sync_server.templates"} <= packages
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert {"*.mako", "*.html"} <= set(data["package-data"]["*"])
    assert list((root / "sync_server" / "templates").glob("*.html"))
