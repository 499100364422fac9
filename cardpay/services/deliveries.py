"""The webhook_events record of every callback delivery: written first, durably, before any processing.

A verified delivery carries the delivery key "paylinkID:STATUS", unique in the table, so the
database itself recognises a duplicate even when copies arrive at the same instant; a rejected
delivery carries no key and can never block a later valid one.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from cardpay import clock
from cardpay.extensions import db
from cardpay.models import WebhookEvent
from cardpay.services import scrub

log = logging.getLogger(__name__)
UNFINISHED = ("received", "failed")  # verified deliveries whose processing has not completed


def delivery_key(paylink_id, status):
    """Return the key that makes a second delivery of the same outcome a duplicate."""
    return f"{paylink_id}:{status}"


def _row(delivery, received_at, **values):
    return WebhookEvent(received_at=received_at, path=scrub.mask_card_data(delivery.path)[:300],
                        remote_ip=(delivery.remote_ip or "")[:64] or None,
                        headers=scrub.redact_headers(delivery.headers.items()),
                        body=None if values.pop("drop_body", False) else scrub.stored_body(delivery.raw_body),
                        body_size=delivery.body_size, **values)


@dataclass(frozen=True)
class Recorded:
    """A committed delivery record; for a duplicate, also what its original looked like."""

    event_id: int
    original_id: int = None
    original_status: str = None
    original_received_at: datetime = None
    original_payment_id: int = None


def _commit(row):
    """Insert and commit a row; return its id (read before the commit expires the row)."""
    db.session.add(row)
    db.session.flush()
    event_id = row.id
    db.session.commit()
    return event_id


def record_rejected(delivery, rejection, received_at):
    """Commit the record of a rejected delivery (no key); return its id."""
    payload = rejection.payload if isinstance(rejection.payload, dict) else {}
    paylink = payload.get("paylinkID")
    status = payload.get("status")
    return _commit(_row(
        delivery, received_at, drop_body=rejection.status == 413,
        paylink_id=scrub.mask_card_data(paylink)[:128] if isinstance(paylink, str) else None,
        callback_status=scrub.mask_card_data(status)[:20] if isinstance(status, str) else None,
        signature_valid=rejection.signature_valid, verdict=rejection.code, processing_status="rejected",
        error=rejection.message, http_status=rejection.status))


def _find(key):
    row = db.session.execute(select(WebhookEvent).where(WebhookEvent.delivery_key == key)).scalar_one_or_none()
    return None if row is None else (row.id, row.processing_status, row.received_at, row.payment_id)


def record_verified(delivery, verified, received_at):
    """Commit the record of a verified delivery; a second one with the same key is recorded as a duplicate."""
    key = delivery_key(verified.paylink_id, verified.status)
    common = {"paylink_id": verified.paylink_id, "callback_status": verified.status,
              "signature_valid": verified.signature_valid, "verdict": "accepted"}
    original = _find(key)  # fast path only: the unique constraint below is the real guard
    if original is None:
        try:
            return Recorded(_commit(_row(delivery, received_at, delivery_key=key, processing_status="received",
                                         **common)))
        except IntegrityError:
            db.session.rollback()
            original = _find(key)
            if original is None:
                raise
    duplicate_id = _commit(_row(delivery, received_at, duplicate_of_id=original[0], processing_status="duplicate",
                                http_status=200, **common))
    return Recorded(duplicate_id, *original)


def claim(event_id):
    """Take an unfinished delivery for processing inside the current transaction; tell whether we got it."""
    result = db.session.execute(
        update(WebhookEvent).where(WebhookEvent.id == event_id, WebhookEvent.processing_status.in_(UNFINISHED))
        .values(processing_status="processing").execution_options(synchronize_session=False))
    return result.rowcount == 1


def finish(event_id, status, payment_id=None, note=None):
    """Mark a claimed delivery done, in the processing transaction."""
    values = {"processing_status": status, "payment_id": payment_id, "processed_at": clock.now(),
              "http_status": db.func.coalesce(WebhookEvent.http_status, 200)}
    if note:
        values["error"] = note
    db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(**values)
                       .execution_options(synchronize_session=False))


def _write_quietly(statement, event_id, what):
    try:
        db.session.execute(statement.execution_options(synchronize_session=False))
        db.session.commit()
    except Exception:  # noqa: BLE001 - the database may be the reason processing failed
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001
            db.session.remove()
        log.warning("could not mark callback delivery %s as %s", event_id, what)


def mark_failed(event_id, error, http_status=503):
    """Record that processing failed (its transaction was rolled back); never raises."""
    _write_quietly(update(WebhookEvent).where(WebhookEvent.id == event_id,
                                              WebhookEvent.processing_status.in_(UNFINISHED))
                   .values(processing_status="failed", error=error[:2000],
                           http_status=db.func.coalesce(WebhookEvent.http_status, http_status)), event_id, "failed")


def mark_answered(event_id, http_status):
    """Correct the answer recorded for a duplicate whose redelivery could not finish its original; never raises."""
    _write_quietly(update(WebhookEvent).where(WebhookEvent.id == event_id).values(http_status=http_status),
                   event_id, f"answered {http_status}")
