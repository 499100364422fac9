"""`flask cardpay create-admin`, `flask cardpay admin deactivate|reset-2fa` and `flask cardpay verify-deployment`."""

import sys

import click
from flask import current_app

from cardpay.admin import auth, figures, smoke
from cardpay.core.cli import cardpay_cli


@cardpay_cli.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="at least 12 characters, not a common one; asked for with hidden input when left out")
def create_admin(email, password):
    """Create a dashboard admin, or set a new password on an existing one (ending its sessions)."""
    try:
        user, created = auth.create_admin(email, password)
        enrolment = auth.reset_two_factor(user.email, action="admin_2fa_enrolled") if created or not user.totp_secret else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'created' if created else 'updated'} admin {user.email}")
    if enrolment:
        _show_enrolment(*enrolment)


def _show_enrolment(uri, codes):
    """Print the authenticator URI and the recovery codes (shown this once; only hashes are stored)."""
    click.echo("Two-factor sign-in: add this to an authenticator app (it holds the secret, keep it private):")
    click.echo(f"  {uri}")
    click.echo("Recovery codes, each works once (store them offline; they are not shown again):")
    for code in codes:
        click.echo(f"  {code}")


@cardpay_cli.group("admin")
def admin_group():
    """Manage admin accounts: deactivate one, or give it a new second factor."""


@admin_group.command("deactivate")
@click.argument("email")
def deactivate(email):
    """Stop an admin from signing in and end every session it has."""
    try:
        user = auth.deactivate(email)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"deactivated admin {user.email}; its sessions have ended")


@admin_group.command("reset-2fa")
@click.argument("email")
def reset_2fa(email):
    """Give an admin a new TOTP secret and recovery codes (the old ones stop working, sessions end)."""
    try:
        enrolment = auth.reset_two_factor(email)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new second factor for admin {auth.normalise_email(email)}; its sessions have ended")
    _show_enrolment(*enrolment)


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
