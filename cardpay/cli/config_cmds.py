"""`flask cardpay validate-config`: one line per problem, never a secret."""

import sys

import click
from flask import current_app

import config as cardpay_config
from cardpay.cli import cardpay_cli


@cardpay_cli.command("validate-config")
def validate_config():
    """Check the active configuration; exit 1 with one line per problem."""
    loaded = current_app.extensions["cardpay_settings"]
    values = loaded.values
    click.echo(f"environment: {values['CARDPAY_ENV']}")
    for name in loaded.legacy:
        click.echo(f"note: legacy name {name} in use; rename it to {name[len(cardpay_config.LEGACY_PREFIX):]}")
    for setting in cardpay_config.SETTINGS:
        if setting.kind == "secret":
            click.echo(f"{setting.name}: {cardpay_config.hint(values[setting.name])}")
    problems = cardpay_config.find_problems(loaded)
    for line in problems:
        click.echo(f"problem: {line}")
    if problems:
        click.echo(f"{len(problems)} problem(s) found")
        sys.exit(1)
    click.echo("configuration OK")
