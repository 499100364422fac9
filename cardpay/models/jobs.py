"""Scheduler bookkeeping: job leases and the record of each tick run."""

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models.types import UTCDateTime


class JobLease(db.Model):
    """A lease on a named job (or the whole scheduler), held by one process until it expires."""

    __tablename__ = "job_leases"
    name = db.Column(db.String(80), primary_key=True)
    holder = db.Column(db.String(120))
    expires_at = db.Column(UTCDateTime)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now)


class JobRun(db.Model):
    """One tick of one job, claimed by inserting its unique (job, tick) row."""

    __tablename__ = "job_runs"
    __table_args__ = (db.UniqueConstraint("job_name", "tick"),)
    id = db.Column(db.Integer, primary_key=True)
    job_name = db.Column(db.String(80), nullable=False)
    tick = db.Column(db.String(40), nullable=False)
    holder = db.Column(db.String(120), nullable=False)
    status = db.Column(db.String(20), nullable=False, default="running")
    result = db.Column(db.JSON, nullable=False, default=dict)
    started_at = db.Column(UTCDateTime, nullable=False, default=clock.now, index=True)
    finished_at = db.Column(UTCDateTime)
