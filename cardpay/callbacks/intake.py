"""One callback delivery, top to bottom: verify -> record -> duplicate? -> approvals -> commit -> publish.

``receive`` is the whole path. A refused delivery is recorded (with its audit row) and answered 4xx.
A verified one is taken by callbacks/records, which on PostgreSQL records and applies the common
cases in one statement; otherwise a first delivery is recorded and applied in one transaction (the
insert of its record takes the unique delivery key, so a copy arriving meanwhile waits, then
records itself as a duplicate). A processing error rolls the whole transaction back and the delivery
is recorded again, marked failed: the gateway gets a 503, retries, and the redelivery (or
`flask cardpay replay`) finishes the same record, claiming it with a conditional UPDATE so that
however many copies race, one of them applies the outcome. A 200 is only sent once that commit
succeeded. The decision itself (which payment, which state) is payments/approvals.decide_callback.
"""

import logging
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from cardpay import signals
from cardpay.callbacks import records, verify
from cardpay.core import clock, database, events, rate_limits
from cardpay.core.extensions import db
from cardpay.payments import approvals

log = logging.getLogger(__name__)


@dataclass
class Answer:
    """What the webhook view sends back, and what to publish once it is decided."""

    status: int
    body: dict
    events: list = field(default_factory=list)
    record: object = None  # a write left uncommitted for the events' commit; redone alone if that fails
    retry_after: int = None  # seconds, sent as Retry-After


@dataclass
class Outcome:
    """How processing one delivery ended: processed, manual_review, ignored, duplicate or failed."""

    status: str
    event_id: int = None  # the delivery's own record
    payment_id: int = None
    events: list = field(default_factory=list)
    error: str = None
    duplicate: bool = False  # this delivery is a copy of an earlier one
    record: object = None  # the copy's record write, left for the events' commit

    @property
    def reported(self):
        """The outcome as counted and answered: an ignored FAILURE is reported as processed."""
        return "processed" if self.status == "ignored" else self.status


def receive(delivery, started_ms):
    """Judge, record and process one callback delivery; return the answer and the events to publish."""
    received_at = clock.now()
    try:
        verified = verify.verify(delivery, current_app.config, received_at)
    except verify.Rejected as rejection:
        throttled = _refusal_throttled(delivery, rejection, started_ms)
        return throttled or _refuse(delivery, rejection, received_at, started_ms)
    try:
        outcome = _record_and_apply(delivery, verified, received_at)
    except (SQLAlchemyError, LookupError):
        database.rollback_quietly()
        log.exception("could not record a verified callback", extra={"cardpay": {"paylink_id": verified.paylink_id}})
        answer = _unavailable("The callback could not be recorded; please deliver it again.")
        answer.events = _stage_events(started_ms, None, False, {"outcome": "unrecorded", "http_status": 503})
        return answer
    return _answer(delivery, verified, outcome, started_ms)


def _record_and_apply(delivery, verified, received_at):
    """Record a verified delivery and apply it; raise SQLAlchemyError or LookupError when it could not be recorded."""
    taken = records.take(delivery, verified, received_at)
    if taken.kind == "applied":  # PostgreSQL recorded and approved it in one statement
        return Outcome("processed", taken.event_id, taken.payment_id, taken.events)
    if taken.kind == "first":  # recorded in this transaction: the outcome commits with it
        return _apply_first(delivery, verified, received_at, taken.event_id)
    copy = Outcome("duplicate", taken.event_id, taken.original_payment_id, duplicate=True, record=taken.write)
    if taken.original_finished:
        return copy
    # A redelivery of a callback whose processing never finished: finish the original now.
    db.session.commit()  # the copy's record first, since processing the original may roll back
    outcome = process(taken.original_id, verified.paylink_id, verified.status, verified.external_id,
                      taken.original_received_at)
    outcome.payment_id = outcome.payment_id or taken.original_payment_id
    outcome.event_id, outcome.duplicate = taken.event_id, True
    return outcome


def _apply_first(delivery, verified, received_at, event_id):
    """Apply a first delivery recorded in this transaction and commit both; on an error record it as failed."""
    try:
        outcome = _apply(event_id, verified.paylink_id, verified.status, verified.external_id, received_at)
        db.session.commit()
        return outcome
    except _ProcessingFailed as failed:
        database.rollback_quietly()
        outcome = failed.outcome
    outcome.event_id = records.record_failed(delivery, verified, received_at, outcome.error)
    db.session.commit()
    return outcome


class _ProcessingFailed(Exception):
    """Applying a recorded delivery raised: carries the failed outcome (with the payment it concerned)."""

    def __init__(self, outcome):
        super().__init__(outcome.error)
        self.outcome = outcome


def _apply(event_id, paylink_id, status, reference, known_at, from_stored_body=False):
    """Apply a recorded delivery to its payment in the current transaction; the caller commits.

    An error raises _ProcessingFailed: the caller rolls the whole transaction back and records the
    delivery as failed, for a redelivery or a replay. (A SAVEPOINT would keep the record through the
    rollback, at two more round trips on every callback; recording it again costs them only when it failed.)
    """
    decided = approvals.CallbackDecision()
    try:
        decided = approvals.decide_callback(paylink_id, status, reference, known_at, event_id, from_stored_body)
        records.finish(event_id, decided.record_status, decided.payment_id, decided.note)
    except Exception as exc:  # noqa: BLE001 - recorded as failed by the caller; the gateway is asked to retry
        log.error("processing callback delivery %s failed: %s", event_id, type(exc).__name__, exc_info=exc,
                  extra={"cardpay": {"delivery_id": event_id, "paylink_id": paylink_id}})
        error = f"processing failed: {type(exc).__name__}"
        failed = [(signals.approval_failed, {"payment_id": decided.payment_id, "method": "fast_track",
                                             "reason": error})] if status == "SUCCESS" else []
        raise _ProcessingFailed(Outcome("failed", event_id, decided.payment_id, failed, error)) from exc
    return Outcome(decided.record_status, event_id, decided.payment_id, decided.events)


