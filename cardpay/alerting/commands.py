"""`flask cardpay` commands for the alerts area: test-alerts."""

import click

from cardpay.core.cli import cardpay_cli


@cardpay_cli.command("test-alerts")
def test_alerts():
    """Send a test alert through every configured channel now; exit 1 if any failed."""
    from cardpay.alerting import outbox

    results = outbox.send_test()
    if not results:
        click.echo("no alert channel is configured (ALERT_WEBHOOK_URL, ALERT_SLACK_WEBHOOK, ALERT_EMAIL, "
                   "MANUAL_INTERVENTION_WEBHOOK, MANUAL_INTERVENTION_EMAIL)")
        raise SystemExit(1)
    width = max(len(channel) for channel, _, _ in results)
    for channel, target, error in results:
        click.echo(f"{channel.ljust(width)}  {target}  " + (f"FAILED: {error}" if error else "delivered"))
    failed = sum(1 for _, _, error in results if error)
    click.echo(f"{len(results) - failed} of {len(results)} channels delivered")
    if failed:
        raise SystemExit(1)
