"""On PostgreSQL, the common callback outcomes each in one statement: one round trip, one transaction.

Most callbacks are a first SUCCESS for a payment waiting for it, a copy of one already processed,
or a refusal. For those, services/callbacks would send several statements and a commit; here one
data-modifying statement does the same writes as its own transaction (autocommit), on a pooled
connection used directly:

- a first delivery: its webhook_events record (processed), the payment's move to succeeded, the
  enrollment's access, the fast_track_approvals row, the approval's audit row, the paying name on
  the learner and the learner's receipt in the outbox (learners/delivery.queue_receipt);
- a copy of a finished delivery: its record, marked duplicate of the original;
- a refused delivery: its record and its audit row.

The rows are those the general path writes (tests/callbacks/test_fast_path.py compares them).
Anything else — no such payment, a payment not waiting, a reference that differs, an original
still unfinished, fast track switched off, SQLite, any error — writes nothing here and returns
None: the general path then handles the delivery as it always does.

Why an approval here is safe to race: the payment and its enrollment are locked (``FOR UPDATE``)
before the record takes the delivery key, so once the statement has the payment in an approvable
state and the enrollment without access, its UPDATEs cannot lose to a status poll, a copy, or a
second payment of the same enrollment; a copy waits for the lock, finds the payment approved and the
key taken, and falls through to the general path, which records it as a duplicate; a second payment
finds the enrollment active and falls through to the general path, which opens its duplicate_payment
review item (tests/callbacks/test_concurrency.py).
"""

import json
import logging
import re
from types import SimpleNamespace
from typing import NamedTuple

import psycopg
from flask import current_app
from sqlalchemy import JSON, Boolean, Integer

from cardpay.callbacks import records
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.learners import delivery as learner_delivery
from cardpay.learners import emails
from cardpay.models.types import UTCDateTime
from cardpay.payments import approvals

log = logging.getLogger(__name__)

# Columns and rules come from the general path's own definitions (records.COLUMNS, approvals.APPROVABLE,
# approvals.APPROVAL_AUDIT), so the two forms cannot drift apart: tests/callbacks runs on both.
_CASTS = ((JSON, "json"), (UTCDateTime, "timestamp"), (Boolean, "boolean"), (Integer, "integer"))


def _cast(column):
    return next((cast for kind, cast in _CASTS if isinstance(column.type, kind)), "text")


def _record(computed, source="%({name})s::{cast}"):
    """The column list and SELECT list of a webhook_events insert: ``source`` per column, except the
    ``computed`` ones (a parameter by default, ``v.{name}`` to read the parameters' row)."""
    names = [column.name for column in records.COLUMNS]
    values = [computed.get(column.name, source.format(name=column.name, cast=_cast(column)))
              for column in records.COLUMNS]
    return ", ".join(names), ", ".join(values)


def _states(states):
    return ", ".join(f"'{state}'" for state in states)


class _Statement(NamedTuple):
    """A statement in PostgreSQL's own ``$n`` placeholders and the parameter names they stand for."""

    sql: str
    names: tuple


def _statement(sql):
    """Turn ``%(name)s`` placeholders into ``$n`` and drop comments and runs of white space.

    Run through psycopg's RawCursor, the text goes to the server as it is: psycopg's conversion of
    named placeholders is cached only for queries up to 4 KiB, and converting this one on every
    callback cost ~6% of a worker.
    """
    names = []

    def number(match):
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    compact = re.sub(r"\s+", " ", re.sub(r"--[^\n]*", "", sql)).strip()
    return _Statement(re.sub(r"%\((\w+)\)s", number, compact), tuple(names))


_COMPUTED_FIRST = {"verdict": "'accepted'", "processing_status": "'processed'", "http_status": "200",
                   "payment_id": "pay.id", "processed_at": "v.now", "duplicate_of_id": "NULL"}
_COMPUTED_COPY = {"verdict": "'accepted'", "processing_status": "'duplicate'", "http_status": "200",
                  "duplicate_of_id": "original.id", "delivery_key": "NULL", "payment_id": "NULL", "processed_at": "NULL"}
_FIRST, _COPY = _record(_COMPUTED_FIRST, "v.{name}"), _record(_COMPUTED_COPY, "v.{name}")
_REFUSED = _record({"duplicate_of_id": "NULL", "delivery_key": "NULL", "payment_id": "NULL", "processed_at": "NULL"})
# Every parameter once, cast once, as the one row ``v`` the statement reads them from.
_PARAMETERS = ", ".join(
    [f"%({c.name})s::{_cast(c)} AS {c.name}" for c in records.COLUMNS
     if c.name not in _COMPUTED_FIRST or c.name not in _COMPUTED_COPY]
    + ["%(now)s::timestamp AS now", "%(reference)s::text AS reference", "%(processing_ms)s::float8 AS processing_ms",
       "%(audit)s::boolean AS audit", "%(receipt)s::boolean AS receipt"])