def process(event_id, paylink_id, status, reference, known_at, from_stored_body=False):
    """Claim a recorded, unfinished delivery and apply it in one transaction; never raises."""
    try:
        if not records.claim(event_id):
            database.rollback_quietly()
            return Outcome("duplicate", event_id)
        outcome = _apply(event_id, paylink_id, status, reference, known_at, from_stored_body)
        db.session.commit()
        return outcome
    except _ProcessingFailed as failed:
        database.rollback_quietly()
        records.mark_failed(event_id, failed.outcome.error)
        return failed.outcome
    except Exception as exc:  # noqa: BLE001 - the claim or the commit failed: the record stays unfinished
        database.rollback_quietly()
        error = f"processing failed: {type(exc).__name__}"
        log.error("processing callback delivery %s failed: %s", event_id, type(exc).__name__, exc_info=exc)
        records.mark_failed(event_id, error)
        return Outcome("failed", event_id, error=error)


def _answer(delivery, verified, outcome, started_ms):
    """Turn an outcome into the HTTP answer and the events to publish with it."""
    http_status = 503 if outcome.status == "failed" else 200
    if outcome.duplicate and http_status == 503:
        records.mark_answered(outcome.event_id, 503)
    log.info("callback %s for paylink %s: %s (delivery %s)", verified.status, verified.paylink_id, outcome.reported,
             outcome.event_id, extra={"cardpay": {"delivery_id": outcome.event_id, "paylink_id": verified.paylink_id,
                                                  "payment_id": outcome.payment_id}})
    published = [(signals.callback_received, {"event_id": outcome.event_id, "paylink_id": verified.paylink_id,
                                              "status": verified.status, "outcome": outcome.reported,
                                              "remote_ip": delivery.remote_ip})] + outcome.events
    published += _stage_events(started_ms, outcome.payment_id, http_status == 200,
                               {"outcome": outcome.reported, "http_status": http_status, "event_id": outcome.event_id})
    if http_status == 503:
        return Answer(503, {"error": "processing_failed",
                            "message": "The callback was recorded but could not be processed; please retry."},
                      published)
    return Answer(200, {"received": True, "event_id": outcome.event_id, "outcome": outcome.reported}, published,
                  outcome.record)


def _refusal_throttled(delivery, rejection, started_ms):
    """Count a refusal against its source address; past CALLBACK_REFUSAL_RATE_LIMIT answer 429, unrecorded.

    Only deliveries that verification already refused get here, so a correctly signed callback from
    the same address is never limited. Verification reads no database; what the limit saves is the
    rest: the webhook_events row, the audit row, the log line and threat detection's work.
    """
    limit = rate_limits.parse_first(current_app.config["CALLBACK_REFUSAL_RATE_LIMIT"])
    ip = delivery.remote_ip or "-"
    if not rate_limits.exceeded(limit, "callback-refusals", ip):
        rate_limits.hit(limit, "callback-refusals", ip)
        return None
    duration = max(0.0, clock.monotonic_ms() - started_ms)
    return Answer(429, {"error": "too_many_requests",
                        "message": "Too many refused callbacks from this address: wait a little and try again."},
                  [(signals.request_finished, {"endpoint": "callback", "status_code": 429, "duration_ms": duration,
                                               "internal_error": False})],
                  retry_after=rate_limits.retry_after(limit, "callback-refusals", ip))


def _refuse(delivery, rejection, received_at, started_ms):
    """Record a refused delivery and answer it with its 4xx."""
    refused = records.refuse(delivery, rejection, received_at)
    log.warning("callback rejected: %s (HTTP %s) from %s, delivery %s", rejection.code, rejection.status,
                delivery.remote_ip, refused.event_id,
                extra={"cardpay": {"delivery_id": refused.event_id, "paylink_id": refused.paylink_id}})
    duration = max(0.0, clock.monotonic_ms() - started_ms)
    published = [(signals.callback_rejected, {
        "event_id": refused.event_id, "reason": rejection.code, "http_status": rejection.status,
        "remote_ip": delivery.remote_ip, "paylink_id": refused.paylink_id}),
        (signals.request_finished, {"endpoint": "callback", "status_code": rejection.status,
                                    "duration_ms": duration, "internal_error": False})]
    return Answer(rejection.status, {"error": rejection.code, "message": rejection.message}, published,
                  refused.write)


def _stage_events(started_ms, payment_id, success, details):
    duration = max(0.0, clock.monotonic_ms() - started_ms)
    return [(signals.stage_timed, {"operation": "webhook_processing", "duration_ms": duration,
                                   "payment_id": payment_id, "success": success, "details": details}),
            (signals.request_finished, {"endpoint": "callback", "status_code": details["http_status"],
                                        "duration_ms": duration, "internal_error": details["http_status"] >= 500})]


def _unavailable(message):
    return Answer(503, {"error": "service_unavailable", "message": message})


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
        database.rollback_quietly()
        log.warning("could not record a callback delivery answered %s", answer.status)
        if answer.status < 400:
            return _unavailable("The callback could not be recorded; please deliver it again.")
    return answer

