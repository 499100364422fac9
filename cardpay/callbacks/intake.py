"""The callback path: verify, record the delivery durably, process it in one transaction, then publish.

On PostgreSQL the common cases — a first SUCCESS for a waiting payment, a copy of a finished
delivery, a refusal — are recorded (and applied) in one statement (services/fast_path). Everything
else takes the general path: a first delivery is recorded and applied in one transaction; the insert of
its record takes the unique delivery key (a copy arriving meanwhile waits, then records itself as a
duplicate). A processing error rolls the whole transaction back and the delivery is recorded again,
marked failed: the gateway gets a 503, retries, and the redelivery — or `flask cardpay replay` —
finishes the same record, claiming it with a conditional UPDATE so that however many copies race,
one of them applies the outcome. A 200 is only sent once that commit succeeded.
"""

import json
import logging
import re
from dataclasses import dataclass, field
from functools import partial

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import lazyload

from cardpay.core import clock, database, events
from cardpay import signals
from cardpay.core.extensions import db
from cardpay.models import Payment, WebhookEvent
from cardpay.payments import approvals
from cardpay import audit
from cardpay.callbacks import records, one_statement, verify
from cardpay.core import redaction

log = logging.getLogger(__name__)
STATUS_BY_OUTCOME = {"approved": "processed", "already_approved": "processed", "failed": "processed",
                     "already_failed": "processed", "manual_review": "manual_review"}
_REFERENCE = re.compile(r'"externalTransactionID"\s*:\s*("(?:[^"\\]|\\.)*")')
# Only the payment's own columns are needed: not the enrollment/learner/course joins of its mapping.
_PAYMENT = select(Payment).options(lazyload("*")).where(Payment.paylink_id == bindparam("paylink_id"))


@dataclass
class Answer:
    """What the webhook view sends back."""

    status: int
    body: dict
    events: list = field(default_factory=list)
    record: object = None  # a write left uncommitted for the events' commit; redone alone if that fails


@dataclass
class Result:
    """How processing one delivery ended: processed, manual_review, ignored, duplicate or failed."""

    status: str
    payment_id: int = None
    events: list = field(default_factory=list)
    error: str = None
    event_id: int = None  # the delivery's record, when this processing wrote it


def _rollback():
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection must not turn an answer into a 500
        log.warning("rollback failed; the session is discarded")
        db.session.remove()


def _same_reference(sent, ours, from_stored_body):
    # A stored body has card-like runs masked, so a replay compares masked forms of both sides.
    return (redaction.mask_card_data(ours) == sent) if from_stored_body else (ours == sent)


def _decide(event_id, paylink_id, status, reference, known_at, from_stored_body, seen):
    """Apply one callback's outcome to its payment (caller's transaction); return (decision, status, note)."""
    payment = db.session.execute(_PAYMENT, {"paylink_id": paylink_id}).scalar_one_or_none()
    seen["payment_id"] = payment.id if payment else None
    shown_reference = redaction.mask_card_data(reference)[:100] if reference else None
    if payment is None:
        if status == "FAILURE":
            return None, "ignored", "unknown paylink: a FAILURE changes nothing"
        decision = approvals.send_to_manual_review("unknown_paylink", event_id=event_id, paylink_id=paylink_id,
                                                   details={"status": status, "externalTransactionID": shown_reference})
        return decision, "manual_review", None
    if reference is not None and not _same_reference(reference, payment.external_transaction_id, from_stored_body):
        decision = approvals.send_to_manual_review(
            "reference_mismatch", payment=payment, event_id=event_id, paylink_id=paylink_id,
            details={"status": status, "externalTransactionID": shown_reference}, outcome_known_at=known_at)
        return decision, "manual_review", None
    if status == "SUCCESS":
        decision = approvals.apply_success(payment, "fast_track", outcome_known_at=known_at)
    else:
        decision = approvals.apply_failure(payment, "fast_track", "declined", outcome_known_at=known_at)
    if decision.outcome == "not_approvable":
        return decision, "ignored", f"not applied: the payment is {decision.payment.status}"
    return decision, STATUS_BY_OUTCOME[decision.outcome], None


def _apply(event_id, paylink_id, status, reference, known_at, seen, from_stored_body=False):
    """Apply a recorded delivery to its payment in the current transaction; the caller commits.

    An error propagates: the caller rolls the whole transaction back and records the delivery as
    failed, for a redelivery or a replay. (A SAVEPOINT would keep the record through the rollback,
    at two more round trips on every callback; recording it again costs them only when it failed.)
    ``seen`` receives the payment id, so that a failure can still name the payment.
    """
    decision, outcome, note = _decide(event_id, paylink_id, status, reference, known_at, from_stored_body, seen)
    if decision and decision.intervention and decision.intervention.webhook_event_id is None:
        decision.intervention.webhook_event_id = event_id
    records.finish(event_id, outcome, seen["payment_id"], note)
    extra = []
    if status == "SUCCESS" and decision and decision.outcome == "not_approvable":
        extra = [(signals.approval_failed, {"payment_id": seen["payment_id"], "method": "fast_track", "reason": note})]
    return Result(outcome, seen["payment_id"], (decision.events if decision else []) + extra)


