"""The run-once guard: a tick of a job runs only in the process that inserted its job_runs row.

The tick is the scheduled time truncated to the job's interval, so every scheduler computes the
same tick for the same firing; the unique (job_name, tick) pair lets exactly one of them claim it,
on SQLite and PostgreSQL alike. A job's outcome (and its error, if any) is written to that row.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import update

from cardpay.core import clock, database
from cardpay.core.extensions import db
from cardpay.core.redaction import mask_every_card_like
from cardpay.models import JobRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A scheduled job: runs every ``every`` seconds, ``offset`` seconds into each interval."""

    name: str
    every: float
    func: object
    offset: float = 0.0
    help: str = ""


@dataclass(frozen=True)
class RunContext:
    """What a job function is told about its run."""

    app: object
    job: Job
    tick: str
    holder: str


def tick_start(job, when):
    """Return the start of the interval of ``job`` that contains ``when`` (aware UTC)."""
    return clock.floor_to(when, job.every, job.offset)


def tick_label(job, when):
    """Return the tick of ``job`` at ``when`` as its job_runs label, e.g. 2026-01-31T03:15:00Z."""
    return tick_start(job, when).strftime("%Y-%m-%dT%H:%M:%SZ")


def _claim(job, tick, holder):
    run = JobRun(job_name=job.name, tick=tick, holder=holder, status="running", result={},
                 started_at=clock.now())
    claimed = database.insert_or_lose(run)  # False: another scheduler claimed this tick first
    db.session.commit()
    return run.id if claimed else None


def _execute(ctx):
    try:
        return "succeeded", _as_result(ctx.job.func(ctx))
    except Exception as exc:  # noqa: BLE001 - a failing job is recorded, it never stops the scheduler
        db.session.rollback()
        log.exception("job %s failed at tick %s", ctx.job.name, ctx.tick)
        return "failed", {"error": mask_every_card_like(f"{type(exc).__name__}: {exc}")[:1000]}


def _as_result(value):
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    return {"result": value if isinstance(value, (int, float, str, bool, list)) else repr(value)}


def run_once(app, job, holder, when=None):
    """Claim the current tick of ``job`` and run it; return its status, or None if another process has it."""
    with app.app_context():
        tick = tick_label(job, when or clock.now())
        try:
            run_id = _claim(job, tick, holder)
            if run_id is None:
                return None
            status, result = _execute(RunContext(app, job, tick, holder))
            db.session.rollback()  # close whatever the job left open before writing its outcome
            db.session.execute(update(JobRun).where(JobRun.id == run_id)
                               .values(status=status, result=result, finished_at=clock.now())
                               .execution_options(synchronize_session=False))
            db.session.commit()
            return status
        except Exception:  # noqa: BLE001 - e.g. the database went away; the next tick tries again
            db.session.rollback()
            log.exception("could not run job %s at tick %s", job.name, tick)
            return "error"
        finally:
            db.session.remove()
