"""`flask cardpay create-admin` and `flask cardpay verify-deployment` (the runbook's test:deployment + test:smoke)."""

import sys

import click
from flask import current_app

from cardpay.admin import auth, figures, smoke
from cardpay.core.cli import cardpay_cli


@cardpay_cli.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="at least 12 characters; asked for with hidden input when left out")
def create_admin(email, password):
    """Create a dashboard admin (or set a new password on an existing one, which also unlocks it)."""
    try:
        user, created = auth.create_admin(email, password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'created' if created else 'updated'} admin {user.email}")


def _table(rows):
    """Format (check, value, target, result) rows as an aligned text table."""
    header = ("check", "value", "target", "result")
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(4)]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


@cardpay_cli.command("verify-deployment")
@click.option("--base-url", default=None, help="the deployment to check; defaults to PRODUCTION_URL")
@click.option("--window", default="1h", type=click.Choice(list(figures.WINDOWS)), show_default=True,
              help="window the success criteria are evaluated over")
@click.option("--timeout", default=10.0, show_default=True, help="seconds per HTTP request")
def verify_deployment(base_url, window, timeout):
    """Smoke-check a running deployment over HTTP, evaluate the success criteria, exit 1 if any fails."""
    base_url = (base_url or current_app.config["PRODUCTION_URL"]).rstrip("/")
    click.echo(f"verifying {base_url} (criteria over {window})")
    rows = [(c.name, c.value, c.target, "PASS" if c.passed else "FAIL") for c in smoke.run(base_url, timeout)]
    for item in figures.summary(window)["criteria"]:
        rows.append((item["check"], item["shown"], item["target"], item["status"]))
    click.echo(_table(rows))
    failed = [row[0] for row in rows if row[3] == "FAIL"]
    if failed:
        click.echo(f"FAILED: {len(failed)} of {len(rows)} checks: {', '.join(failed)}")
        sys.exit(1)
    passed = sum(1 for row in rows if row[3] == "PASS")
    click.echo(f"OK: {passed} of {len(rows)} checks passed, {len(rows) - passed} N/A (no data in the window)")
