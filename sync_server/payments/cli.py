"""``sync-server payments``: the card-payment background work without the jobs worker.

    sync-server payments run-jobs [--json]        time out split payments, resume refund jobs
    sync-server payments refunds EVENT_ID [--json] a cancelled event's refund progress
"""

from __future__ import annotations

import json
import logging

import click
from flask.cli import with_appcontext

from sync_server.migrate import upgraded_sessions

logger = logging.getLogger(__name__)


@click.group("payments")
def payments_group() -> None:
    """Card payments: background work and refund progress."""


@payments_group.command("run-jobs")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@with_appcontext
def run_jobs_command(as_json: bool) -> None:
    """Time out split payments past their deadline and resume event refund jobs (cron, every
    minute, until the jobs worker does it). Exits 1 when Stripe failed (retried next run)."""
    from sync_server.payments import run_jobs

    with upgraded_sessions()() as session:
        summary = run_jobs(session)
    click.echo(json.dumps(summary) if as_json else
               ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in summary.items()))
    if summary["split_errors"] or summary["refund_errors"]:
        raise click.exceptions.Exit(1)


@payments_group.command("refunds")
@click.argument("event_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the whole job as JSON.")
@with_appcontext
def refunds_command(event_id: int, as_json: bool) -> None:
    """How far the refunds of a cancelled event are (its refund job)."""
    from sync_server.payments.refund_jobs import progress

    with upgraded_sessions()() as session:
        found = progress(session, event_id)
    if found is None:
        click.echo(f"event {event_id} has no refund job", err=True)
        raise click.exceptions.Exit(1)
    if as_json:
        click.echo(json.dumps(found, default=str))
        return
    click.echo(f"event {event_id}: {found['status']}: {found['refunded']} of {found['total']} "
               f"orders refunded, {found['failed']} failed, {found['pending']} pending")
    if found["last_error"]:
        click.echo(f"last error: {found['last_error']}")
    for line in found["orders"]:
        if line["status"] != "REFUNDED":
            click.echo(f"  {line['order_number']}: {line['status']}"
                       + (f" ({line['error']})" if line["error"] else ""))
