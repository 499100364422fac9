"""Run once everywhere: gunicorn with 3 workers and two `flask cardpay scheduler` processes on one database.

A 1-second heartbeat job ticks; each tick must have run exactly once. Then the scheduler holding
the lease is killed with SIGKILL and the other must take over within the lease time.
"""

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import CardPaymentMetric, JobLease, JobRun
from tests.conftest import free_port
from tests.jobs.conftest import BIN, on_postgres, on_sqlite, process_env

LEASE_SECONDS = 3
RENEW_SECONDS = LEASE_SECONDS / 3


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _heartbeat_runs(app):
    with app.app_context():
        runs = db.session.execute(select(JobRun).where(JobRun.job_name == "heartbeat")
                                  .order_by(JobRun.tick)).scalars().all()
        effects = db.session.execute(select(CardPaymentMetric.labels).where(
            CardPaymentMetric.metric_name == "scheduler_heartbeat")).scalars().all()
        db.session.remove()
        return runs, effects


def _lease_holder(app):
    with app.app_context():
        lease = db.session.get(JobLease, "scheduler")
        alive = lease is not None and lease.expires_at is not None and lease.expires_at > clock.now()
        holder = lease.holder if alive else None
        db.session.remove()
        return holder


def _pid(holder):
    return int(holder.split(":")[1])


def _children(pid):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _health(port):
    try:
        response = requests.get(f"http://127.0.0.1:{port}/health", timeout=10)
    except requests.RequestException:
        return None
    return response.json() if response.status_code == 200 else None


def _run_once_everywhere(app, processes, database_url, with_gunicorn):
    env = process_env(database_url, SCHEDULER_ENABLED="true", SCHEDULER_LEASE_SECONDS=LEASE_SECONDS)
    web_pids = []
    if with_gunicorn:
        port = free_port()
        web = processes([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", "3",
                         "--bind", f"127.0.0.1:{port}", "wsgi:app"], env, "gunicorn")
    schedulers = [processes([str(BIN / "flask"), "cardpay", "scheduler", "--heartbeat-seconds", "1"],
                            env, f"scheduler-{n}") for n in (1, 2)]
    scheduler_pids = {proc.pid for proc in schedulers}

    # Several ticks under one active scheduler.
    first = _wait_for(lambda: _lease_holder(app), 30, "a scheduler to take the lease")
    assert _pid(first) in scheduler_pids
    _wait_for(lambda: len([r for r in _heartbeat_runs(app)[0] if r.holder == first]) >= 5, 20, "5 heartbeat ticks")

    if with_gunicorn:
        web_pids = _children(web.pid) + [web.pid]
        assert len(web_pids) == 4, "gunicorn master and 3 workers"
        _wait_for(lambda: _health(port), 60, "gunicorn to serve /health")
        for _ in range(6):  # several workers answer; each sees the scheduler's recent run
            assert _health(port)["checks"]["scheduler"]["age_seconds"] < 5

    # Kill the lease holder outright: no clean shutdown, its lease must expire.
    os.kill(_pid(first), signal.SIGKILL)
    killed_at = clock.now()
    second = _wait_for(lambda: (h := _lease_holder(app)) and h != first and h, LEASE_SECONDS + 10,
                       "the standby to take over")
    _wait_for(lambda: len([r for r in _heartbeat_runs(app)[0] if r.holder == second]) >= 3, 20,
              "3 ticks from the new holder")

    runs, effects = _heartbeat_runs(app)
    taken_over = min(r.started_at for r in runs if r.holder == second)
    takeover_seconds = (taken_over - killed_at).total_seconds()
    print(f"takeover after SIGKILL: {takeover_seconds:.2f} s (lease {LEASE_SECONDS} s); "
          f"{len(runs)} ticks, holders {Counter(r.holder for r in runs)}")
    assert takeover_seconds <= LEASE_SECONDS + RENEW_SECONDS + 2

    # Exactly once: one job_runs row per tick (the unique pair) and one heartbeat effect per tick.
    per_tick = Counter(label["tick"] for label in effects)
    assert per_tick and max(per_tick.values()) == 1
    assert {r.tick for r in runs if r.status == "succeeded"} <= set(per_tick) <= {r.tick for r in runs}
    assert {_pid(r.holder) for r in runs} <= scheduler_pids
    assert {r.holder for r in runs} == {first, second}
    before = [r for r in runs if r.started_at < killed_at]
    after = [r for r in runs if r.started_at >= killed_at]
    assert {r.holder for r in before} == {first} and {r.holder for r in after} == {second}
    # No web worker ever ran a job of any kind.
    with app.app_context():
        holders = set(db.session.execute(select(JobRun.holder).distinct()).scalars())
    assert not {_pid(h) for h in holders} & set(web_pids)
    assert {_pid(h) for h in holders} <= scheduler_pids


@pytest.mark.slow
@pytest.mark.postgres_only
@on_postgres
def test_gunicorn_and_two_schedulers_run_each_tick_once_and_survive_a_kill(app, processes, migrated_database):
    _run_once_everywhere(app, processes, migrated_database, with_gunicorn=True)


@pytest.mark.slow
@on_sqlite
def test_two_schedulers_on_sqlite_run_each_tick_once_and_survive_a_kill(app, processes, migrated_database):
    _run_once_everywhere(app, processes, migrated_database, with_gunicorn=False)