_AUDIT_DETAILS = ", ".join(f"'{key}', {value}" for key, value in zip(
    approvals.APPROVAL_AUDIT["keys"], ("approval.id", "'fast_track'", "v.processing_ms")))

RECEIVE = _statement(f"""
WITH v AS (SELECT {_PARAMETERS}),
pay AS (
    -- The enrollment is locked with the payment, and its status checked again after any wait: a second
    -- payment of the same enrollment approved meanwhile (by another callback, a poll or an operator)
    -- makes this one a duplicate payment, which the general path sends to manual review.
    SELECT p.id FROM payments p JOIN enrollments e ON e.id = p.enrollment_id, v
    WHERE p.paylink_id = v.paylink_id AND p.status IN ({_states(approvals.APPROVABLE)})
      AND (v.reference IS NULL OR p.external_transaction_id = v.reference)
      AND e.status <> 'active'
    FOR UPDATE OF p, e
), recorded AS (
    INSERT INTO webhook_events ({_FIRST[0]})
    SELECT {_FIRST[1]}
    FROM pay, v
    ON CONFLICT DO NOTHING
    RETURNING id, payment_id
), approved AS (
    UPDATE payments p SET status = 'succeeded', succeeded_at = v.now, access_granted_at = v.now,
        updated_at = v.now, outcome_known_at = coalesce(p.outcome_known_at, v.received_at),
        detection_method = coalesce(p.detection_method, 'callback'), failure_reason = NULL
    FROM recorded, v WHERE p.id = recorded.payment_id
    RETURNING p.id, p.enrollment_id, p.amount_cents, p.currency, p.return_page_at, p.outcome_known_at,
              p.detection_method, p.payer_name
), granted AS (
    UPDATE enrollments e SET status = 'active', access_granted_at = v.now, revoked_at = NULL, updated_at = v.now
    FROM approved, v WHERE e.id = approved.enrollment_id
), approval AS (
    INSERT INTO fast_track_approvals (payment_id, method, outcome, processing_time_ms, created_at)
    SELECT approved.id, 'fast_track', 'approved', v.processing_ms, v.now FROM approved, v
    RETURNING id, payment_id
), audited AS (
    INSERT INTO audit_logs (timestamp, actor, action, target_type, target_id, ip, outcome, details)
    SELECT v.now, 'system', '{approvals.APPROVAL_AUDIT["action"]}', 'payment', approval.payment_id::text,
           v.remote_ip, 'ok', json_build_object({_AUDIT_DETAILS})
    FROM approval, v WHERE v.audit
), payer AS (
    SELECT l.id AS learner_id, l.email, l.name, approved.payer_name
    FROM approved JOIN enrollments e ON e.id = approved.enrollment_id JOIN learners l ON l.id = e.learner_id
), renamed AS (  -- the name typed on the payment that succeeded wins
    UPDATE learners l SET name = payer.payer_name FROM payer
    WHERE l.id = payer.learner_id AND payer.payer_name <> '' AND l.name <> payer.payer_name
), receipt AS (
    INSERT INTO alert_deliveries (channel, target, kind, payload, status, attempts, next_attempt_at, created_at)
    SELECT '{learner_delivery.CHANNEL}', payer.email, 'message',
           json_build_object('kind', '{emails.RECEIPT}', 'to', payer.email, 'learner_id', payer.learner_id,
                             'payment_id', approved.id),
           'pending', 0, v.now, v.now
    FROM payer, approved, v WHERE v.receipt
), original AS (
    SELECT w.id, w.payment_id FROM webhook_events w, v
    WHERE w.delivery_key = v.delivery_key AND w.processing_status NOT IN ({_states(records.UNFINISHED)})
), duplicate AS (
    INSERT INTO webhook_events ({_COPY[0]})
    SELECT {_COPY[1]}
    FROM original, v WHERE NOT EXISTS (SELECT 1 FROM recorded)
    RETURNING id
)
SELECT recorded.id, approval.id, approved.id, approved.amount_cents, approved.currency, approved.return_page_at,
       approved.outcome_known_at, approved.detection_method, approved.enrollment_id, NULL, NULL
FROM recorded JOIN approved ON true JOIN approval ON true
UNION ALL
SELECT duplicate.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, original.id, original.payment_id
FROM duplicate JOIN original ON true
""")

