"""`flask cardpay validate-config`: one line per problem or warning, never a secret."""

import sys

import click
from flask import current_app
from sqlalchemy.engine import make_url

import config as cardpay_config
from cardpay.core.cli import cardpay_cli


def _legacy_notes(loaded):
    """Yield one note per VITE_ name in the environment: in use, or ignored because the plain name wins."""
    for legacy in loaded.legacy:
        plain = legacy.removeprefix(cardpay_config.LEGACY_PREFIX)
        if loaded.sources[plain] == legacy:
            yield f"note: legacy name {legacy} in use; rename it to {plain}"
        else:
            yield f"note: legacy name {legacy} is ignored because {plain} is set"


@cardpay_cli.command("validate-config")
def validate_config():
    """Check the active configuration; exit 1 with one line per problem."""
    loaded = current_app.extensions["cardpay_settings"]
    click.echo(f"environment: {loaded.values['CARDPAY_ENV']}")
    click.echo(f"database: {make_url(current_app.config['SQLALCHEMY_DATABASE_URI']).render_as_string()}")
    for line in _legacy_notes(loaded):
        click.echo(line)
    for setting in cardpay_config.SETTINGS:
        if setting.kind == "secret":
            origin = "" if loaded.sources[setting.name] or not loaded.values[setting.name] else " (default)"
            click.echo(f"{setting.name}: {cardpay_config.hint(loaded.values[setting.name])}{origin}")
    for line in cardpay_config.find_warnings(loaded):
        click.echo(f"warning: {line}")
    problems = cardpay_config.find_problems(loaded)
    for line in problems:
        click.echo(f"problem: {line}")
    if problems:
        click.echo(f"{len(problems)} problem(s) found")
        sys.exit(1)
    click.echo("configuration OK")
