"""``/healthz`` (the process answers) and ``/readyz`` (the database answers and its migrations
are at head; otherwise 503 with the reasons), for load balancers and systemd/Kubernetes probes."""

from __future__ import annotations

import functools
import logging

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.engine import Engine

from sync_server.migrate import current_heads

logger = logging.getLogger(__name__)
bp = Blueprint("ops_health", __name__)
# The code's heads, read once per process (parsing the migration scripts costs milliseconds).
code_heads = functools.cache(current_heads)


def database_problems(engine: Engine) -> list[str]:
    """What keeps this database from serving, in words; empty when it is reachable and at head."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            applied = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.SQLAlchemyError as error:
        reason = str(error.orig if isinstance(error, sa.exc.DBAPIError) else error)
        return [f"database unreachable: {reason.splitlines()[0] if reason else type(error)}"]
    wanted = set(code_heads())
    if applied != wanted:
        shown = ", ".join(sorted(applied)) or "none"
        return [f"migrations not at head: database at {shown}, code wants "
                f"{', '.join(sorted(wanted))} (run `sync-server db upgrade`)"]
    return []


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    problems = database_problems(current_app.extensions["sync_db_engine"])
    if problems:
        logger.warning("not ready: %s", "; ".join(problems))
        return jsonify(status="not ready", problems=problems), 503
    return jsonify(status="ready", problems=[]), 200
