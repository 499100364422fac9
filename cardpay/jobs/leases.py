"""Leases on named work (job_leases): which process may act, until when.

A lease is taken or renewed with one conditional UPDATE (``... WHERE holder = me OR expired``), so
two processes racing for it get one winner on SQLite and PostgreSQL alike, whichever host they run
on. A holder that dies simply stops renewing; once ``expires_at`` passes, a standby takes over.
Hosts must keep their clocks in sync (NTP): expiry is compared with each process's clock.
"""

from datetime import timedelta

from sqlalchemy import or_, select, update

from cardpay.core import clock, database
from cardpay.core.extensions import db
from cardpay.models import JobLease


def _ensure_row(name):
    database.insert_or_get(JobLease, {"name": name}, holder=None, expires_at=None, updated_at=clock.now())
    db.session.commit()


def acquire(name, holder, seconds):
    """Take or renew the lease ``name`` for ``seconds``; return its expiry, or None if another holds it."""
    _ensure_row(name)
    now = clock.now()
    expires = now + timedelta(seconds=seconds)
    won = db.session.execute(
        update(JobLease)
        .where(JobLease.name == name,
               or_(JobLease.holder == holder, JobLease.holder.is_(None), JobLease.expires_at.is_(None),
                   JobLease.expires_at < now))
        .values(holder=holder, expires_at=expires, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return expires if won else None


def release(name, holder):
    """Give the lease up at once (a clean shutdown), so a standby need not wait for it to expire."""
    db.session.execute(
        update(JobLease).where(JobLease.name == name, JobLease.holder == holder)
        .values(holder=None, expires_at=None, updated_at=clock.now())
        .execution_options(synchronize_session=False))
    db.session.commit()


def current(name):
    """Return (holder, expires_at) of a lease, or (None, None) when nobody holds it."""
    row = db.session.execute(select(JobLease.holder, JobLease.expires_at).where(JobLease.name == name)).first()
    db.session.commit()
    if row is None or row.holder is None or row.expires_at is None or row.expires_at < clock.now():
        return None, None
    return row.holder, row.expires_at
