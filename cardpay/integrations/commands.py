"""`flask cardpay api-key create|list|revoke` (the keys a learning platform uses on the access API) and
`flask cardpay access-events resend --enrollment ID`."""

import click

from cardpay.core import clock
from cardpay.core.cli import cardpay_cli
from cardpay.core.extensions import db
from cardpay.integrations import access_events, api_keys

ACTOR = "cli"


@cardpay_cli.group("api-key")
def api_key_cli():
    """Create, list and revoke access API keys."""


@api_key_cli.command("create")
@click.argument("name")
def create_command(name):
    """Make a key called NAME and print it (once)."""
    try:
        key = api_keys.create(name, ACTOR)
    except api_keys.KeyRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"api key {name}: {key}")
    click.echo("Copy it now: it is stored hashed and will not be shown again.")


def _when(value):
    return clock.as_utc(value).strftime("%Y-%m-%d %H:%M UTC") if value else "never"


@api_key_cli.command("list")
def list_command():
    """List the keys: name, prefix, created, last used, uses, revoked."""
    rows = api_keys.all_keys()
    if not rows:
        click.echo("no api keys yet: flask cardpay api-key create NAME")
        return
    click.echo(f"{'name':<24} {'prefix':<13} {'created':<21} {'last used':<21} {'uses':>6}  revoked")
    for row in rows:
        revoked = _when(row.revoked_at) if row.revoked_at else "-"
        click.echo(f"{row.name:<24} {row.prefix:<13} {_when(row.created_at):<21} {_when(row.last_used_at):<21} "
                   f"{row.use_count:>6}  {revoked}")


@api_key_cli.command("revoke")
@click.argument("name")
def revoke_command(name):
    """Revoke the key called NAME: it stops working at once."""
    try:
        api_keys.revoke(name, ACTOR)
    except api_keys.KeyRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"api key {name} revoked")


@cardpay_cli.group("access-events")
def access_events_cli():
    """Access events sent to ACCESS_WEBHOOK_URL (SPEC §14)."""


@access_events_cli.command("resend")
@click.option("--enrollment", "enrollment_id", type=int, required=True, help="the enrollment's id")
def resend_command(enrollment_id):
    """Queue ENROLLMENT's current state again (enrollment.activated or enrollment.revoked)."""
    try:
        event_type = access_events.resend(enrollment_id)
    except (LookupError, ValueError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"queued {event_type} for enrollment {enrollment_id}; the outbox job sends it within seconds")
