"""The webhook_events record of every callback delivery: every one is recorded, valid or not.

``take`` and ``refuse`` are what callbacks/intake calls: on PostgreSQL they try the one-statement
form first (callbacks/one_statement, built from the same columns and rules as the general path),
so intake has no branch for the database it runs on.

A verified delivery carries the delivery key "paylinkID:STATUS", unique in the table, so the
database itself recognises a duplicate even when copies arrive at the same instant; a rejected
delivery carries no key and can never block a later valid one. A first delivery's record is
inserted in the transaction that processes it, and the record of a refusal or a copy in the one
that commits its monitoring rows (services/callbacks commits). Rows are written with Core inserts:
nothing here needs them back as ORM objects.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from flask import current_app
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from cardpay import audit
from cardpay.core import clock, database, redaction
from cardpay.core.extensions import db
from cardpay.models import WebhookEvent

log = logging.getLogger(__name__)
UNFINISHED = ("received", "failed")  # verified deliveries whose processing has not completed


def delivery_key(paylink_id, status):
    """Return the key that makes a second delivery of the same outcome a duplicate."""
    return f"{paylink_id}:{status}"


_EVENTS = WebhookEvent.__table__
_INSERT = insert(_EVENTS).returning(_EVENTS.c.id)
COLUMNS = [column for column in _EVENTS.columns if not column.primary_key]  # what every record insert writes
# The same SQL on PostgreSQL and SQLite; as text, because the dialects' on_conflict_do_nothing()
# constructs carry no cache key and would be compiled again on every callback.
_INSERT_NEW = text(
    f"INSERT INTO {_EVENTS.name} ({', '.join(c.name for c in COLUMNS)}) "
    f"VALUES ({', '.join(':' + c.key for c in COLUMNS)}) ON CONFLICT DO NOTHING RETURNING id"
).bindparams(*[bindparam(c.key, type_=c.type) for c in COLUMNS]).columns(_EVENTS.c.id)
_ORIGINAL = select(_EVENTS.c.id, _EVENTS.c.processing_status, _EVENTS.c.received_at, _EVENTS.c.payment_id).where(
    _EVENTS.c.delivery_key == bindparam("key"))
_FINISH = update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id")).values(
    processing_status=bindparam("status"), payment_id=bindparam("payment_id"), processed_at=bindparam("now"),
    error=db.func.coalesce(bindparam("note", type_=_EVENTS.c.error.type), _EVENTS.c.error),
    http_status=db.func.coalesce(_EVENTS.c.http_status, 200))


# A refused delivery keeps an excerpt only: a flood of 64 KiB forgeries must not fill the table.
REFUSED_BODY_CHARS, REFUSED_HEADERS, REFUSED_HEADER_CHARS = 2048, 30, 256


def record_values(delivery, received_at, drop_body=False, excerpt=False, **values):
    """Return the columns of a delivery's record (path, address, redacted headers, masked body) plus ``values``."""
    headers = (redaction.redact_headers(delivery.headers.items(), REFUSED_HEADERS, REFUSED_HEADER_CHARS) if excerpt
               else redaction.redact_headers(delivery.headers.items()))
    body = None if drop_body else redaction.stored_body(delivery.raw_body)
    # The raw path may hold bytes that are not UTF-8 (kept as surrogates to verify the signature): stored as U+FFFD.
    path = delivery.path.encode("utf-8", "replace").decode("utf-8")
    return {"received_at": received_at, "path": redaction.mask_card_data(path)[:300],
            "remote_ip": (delivery.remote_ip or "")[:64] or None, "headers": headers,
            "body": body[:REFUSED_BODY_CHARS] if excerpt and body else body,
            "body_size": delivery.body_size, "duplicate_of_id": None, "delivery_key": None, "payment_id": None,
            **values}


@dataclass(frozen=True)
class Recorded:
    """The record of a copy of an earlier delivery, and what that original looked like."""

    event_id: int
    original_id: int = None
    original_status: str = None
    original_received_at: datetime = None
    original_payment_id: int = None


def rejected_paylink(rejection):
    """Return the paylinkID a rejected delivery named, card data masked, as recorded; None if it named none."""
    paylink = rejection.payload.get("paylinkID") if isinstance(rejection.payload, dict) else None
    return redaction.mask_card_data(paylink)[:128] if isinstance(paylink, str) else None


def rejected_values(delivery, rejection, received_at):
    """Return the columns of a rejected delivery's record (no key; the body dropped when oversized)."""
    status = rejection.payload.get("status") if isinstance(rejection.payload, dict) else None
    return record_values(
        delivery, received_at, drop_body=rejection.status == 413, excerpt=True, paylink_id=rejected_paylink(rejection),
        callback_status=redaction.mask_card_data(status)[:20] if isinstance(status, str) else None,
        signature_valid=rejection.signature_valid, verdict=rejection.code, processing_status="rejected",
        error=rejection.message, http_status=rejection.status)


def record_rejected(delivery, rejection, received_at):
    """Insert the record of a rejected delivery in the current transaction; return its id."""
    return db.session.execute(_INSERT, rejected_values(delivery, rejection, received_at)).scalar_one()


def verified_values(verified):
    """Return the record columns that say a delivery passed every check."""
    return {"paylink_id": verified.paylink_id, "callback_status": verified.status,
            "signature_valid": verified.signature_valid, "verdict": "accepted", "error": None}


def record_first(delivery, verified, received_at):
    """Insert a verified delivery's record in the current transaction (uncommitted); None when its key exists.

    The insert takes the unique key, so a copy arriving meanwhile waits for this transaction and then
    finds the key taken: the caller processes the delivery and commits record and outcome together.
    """
    return db.session.execute(_INSERT_NEW, record_values(
        delivery, received_at, delivery_key=delivery_key(verified.paylink_id, verified.status),
        processing_status="received", http_status=None, processed_at=None, **verified_values(verified))).scalar()


