"""Publishing domain events: signals go out after the domain transaction has committed.

Receivers (cardpay/handlers) only add rows to the session; ``publish`` then commits them in one
short transaction of their own. A failing receiver or a failing monitoring commit is logged and
counted, never raised: a payment that has been committed stays committed and its response goes on.

The rows receivers add (metrics, stage timings, audit entries) are plain values kept for the
session's commit (cardpay.monitoring.append_only), which writes them with one insert per table, or hands
metrics and stage timings to the worker's monitoring buffer when MONITORING_FLUSH_MS is above 0.
"""

import logging

from flask import current_app

from cardpay.core.extensions import db

log = logging.getLogger(__name__)
failures = {"receivers": 0, "commits": 0}  # per-process counts, exported on /metrics


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


def publish_all(events):
    """Send several signals, then commit what their receivers recorded once; tell whether that commit worked."""
    for signal, kwargs in events:
        relay(signal, **kwargs)
    if not db.session.registry.has() or not db.session().in_transaction():
        return True  # the receivers' rows went to the monitoring buffer: nothing to commit
    try:
        db.session.commit()
        return True
    except Exception:  # noqa: BLE001
        failures["commits"] += 1
        log.exception("could not record monitoring rows for %s", ", ".join(s.name for s, _ in events))
        # Drop the session rather than roll it back: with the database gone the rollback itself
        # can fail, and the next unit of work must start clean either way.
        db.session.remove()
        return False
