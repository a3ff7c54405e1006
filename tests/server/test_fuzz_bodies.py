"""Random bodies for every route that takes one: never a 500, always a well-formed envelope."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from shared.wire_fields import adapter
from sync_server import api_routes
from sync_server.api import ApiRoute
from sync_server.auth.access import Access
from tests.server.conftest import World, bearer, error_code

SCALARS = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=300)
    | st.sampled_from(["", "2030-06-06T23:00:00Z", "2030-06-06T23:00:00", "America/Chicago",
                       "TICKETED_EVENT", "a@b.cd", "x" * 20_000, "\u0000", "1e309"])
)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=10)


def body_for(route: ApiRoute) -> st.SearchStrategy[Any]:
    assert route.body is not None
    names = list(adapter(route.body).json_schema().get("properties", {}))
    known = st.fixed_dictionaries({}, optional={n: JSON for n in names})
    return known | JSON


def fuzz(api: httpx.Client, route: ApiRoute, path: str, headers: dict[str, str]) -> Any:
    @settings(max_examples=12, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(body=body_for(route))
    def check(body: Any) -> None:
        response = api.request(route.method, path, json=body, headers=headers)
        assert response.status_code < 500, (route.method, path, body, response.text)
        if response.status_code >= 400:
            assert error_code(response)

    return check


def test_random_bodies_never_cause_a_500(api: httpx.Client, world: World,
                                         session: Session) -> None:
    organizer = world.person()
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer)
    _token, device = world.device(organizer, event)
    ids = {"event_id": event.id, "day_id": event.days[0].id, "ticket_type_id": tier.id,
           "bundle_id": 1, "device_id": device.id}
    body_routes = [r for r in api_routes() if r.body is not None]
    assert len(body_routes) >= 12

    for route in body_routes:
        path = route.rule
        for name, value in ids.items():
            path = path.replace(f"<id:{name}>", str(value))
        headers = {} if route.access is Access.PUBLIC else bearer(organizer.token)

        fuzz(api, route, path, headers)()
