"""Operating the server: health and readiness probes, Prometheus metrics, the start-up check of
the master secret in production, and the ``config``/``doctor``/``backup``/``restore`` commands
(``sync_server.ops.commands``). docs/operations.md is the operator's guide."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from sync_server.config import Config
from sync_server.ops import health, metrics
from sync_server.ops.secrets import master_secret_problems


class UnsafeProductionConfig(RuntimeError):
    """``SYNC_ENV=production`` with a missing or weak secret: the server refuses to start."""


def init_app(app: Flask) -> None:
    """Register the probes and the metrics; trust the configured proxies' forwarded headers; in
    production, refuse to start on a weak secret."""
    config: Config = app.extensions["sync_config"]
    if config.env == "production":
        problems = master_secret_problems(config)
        if not config.secret_key:
            problems.append("SYNC_SECRET_KEY is not set (production generates no secret)")
        if problems:
            raise UnsafeProductionConfig(
                "refusing to start in production: " + "; ".join(problems))
    if config.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=config.proxy_hops, x_proto=config.proxy_hops)
    app.register_blueprint(health.bp)
    metrics.init_app(app)
