"""The run-once guard and the scheduler lease: a tick runs once, a failure is recorded, a lease expires."""

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.jobs import guard, leases, timetable
from cardpay.models import CardPaymentMetric, JobLease, JobRun


def _heartbeats():
    return db.session.execute(select(CardPaymentMetric.labels).where(
        CardPaymentMetric.metric_name == "scheduler_heartbeat")).scalars().all()


def test_eight_processes_firing_the_same_tick_run_it_once(app):
    job = timetable.heartbeat_job(60)
    when = clock.now()
    barrier = threading.Barrier(8)
    statuses = []

    def fire(number):
        barrier.wait()
        statuses.append(guard.run_once(app, job, f"host-{number}", when=when))

    threads = [threading.Thread(target=fire, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert Counter(statuses) == {"succeeded": 1, None: 7}
    with app.app_context():
        assert len(_heartbeats()) == 1
        run = db.session.execute(select(JobRun)).scalar_one()
        assert run.status == "succeeded" and run.finished_at is not None
        assert run.tick == guard.tick_label(job, when)


def test_the_next_tick_runs_again(app):
    job = timetable.heartbeat_job(60)
    firing = clock.now()  # a fixed firing time: real time may cross a tick between two calls
    assert guard.run_once(app, job, "a", when=firing) == "succeeded"
    assert guard.run_once(app, job, "b", when=firing) is None
    assert guard.run_once(app, job, "b", when=firing + timedelta(seconds=60)) == "succeeded"
    with app.app_context():
        assert sorted(label["holder"] for label in _heartbeats()) == ["a", "b"]


def test_ticks_are_aligned_to_the_interval_and_its_offset(app):
    from datetime import datetime, timezone

    when = datetime(2026, 3, 4, 2, 59, 59, tzinfo=timezone.utc)
    daily = timetable.JOBS_BY_NAME["retention_cleanup"]
    assert guard.tick_label(daily, when) == "2026-03-03T03:15:00Z"
    assert guard.tick_label(daily, when.replace(hour=3, minute=15, second=0)) == "2026-03-04T03:15:00Z"
    assert guard.tick_label(timetable.JOBS_BY_NAME["alert_delivery"], when) == "2026-03-04T02:59:55Z"


def test_a_failing_job_is_recorded_and_does_not_stop_the_next(app):
    def explode(ctx):
        db.session.add(CardPaymentMetric(metric_name="half-done"))
        db.session.flush()
        raise RuntimeError("the rollup divided by zero")

    job = guard.Job("fragile", 60, explode)
    assert guard.run_once(app, job, "me") == "failed"
    clock.advance(seconds=60)
    assert guard.run_once(app, timetable.heartbeat_job(60), "me") == "succeeded"
    with app.app_context():
        failed = db.session.execute(select(JobRun).where(JobRun.job_name == "fragile")).scalar_one()
        assert failed.status == "failed"
        assert failed.result["error"] == "RuntimeError: the rollup divided by zero"
        assert db.session.execute(select(CardPaymentMetric).where(
            CardPaymentMetric.metric_name == "half-done")).first() is None


def test_a_lease_has_one_holder_until_it_expires(app):
    with app.app_context():
        assert leases.acquire("scheduler", "host-a", 30) is not None
        assert leases.acquire("scheduler", "host-b", 30) is None
        assert leases.acquire("scheduler", "host-a", 30) is not None  # renewal
        assert leases.current("scheduler")[0] == "host-a"
        clock.advance(seconds=31)
        assert leases.current("scheduler") == (None, None)
        assert leases.acquire("scheduler", "host-b", 30) is not None
        assert leases.acquire("scheduler", "host-a", 30) is None
        leases.release("scheduler", "host-b")
        assert leases.acquire("scheduler", "host-a", 30) is not None
        assert db.session.execute(select(JobLease)).scalar_one().holder == "host-a"


def test_scheduler_refuses_to_start_when_disabled(app_factory):
    runner = app_factory(SCHEDULER_ENABLED=False).test_cli_runner()
    result = runner.invoke(args=["cardpay", "scheduler"])
    assert result.exit_code == 1
    assert "SCHEDULER_ENABLED is false" in result.output
