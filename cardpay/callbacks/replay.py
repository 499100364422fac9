"""Replay: re-run the processing of verified deliveries that did not finish (`flask cardpay replay`).

A replay never verifies again (the stored body is masked, so its signature cannot be checked): it
takes deliveries that were verified when they arrived, reads paylink, status and reference from the
record, and hands them to the same processing as a live callback (callbacks/intake.process). The
reference is read from the stored body the way JSON parsing reads it: the last of duplicate keys.
"""

import json
import re

import click
from sqlalchemy import select

from cardpay.callbacks import intake, records
from cardpay.core import events
from cardpay.core.cli import cardpay_cli
from cardpay.core.extensions import db
from cardpay.models import WebhookEvent

PROCESSED = ("processed", "manual_review", "ignored")


_REFERENCE = re.compile(r'"externalTransactionID"\s*:\s*("(?:[^"\\]|\\.)*")')


def stored_reference(event):
    """Return the externalTransactionID kept in a stored (masked) body, or None; the last one when repeated."""
    try:
        body = json.loads(event.body or "")
    except ValueError:
        # Masking can leave a body that no longer parses (a bare card-like number became text):
        # read the field itself, the last occurrence, as JSON parsing would have.
        found = _REFERENCE.findall(event.body or "")
        body = {"externalTransactionID": json.loads(found[-1])} if found else {}
    reference = body.get("externalTransactionID") if isinstance(body, dict) else None
    return reference if isinstance(reference, str) else None


def replay(ids=None, failed=False):
    """Re-run processing of verified deliveries (never re-verifying); return [(event_id, outcome)]."""
    query = select(WebhookEvent).order_by(WebhookEvent.id)
    if ids:
        query = query.where(WebhookEvent.id.in_(ids))
    if failed:
        query = query.where(WebhookEvent.processing_status.in_(records.UNFINISHED))
    rows = [(row.id, row.verdict == "accepted" and row.delivery_key is not None, row.processing_status,
             row.paylink_id, row.callback_status, row.received_at, stored_reference(row))
            for row in db.session.execute(query).scalars()]
    db.session.rollback()  # end the read before each delivery's own processing transaction
    found = {row[0] for row in rows}
    results = [(event_id, "not found") for event_id in (ids or []) if event_id not in found]
    for event_id, verified, status_now, paylink_id, status, known_at, reference in rows:
        if not verified:
            results.append((event_id, "skipped: not a verified first delivery"))
        elif status_now not in records.UNFINISHED:
            results.append((event_id, f"skipped: already {status_now}"))
        else:
            outcome = intake.process(event_id, paylink_id, status, reference, known_at, from_stored_body=True)
            events.publish_all(outcome.events)
            results.append((event_id, outcome.status))
    return sorted(results)


def _parse_ids(_ctx, _param, value):
    if not value:
        return None
    try:
        return sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise click.BadParameter("expected a comma list of delivery ids, e.g. 1,2,3") from None


@cardpay_cli.command("replay")
@click.option("--ids", callback=_parse_ids, help="Comma list of webhook_events ids to process again.")
@click.option("--failed", is_flag=True, help="Every verified delivery whose processing did not finish.")
def replay_command(ids, failed):
    """Re-run the processing of verified callback deliveries (they are not verified again)."""
    if not ids and not failed:
        raise click.UsageError("say which deliveries: --ids 1,2,3 and/or --failed")
    results = replay(ids=ids, failed=failed)
    for event_id, outcome in results:
        click.echo(f"delivery {event_id}: {outcome}")
    done = sum(1 for _, outcome in results if outcome in PROCESSED)
    click.echo(f"processed {done} of {len(results)}")
    if any(outcome == "failed" for _, outcome in results):
        raise SystemExit(1)
