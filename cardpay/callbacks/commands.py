"""`flask cardpay` commands for the callback area: replay stored deliveries."""

import click

from cardpay.core.cli import cardpay_cli
from cardpay.callbacks import intake

PROCESSED = ("processed", "manual_review", "ignored")


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
    results = intake.replay(ids=ids, failed=failed)
    for event_id, outcome in results:
        click.echo(f"delivery {event_id}: {outcome}")
    done = sum(1 for _, outcome in results if outcome in PROCESSED)
    click.echo(f"processed {done} of {len(results)}")
    if any(outcome == "failed" for _, outcome in results):
        raise SystemExit(1)