def _failed(payment_id, status, error):
    failed = [(signals.approval_failed, {"payment_id": payment_id, "method": "fast_track", "reason": error})]
    return Result("failed", payment_id, failed if status == "SUCCESS" else [], error)


def _processing_error(event_id, exc):
    log.error("processing callback delivery %s failed: %s", event_id, type(exc).__name__, exc_info=exc)
    return f"processing failed: {type(exc).__name__}"


def process(event_id, paylink_id, status, reference, known_at, from_stored_body=False):
    """Claim a recorded, unfinished delivery and apply it in one transaction; never raises."""
    seen = {"payment_id": None}
    try:
        if not records.claim(event_id):
            _rollback()
            return Result("duplicate")
        result = _apply(event_id, paylink_id, status, reference, known_at, seen, from_stored_body)
        db.session.commit()
        return result
    except Exception as exc:  # noqa: BLE001 - the record stays unfinished, for a redelivery or a replay
        _rollback()
        error = _processing_error(event_id, exc)
        records.mark_failed(event_id, error)
        return _failed(seen["payment_id"], status, error)


def _process_first(delivery, verified, received_at):
    """Record a first delivery and apply it in one transaction; None when it is a copy (its key exists).

    When processing fails, everything is rolled back and the delivery is recorded again, marked
    failed, in a transaction of its own; an error recording it propagates (nothing was recorded).
    """
    seen = {"payment_id": None}
    event_id = records.record_first(delivery, verified, received_at)
    if event_id is None:
        return None
    try:
        result = _apply(event_id, verified.paylink_id, verified.status, verified.external_id, received_at, seen)
        db.session.commit()
        result.event_id = event_id
        return result
    except Exception as exc:  # noqa: BLE001 - recorded as failed below; the gateway is asked to retry
        _rollback()
        error = _processing_error(event_id, exc)
    failed = _failed(seen["payment_id"], verified.status, error)
    failed.event_id = records.record_failed(delivery, verified, received_at, error)
    db.session.commit()
    return failed


def _received_outcome(result_status):
    return {"ignored": "processed"}.get(result_status, result_status)


def _stage_events(started_ms, payment_id, success, details):
    duration = max(0.0, clock.monotonic_ms() - started_ms)
    return [(signals.stage_timed, {"operation": "webhook_processing", "duration_ms": duration,
                                   "payment_id": payment_id, "success": success, "details": details}),
            (signals.request_finished, {"endpoint": "callback", "status_code": details["http_status"],
                                        "duration_ms": duration, "internal_error": details["http_status"] >= 500})]


def _unavailable(message):
    return Answer(503, {"error": "service_unavailable", "message": message})


def _record_rejection(delivery, rejection, received_at, audit_details):
    """Insert a refused delivery's record and its audit row in the current transaction; return the record's id."""
    event_id = records.record_rejected(delivery, rejection, received_at)
    audit.record("callback_rejected", actor="callback", target_type="webhook_event", target_id=event_id,
                 outcome="rejected", reason=rejection.code, details=audit_details, ip=delivery.remote_ip)
    return event_id


def _reject(delivery, rejection, received_at, started_ms):
    paylink = records.rejected_paylink(rejection)
    audit_details = {"http_status": rejection.status, "paylink_id": paylink}
    event_id, record = None, None
    if database.is_postgresql():
        event_id = one_statement.reject(delivery, rejection, received_at, audit_details)
    if event_id is None:
        record = partial(_record_rejection, delivery, rejection, received_at, audit_details)
        try:
            event_id = record()  # committed with the monitoring rows (publish)
        except SQLAlchemyError:
            _rollback()
            record = None
            log.warning("could not record a rejected callback (%s)", rejection.code)
    log.warning("callback rejected: %s (HTTP %s) from %s, delivery %s", rejection.code, rejection.status,
                delivery.remote_ip, event_id)
    duration = max(0.0, clock.monotonic_ms() - started_ms)
    published = [(signals.callback_rejected, {
        "event_id": event_id, "reason": rejection.code, "http_status": rejection.status,
        "remote_ip": delivery.remote_ip, "paylink_id": paylink}),
        (signals.request_finished, {"endpoint": "callback", "status_code": rejection.status,
                                    "duration_ms": duration, "internal_error": False})]
    return Answer(rejection.status, {"error": rejection.code, "message": rejection.message}, published, record)


def _in_one_statement(delivery, verified, received_at):
    """The one-statement path's (result, duplicate), or None when the general path must take the delivery."""
    if not one_statement.applies(verified):
        return None
    taken = one_statement.receive(delivery, verified, received_at)
    if taken is None:
        return None
    event_id, decision, original = taken
    if decision is None:
        return Result("duplicate", original[1], event_id=event_id), True
    return Result("processed", decision.payment.id, decision.events, event_id=event_id), False


