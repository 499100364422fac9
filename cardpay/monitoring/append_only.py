"""Append-only rows (metrics, stage timings, audit entries) kept as plain values and written at commit.

Nobody reads these rows back as objects, and building an ORM object per row, adding it to the
session and flushing it cost more on the callback path than the payment itself. So ``add`` keeps
the row's values in the session's ``info``; when that session commits they are written with one
insert per table (or handed to the worker's monitoring buffer, cardpay.monitoring.worker_buffer), and when
it rolls back they are dropped — the same fate an ORM object added to that session would have had.
"""

from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import event, insert

from cardpay.core.extensions import db
from cardpay.models import AuditLog, CardPaymentMetric, CardPaymentPerformance
from cardpay.monitoring import totals, worker_buffer

MODELS = (CardPaymentMetric, CardPaymentPerformance, AuditLog)
BUFFERABLE = (CardPaymentMetric, CardPaymentPerformance)  # audit rows always commit with their transaction
_PENDING = "cardpay_append_only"
_INSERTS = {model: insert(model.__table__) for model in MODELS}


def add(model, **values):
    """Keep one row of ``model`` (every column but the id given) for the current session's commit.

    A metric or stage timing added while no transaction is open — a receiver publishing what a
    committed transaction did — goes to the worker's monitoring buffer at once: no rollback could
    drop it, and opening and committing a session transaction for it cost more than the row.
    """
    # No session yet in this app context means no transaction either, and creating one costs more than the row.
    session = db.session() if db.session.registry.has() else None
    if session is None or not session.in_transaction():
        buffer = worker_buffer.buffer_of(current_app) if model in BUFFERABLE else None
        if buffer is not None:
            buffer.add(model.__table__, [values])
            return values
        session = session or db.session()
        session.begin()  # so that a rollback before any statement still drops the row (no round trip)
    session.info.setdefault(_PENDING, []).append((model, values))
    return values


def pending(model=None):
    """Return the values waiting in the current session (of one model, or all as (model, values))."""
    rows = db.session.info.get(_PENDING, [])
    return [values for kind, values in rows if kind is model] if model else list(rows)


def unwritten(model):
    """Return the rows of ``model`` this process holds but has not written: the session's and the buffer's.

    A reader that must count the request in flight (the error rate) adds these to what it queries.
    """
    rows = pending(model)
    buffer = worker_buffer.buffer_of(current_app)
    return rows + buffer.waiting(model.__table__) if buffer is not None else rows


@event.listens_for(Session, "before_commit")
def _write_pending(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT committing (alerts insert inside one): the rows wait for the real commit
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    by_model = {}
    for model, values in rows:
        by_model.setdefault(model, []).append(values)
    buffer = worker_buffer.buffer_of(current_app)
    for model, batch in by_model.items():
        if buffer is not None and model in BUFFERABLE:
            buffer.add(model.__table__, batch)
        else:
            # One row: a plain execute; several: executemany. Both compiled once and cached.
            session.execute(_INSERTS[model], batch[0] if len(batch) == 1 else batch)
            if model in BUFFERABLE:
                totals.add(session, model.__table__, batch)  # what /metrics reports, in the same commit


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session, previous_transaction):
    # Only the outermost transaction's rollback drops the rows: a SAVEPOINT's, or that of the inner
    # transaction a failed flush rolls back (an insert that lost a race inside a SAVEPOINT), keeps them.
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