def record_duplicate(delivery, verified, received_at, http_status=200):
    """Insert the record of a copy of a recorded delivery in the current transaction; LookupError if none is."""
    original = db.session.execute(_ORIGINAL, {"key": delivery_key(verified.paylink_id, verified.status)}).one_or_none()
    if original is None:
        raise LookupError("the original delivery of this copy is no longer recorded")
    event_id = db.session.execute(_INSERT, record_values(
        delivery, received_at, duplicate_of_id=original.id, processing_status="duplicate", http_status=http_status,
        processed_at=None, **verified_values(verified))).scalar_one()
    return Recorded(event_id, *original)


def record_failed(delivery, verified, received_at, error):
    """Record a first delivery whose processing was rolled back, marked failed, for a redelivery or a replay.

    The rollback released the delivery key, so a copy may have taken it meanwhile: then this one is
    recorded as that copy's duplicate, answered 503 too. Returns the record's id (current transaction).
    """
    failed = {"processing_status": "failed", "error": error[:2000], "http_status": 503, "processed_at": None}
    event_id = db.session.execute(_INSERT_NEW, record_values(
        delivery, received_at, delivery_key=delivery_key(verified.paylink_id, verified.status),
        **{**verified_values(verified), **failed})).scalar()
    if event_id is not None:
        return event_id
    return record_duplicate(delivery, verified, received_at, http_status=503).event_id


def claim(event_id):
    """Take an unfinished delivery for processing inside the current transaction; tell whether we got it."""
    result = db.session.execute(
        update(WebhookEvent).where(WebhookEvent.id == event_id, WebhookEvent.processing_status.in_(UNFINISHED))
        .values(processing_status="processing").execution_options(synchronize_session=False))
    return result.rowcount == 1


def finish(event_id, status, payment_id=None, note=None):
    """Mark a claimed delivery done, in the processing transaction."""
    db.session.execute(_FINISH, {"event_id": event_id, "status": status, "payment_id": payment_id,
                                 "now": clock.now(), "note": note or None})


def _write_quietly(statement, event_id, what):
    try:
        db.session.execute(statement.execution_options(synchronize_session=False))
        db.session.commit()
    except Exception:  # noqa: BLE001 - the database may be the reason processing failed
        database.rollback_quietly()
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


# ── What intake calls ───────────────────────────────────────────────────────────────────────────


@dataclass
class Taken:
    """How a verified delivery was recorded.

    kind is ``applied`` (recorded and approved in one statement, PostgreSQL), ``first`` (recorded in
    the current transaction, to be applied before it commits) or ``copy`` (its key was taken: recorded
    as a duplicate of the original, whose state says whether that one finished).
    """

    kind: str
    event_id: int
    payment_id: int = None
    events: list = field(default_factory=list)
    original_id: int = None
    original_finished: bool = True
    original_received_at: datetime = None
    original_payment_id: int = None
    write: object = None  # redoes a copy's record when the commit it shares with monitoring rows fails


def _one_statement_on():
    return current_app.config.get("CALLBACKS_ONE_STATEMENT", True) and database.is_postgresql()


def take(delivery, verified, received_at):
    """Record a verified delivery (and on PostgreSQL apply the common cases in the same statement); return Taken.

    Raises SQLAlchemyError or LookupError when it could not be recorded.
    """
    if _one_statement_on():
        from cardpay.callbacks import one_statement  # it builds its SQL from this module's columns

        taken = one_statement.receive(delivery, verified, received_at)
        if taken is not None:
            return taken
    event_id = record_first(delivery, verified, received_at)
    if event_id is not None:
        return Taken("first", event_id)
    write = partial(record_duplicate, delivery, verified, received_at)
    copy = write()
    return Taken("copy", copy.event_id, original_id=copy.original_id,
                 original_finished=copy.original_status not in UNFINISHED,
                 original_received_at=copy.original_received_at, original_payment_id=copy.original_payment_id,
                 write=write)


@dataclass
class Refused:
    """A refused delivery's record: its id (None when it could not be written) and the paylink it named."""

    event_id: int
    paylink_id: str
    write: object = None  # redoes the record and audit row when the commit they share with monitoring fails


def _record_refusal(delivery, rejection, received_at, audit_details):
    """Insert a refused delivery's record and its audit row in the current transaction; return the record's id."""
    event_id = record_rejected(delivery, rejection, received_at)
    audit.record("callback_rejected", actor="callback", target_type="webhook_event", target_id=event_id,
                 outcome="rejected", reason=rejection.code, details=audit_details, ip=delivery.remote_ip)
    return event_id


def refuse(delivery, rejection, received_at):
    """Record a refused delivery with its audit row; never raises (a refusal keeps its 4xx whatever happens)."""
    paylink = rejected_paylink(rejection)
    audit_details = {"http_status": rejection.status, "paylink_id": paylink}
    if _one_statement_on():
        from cardpay.callbacks import one_statement

        event_id = one_statement.reject(delivery, rejection, received_at, audit_details)
        if event_id is not None:
            return Refused(event_id, paylink)
    write = partial(_record_refusal, delivery, rejection, received_at, audit_details)
    try:
        return Refused(write(), paylink, write)  # committed with the monitoring rows (intake.publish)
    except SQLAlchemyError:
        database.rollback_quietly()
        log.warning("could not record a rejected callback (%s)", rejection.code)
        return Refused(None, paylink)
