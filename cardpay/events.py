"""Publishing domain events: signals go out after the domain transaction has committed.

Receivers (cardpay/handlers) only add rows to the session; ``publish`` then commits them in one
short transaction of their own. A failing receiver or a failing monitoring commit is logged and
counted, never raised: a payment that has been committed stays committed and its response goes on.

The append-only monitoring rows (metrics, stage timings, audit entries) that receivers add are
written with one executemany Core insert per table rather than through the ORM's unit of work: nobody
reads them back as objects, and on the callback path the ORM flush cost more than the payment. With
MONITORING_FLUSH_MS above 0, metrics and stage timings go to the worker's monitoring buffer instead
(cardpay.monitoring_buffer), written in batches off the request; audit rows always commit here.
"""

import logging

from flask import current_app
from sqlalchemy import insert

from cardpay import monitoring_buffer
from cardpay.extensions import db
from cardpay.models import AuditLog, CardPaymentMetric, CardPaymentPerformance

log = logging.getLogger(__name__)
failures = {"receivers": 0, "commits": 0}  # per-process counts, exported on /metrics
APPEND_ONLY = (CardPaymentMetric, CardPaymentPerformance, AuditLog)
_COLUMNS = {model: [c.key for c in model.__table__.columns if not c.primary_key] for model in APPEND_ONLY}
_INSERTS = {model: insert(model.__table__) for model in APPEND_ONLY}
BUFFERABLE = (CardPaymentMetric, CardPaymentPerformance)


def publish(signal, **kwargs):
    """Send one signal and persist what its receivers recorded."""
    publish_all([(signal, kwargs)])


def relay(signal, **kwargs):
    """Send a signal from inside a receiver: each receiver isolated, nothing committed here."""
    sender = current_app._get_current_object()
    for receiver in list(signal.receivers_for(sender)):
        try:
            receiver(sender, **kwargs)
        except Exception:  # noqa: BLE001 - monitoring must never break a payment
            failures["receivers"] += 1
            log.exception("receiver %s of %s failed", getattr(receiver, "__name__", receiver), signal.name)


def _insert_append_only():
    """Move the session's new append-only rows into one executemany insert per table."""
    batches = {}
    for row in list(db.session.new):
        columns = _COLUMNS.get(type(row))
        state = row.__dict__
        if columns is None or any(key not in state for key in columns):
            continue  # left to the ORM (a row missing a column relies on its defaults)
        batches.setdefault(type(row), []).append({key: state[key] for key in columns})
        db.session.expunge(row)
    buffer = monitoring_buffer.buffer_of(current_app)
    for model, rows in batches.items():
        if buffer is not None and model in BUFFERABLE:
            buffer.add(model.__table__, rows)
        else:
            db.session.execute(_INSERTS[model], rows)  # executemany: compiled once, cached


def publish_all(events):
    """Send several signals, then commit what their receivers recorded once; tell whether that commit worked."""
    for signal, kwargs in events:
        relay(signal, **kwargs)
    try:
        _insert_append_only()
        db.session.commit()
        return True
    except Exception:  # noqa: BLE001
        failures["commits"] += 1
        log.exception("could not record monitoring rows for %s", ", ".join(s.name for s, _ in events))
        # Drop the session rather than roll it back: with the database gone the rollback itself
        # can fail, and the next unit of work must start clean either way.
        db.session.remove()
        return False