REJECT = _statement(f"""
WITH recorded AS (
    INSERT INTO webhook_events ({_REFUSED[0]})
    VALUES ({_REFUSED[1]})
    RETURNING id
), audited AS (
    INSERT INTO audit_logs (timestamp, actor, action, target_type, target_id, ip, outcome, reason, details)
    SELECT %(now)s::timestamp, 'callback', 'callback_rejected', 'webhook_event', recorded.id::text,
           %(remote_ip)s::text, 'rejected', %(verdict)s::text, %(details)s::json
    FROM recorded WHERE %(audit)s::boolean
)
SELECT id FROM recorded
""")


def applies(verified):
    """Tell whether a verified delivery may take the one-statement path (callbacks/records chose PostgreSQL)."""
    return verified.status == "SUCCESS" and current_app.config["ENABLE_CARD_PAYMENT_FAST_TRACK"]


def _audit_on():
    return bool(current_app.config["ENABLE_CARD_PAYMENT_AUDIT_LOGGING"])


def _parameters(delivery, verified, received_at, now, processing_ms):
    values = records.record_values(delivery, received_at, delivery_key=records.delivery_key(
        verified.paylink_id, verified.status), **records.verified_values(verified))
    return {**values, "received_at": clock.naive_utc(received_at), "now": clock.naive_utc(now), "headers": json.dumps(values["headers"]),
            "reference": verified.external_id, "processing_ms": processing_ms, "audit": _audit_on(),
            "receipt": bool(current_app.config["LEARNER_EMAILS_ENABLED"])}


def _execute(statement, parameters):
    """Run a statement in a transaction of its own; return its row, or None when it wrote nothing."""
    connection = db.engine.raw_connection()
    try:
        raw = connection.dbapi_connection
        raw.autocommit = True  # one statement, one transaction: no BEGIN and COMMIT round trips
        try:
            with psycopg.RawCursor(raw) as cursor:
                values = [parameters[name] for name in statement.names]
                return cursor.execute(statement.sql, values, prepare=True).fetchone()
        finally:
            if not raw.closed:
                raw.autocommit = False
    except psycopg.OperationalError:
        connection.invalidate()  # a dead connection: the pool opens a new one for the general path
        raise
    finally:
        connection.close()


def receive(delivery, verified, received_at):
    """Record and apply a first delivery, or record a copy, in one statement.

    Returns a records.Taken (``applied`` for an approval, ``copy`` for a duplicate of a finished
    delivery), or None when the general path must handle the delivery.
    On an error nothing was written, except when the connection died after the server committed:
    then the general path finds the delivery recorded and answers it as a duplicate (the approval
    stands; only its events, counted on /metrics, are not published).
    """
    if not applies(verified):
        return None
    now = clock.now()
    processing_ms = clock.ms_between(received_at, now) or 0.0
    try:
        row = _execute(RECEIVE, _parameters(delivery, verified, received_at, now, processing_ms))
    except (psycopg.Error, UnicodeError) as exc:
        log.warning("one-statement callback path failed (%s); the general path takes the delivery",
                    type(exc).__name__)
        return None
    if row is None:
        return None
    event_id, approval_id, payment_id, amount_cents, currency, return_page_at, outcome_known_at, method, \
        enrollment_id, original_id, original_payment_id = row
    if approval_id is None:
        return records.Taken("copy", event_id, original_id=original_id, original_payment_id=original_payment_id)
    payment = SimpleNamespace(id=payment_id, enrollment_id=enrollment_id, amount_cents=amount_cents, currency=currency,
                              return_page_at=clock.as_utc(return_page_at), outcome_known_at=clock.as_utc(outcome_known_at),
                              detection_method=method)
    events = approvals.approval_events(payment, approval_id, "fast_track", processing_ms)
    return records.Taken("applied", event_id, payment_id, events)


def reject(delivery, rejection, received_at, audit_details):
    """Record a refused delivery and its audit row in one statement; return the record's id, or None on error."""
    values = records.rejected_values(delivery, rejection, received_at)
    try:
        row = _execute(REJECT, {**values, "received_at": clock.naive_utc(received_at), "now": clock.naive_utc(clock.now()),
                                "headers": json.dumps(values["headers"]), "details": json.dumps(audit_details),
                                "audit": _audit_on()})
    except (psycopg.Error, UnicodeError) as exc:
        log.warning("one-statement record of a refused callback failed (%s); the general path records it",
                    type(exc).__name__)
        return None
    return row[0]
