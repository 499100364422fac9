"""`flask cardpay scheduler`, `cleanup` and `rotate-secret`: the jobs area's commands."""

import sys
from contextlib import contextmanager

import click
from flask import current_app

import config as cardpay_config
from cardpay.core import clock
from cardpay.core.cli import cardpay_cli
from cardpay.jobs import retention, rotation, timetable


@cardpay_cli.command("scheduler")
@click.option("--only", "only", multiple=True, type=click.Choice([job.name for job in timetable.JOBS]),
              help="Run only these jobs (repeatable); default: all of them.")
@click.option("--heartbeat-seconds", type=click.FloatRange(min=0.5), hidden=True,
              help="Add a test job that records each of its ticks, this many seconds apart.")
def scheduler_command(only, heartbeat_seconds):
    """Run the scheduled jobs in this process until stopped (one active scheduler per database)."""
    from cardpay.jobs.runner import SchedulerProcess

    app = current_app._get_current_object()
    try:
        cardpay_config.refuse_to_serve(app.extensions["cardpay_settings"])
    except cardpay_config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not app.config["SCHEDULER_ENABLED"]:
        raise click.ClickException("SCHEDULER_ENABLED is false for this environment; not starting the scheduler.")
    jobs = [timetable.JOBS_BY_NAME[name] for name in only] if only else list(timetable.JOBS)
    if heartbeat_seconds:
        jobs.append(timetable.heartbeat_job(heartbeat_seconds))
    process = SchedulerProcess(app, jobs)
    click.echo(f"scheduler {process.holder}: {', '.join(job.name for job in jobs)}; "
               f"lease {process.lease_seconds:g} s", err=True)
    process.run()


@contextmanager
def _progress(total, label):
    """A progress bar on a terminal; one line per batch anywhere else (journald, CI, pipes)."""
    if sys.stdout.isatty():
        with click.progressbar(length=total, label=label) as bar:
            yield bar.update
        return
    done = 0

    def line(count):
        nonlocal done
        done += count
        click.echo(f"  {label}: deleted {done:,} of {total:,}")
    yield line


@cardpay_cli.command("cleanup")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=retention.BATCH_SIZE, show_default=True,
              help="Rows per delete; each batch is its own short transaction.")
def cleanup_command(dry_run, batch_size):
    """Delete monitoring rows past their retention windows (open alerts are always kept)."""
    plans = retention.plan(current_app.config)
    click.echo(("Dry run: nothing will be deleted." if dry_run else "Retention cleanup")
               + f" (now {clock.iso(clock.now().replace(microsecond=0))})")
    for item in plans:
        if dry_run or not item.matched:
            continue
        with _progress(item.matched, item.rule.table) as update:
            retention.purge(item, batch_size, on_batch=update)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{'table':<26} {'window':>11}  {'older than':<21} {verb:>12}")
    for item in plans:
        count = item.matched if dry_run else item.deleted
        cutoff = clock.iso(item.cutoff.replace(microsecond=0))
        click.echo(f"{item.rule.table:<26} {item.days:>6g} days  {cutoff:<21} {count:>12,}")
    total = sum(item.matched if dry_run else item.deleted for item in plans)
    click.echo(f"{'total':<62}{total:>12,}")


@cardpay_cli.command("rotate-secret")
@click.option("--secret", "names", multiple=True, type=click.Choice(rotation.SECRETS + ("all",)),
              default=("IKHOKHA_WEBHOOK_SECRET",), show_default=True, help="Which secret was rotated (repeatable).")
@click.option("--by", "by", required=True, prompt="Rotated by (your name or email)",
              help="Who is rotating it, for the audit log.")
@click.option("--note", default=None, help="Why, or a ticket reference.")
def rotate_secret_command(names, by, note):
    """Record a secret rotation, print the steps to finish it, and clear its reminder."""
    if "all" in names:
        names = rotation.SECRETS
    for name in dict.fromkeys(names):
        row = rotation.record(name, by, note)
        click.echo(f"Recorded: {name} rotated by {by} at {clock.iso(row.rotated_at.replace(microsecond=0))}.")
        click.echo("Steps to finish:")
        for number, step in enumerate(rotation.operator_steps(name), 1):
            click.echo(f"  {number}. {step}")
    result = rotation.check_reminders(current_app.config)
    still_due = result.get("due") or []
    click.echo("Rotation reminder: " + (f"still due for {', '.join(still_due)}" if still_due else "clear"))
