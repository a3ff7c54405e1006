"""``sync-server jobs``: the one long-running process for scheduled work (docs/queue.md)."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from sync_server.jobs.registry import JobContext, all_jobs
from sync_server.jobs.runner import run_all_once, serve
from sync_server.migrate import upgraded_sessions


@click.command("jobs")
@click.option("--once", is_flag=True, help="Run every job once and exit (cron, tests).")
@click.option("--threads", type=click.IntRange(1, 32), default=4,
              help="Jobs that may run at the same time.")
@with_appcontext
def jobs_command(once: bool, threads: int) -> None:
    """Run the scheduled jobs: offer expiry and queue advance, mail, holds tidy, rate-limit
    pruning (and any registered). Two workers may run at once."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    ctx = JobContext(app=app, config=app.extensions["sync_config"],
                     factory=upgraded_sessions())
    if once:
        click.echo(json.dumps(run_all_once(ctx), default=str))
        return
    click.echo(f"jobs: {', '.join(j.name for j in all_jobs(ctx.config))}")
    serve(ctx, threads=threads)
