"""`flask cardpay courses import FILE` and `flask cardpay courses export`: the catalogue as a file."""

import sys
from pathlib import Path

import click

from cardpay.catalogue import transfer
from cardpay.core.cli import cardpay_cli

ACTOR = "cli"


@cardpay_cli.group("courses")
def courses_cli():
    """Import and export the course catalogue."""


@courses_cli.command("import")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path):
    """Create or update courses by slug from a CSV or JSON file; change nothing if any row is invalid."""
    try:
        rows = transfer.read_rows(path.read_text(encoding="utf-8"), path.name)
    except (transfer.FileUnreadable, UnicodeDecodeError) as exc:
        click.echo(f"error: {path.name}: {exc}", err=True)
        sys.exit(1)
    result = transfer.import_rows(rows, ACTOR)
    for line in result.lines:
        click.echo(line)
    if not result.ok:
        sys.exit(1)
    counts = result.counts
    click.echo(f"imported {len(rows)} course(s): {counts['created']} created, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged")


@courses_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
def export_command(fmt):
    """Write every course to stdout in the import shape."""
    rows = transfer.export_rows()
    click.echo(transfer.to_csv(rows) if fmt == "csv" else transfer.to_json(rows), nl=False)