def _record_and_process(delivery, verified, received_at):
    """Record and process a delivery on the general path; return (result, duplicate, record left to commit).

    Raises SQLAlchemyError or LookupError when the delivery could not be recorded.
    """
    record = partial(records.record_duplicate, delivery, verified, received_at)
    # Record and outcome commit together: one commit for a first delivery.
    result = _process_first(delivery, verified, received_at)
    if result is not None:
        return result, False, None
    recorded = record()
    if recorded.original_status not in records.UNFINISHED:
        return Result("duplicate", recorded.original_payment_id, event_id=recorded.event_id), True, record
    db.session.commit()  # before processing the original, which may roll back
    # A redelivery of a callback whose processing never finished: finish the original now.
    result = process(recorded.original_id, verified.paylink_id, verified.status, verified.external_id,
                     recorded.original_received_at)
    result.payment_id = result.payment_id or recorded.original_payment_id
    result.event_id = recorded.event_id
    return result, True, None


def receive(delivery, started_ms):
    """Judge, record and process one callback delivery; return the answer and the events to publish."""
    received_at = clock.now()
    try:
        verified = verify.verify(delivery, current_app.config, received_at)
    except verify.Rejected as rejection:
        return _reject(delivery, rejection, received_at, started_ms)
    fast = _in_one_statement(delivery, verified, received_at)
    if fast is not None:
        (result, duplicate), record = fast, None
    else:
        try:
            result, duplicate, record = _record_and_process(delivery, verified, received_at)
        except (SQLAlchemyError, LookupError):
            _rollback()
            log.exception("could not record a verified callback for paylink %s", verified.paylink_id)
            answer = _unavailable("The callback could not be recorded; please deliver it again.")
            answer.events = _stage_events(started_ms, None, False, {"outcome": "unrecorded", "http_status": 503})
            return answer
    event_id = result.event_id
    outcome = _received_outcome(result.status)
    http_status = 503 if result.status == "failed" else 200
    if duplicate and http_status == 503:
        records.mark_answered(event_id, 503)
    log.info("callback %s for paylink %s: %s (delivery %s)", verified.status, verified.paylink_id, outcome, event_id)
    published = [(signals.callback_received, {"event_id": event_id, "paylink_id": verified.paylink_id,
                                              "status": verified.status, "outcome": outcome,
                                              "remote_ip": delivery.remote_ip})] + result.events
    published += _stage_events(started_ms, result.payment_id, http_status == 200,
                               {"outcome": outcome, "http_status": http_status, "event_id": event_id})
    if http_status == 503:
        return Answer(503, {"error": "processing_failed",
                            "message": "The callback was recorded but could not be processed; please retry."},
                      published)
    return Answer(200, {"received": True, "event_id": event_id, "outcome": outcome}, published, record)


def publish(answer):
    """Publish an answer's events, committing its pending record with them; return the answer to send.

    A refusal or a copy changes no payment, so its record shares the monitoring rows' commit. If
    that commit fails, the record is committed again on its own; if even that fails, a copy is
    answered 503 so that it is delivered (and recorded) again, and a refusal keeps its 4xx.
    """
    if events.publish_all(answer.events) or answer.record is None:
        return answer
    try:
        answer.record()
        db.session.commit()
    except (SQLAlchemyError, LookupError):
        _rollback()
        log.warning("could not record a callback delivery answered %s", answer.status)
        if answer.status < 400:
            return _unavailable("The callback could not be recorded; please deliver it again.")
    return answer


def stored_reference(event):
    """Return the externalTransactionID kept in a stored (masked) body, or None."""
    match = _REFERENCE.search(event.body or "")
    if not match:
        return None
    try:
        return json.loads(match.group(1))
    except ValueError:
        return None


def replay(ids=None, failed=False):
    """Re-run processing of verified deliveries (never re-verifying); return [(event_id, outcome)]."""
    query = select(WebhookEvent).order_by(WebhookEvent.id)
    if ids:
        query = query.where(WebhookEvent.id.in_(ids))
    if failed:
        query = query.where(WebhookEvent.processing_status.in_(records.UNFINISHED))
    rows = [(row.id, row.verdict == "accepted" and row.delivery_key is not None, row.processing_status,
             row.paylink_id, row.callback_status, row.received_at, stored_reference(row))
            for row in db.session.execute(query).scalars()]
    db.session.rollback()  # end the read before each delivery's own processing transaction
    found = {row[0] for row in rows}
    results = [(event_id, "not found") for event_id in (ids or []) if event_id not in found]
    for event_id, verified, status_now, paylink_id, status, known_at, reference in rows:
        if not verified:
            results.append((event_id, "skipped: not a verified first delivery"))
        elif status_now not in records.UNFINISHED:
            results.append((event_id, f"skipped: already {status_now}"))
        else:
            result = process(event_id, paylink_id, status, reference, known_at, from_stored_body=True)
            events.publish_all(result.events)
            results.append((event_id, result.status))
    return sorted(results)
