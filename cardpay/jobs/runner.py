"""The scheduler process behind `flask cardpay scheduler`.

Every scheduler process runs the same APScheduler timetable, aligned to the clock so that all of
them fire at the same instants. Only the holder of the "scheduler" lease runs jobs; the others
stand by and keep trying to take the lease, so when the holder dies (or is stopped) one of them
takes over as soon as the lease expires. Each firing then still has to claim its tick
(cardpay.jobs.guard), so even two active schedulers run a tick only once.
"""

import logging
import signal
import threading
from datetime import timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from cardpay.core import clock, ids
from cardpay.core.extensions import db
from cardpay.jobs import guard, leases

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"


class SchedulerProcess:
    """One scheduler: an APScheduler timetable plus the lease that says whether it may act."""

    def __init__(self, app, jobs, lease_seconds=None):
        self.app = app
        self.jobs = tuple(jobs)
        self.lease_seconds = float(lease_seconds or app.config["SCHEDULER_LEASE_SECONDS"])
        self.holder = ids.holder_id()
        self.active_until = None
        self._lock = threading.Lock()
        self.scheduler = BlockingScheduler(
            timezone=timezone.utc,
            executors={"default": ThreadPoolExecutor(4), "lease": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1})

    def is_active(self):
        """Tell whether this process holds the lease right now (by its own last renewal)."""
        until = self.active_until
        return until is not None and clock.now() < until

    def renew(self):
        """Take or renew the lease; on taking it, run each job's current tick at once (if nobody has)."""
        with self.app.app_context():
            try:
                expires = leases.acquire(LEASE_NAME, self.holder, self.lease_seconds)
            except Exception:  # noqa: BLE001 - no database: stand down until it answers again
                db.session.rollback()
                log.exception("scheduler %s could not renew its lease", self.holder)
                expires = None
            finally:
                db.session.remove()
        with self._lock:
            was_active = self.is_active()
            self.active_until = expires
        if expires and not was_active:
            log.info("scheduler %s is now active (lease until %s)", self.holder, clock.iso(expires))
            for job in self.jobs:
                self.scheduler.modify_job(job.name, next_run_time=clock.now())
        elif was_active and not expires:
            log.warning("scheduler %s lost its lease; standing by", self.holder)

    def fire(self, job):
        """Run one firing of a job if this process is the active scheduler."""
        if self.is_active():
            guard.run_once(self.app, job, self.holder)

    def _add_jobs(self):
        now = clock.now()
        for job in self.jobs:
            trigger = IntervalTrigger(seconds=job.every, start_date=guard.tick_start(job, now), timezone=timezone.utc)
            self.scheduler.add_job(self.fire, trigger, args=[job], id=job.name, name=job.name,
                                   misfire_grace_time=max(1, int(job.every // 2)))
        renew_every = max(0.5, self.lease_seconds / 3)
        self.scheduler.add_job(self.renew, IntervalTrigger(seconds=renew_every, timezone=timezone.utc),
                               id="_lease", executor="lease", next_run_time=now)

    def _stop(self, signum, _frame):
        log.info("scheduler %s stopping on signal %s", self.holder, signum)
        self.scheduler.shutdown(wait=False)

    def run(self):
        """Run until SIGTERM or SIGINT; give the lease up on the way out."""
        self._add_jobs()
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        log.info("scheduler %s starting: %s", self.holder, ", ".join(job.name for job in self.jobs))
        try:
            self.scheduler.start()
        finally:
            self.active_until = None
            with self.app.app_context():
                try:
                    leases.release(LEASE_NAME, self.holder)
                finally:
                    db.session.remove()
            log.info("scheduler %s stopped", self.holder)

