"""PostgreSQL's one-statement callback path writes exactly what the general path writes, or nothing.

Each test sends the same kind of callback for two payments, one through the one statement and one
with it switched off, and compares every row the two left behind (ids and clock readings aside).
"""

from datetime import datetime

import psycopg
import pytest

from cardpay.callbacks import one_statement
from cardpay.core import database
from cardpay.core.extensions import db
from cardpay.learners import delivery
from cardpay.models import (
    AlertDelivery,
    AuditLog,
    Enrollment,
    FastTrackApproval,
    Learner,
    Payment,
    WebhookEvent,
)
from tests.callbacks.callback_helpers import post

pytestmark = pytest.mark.postgres_only
_IDS = {"id", "payment_id", "enrollment_id", "learner_id", "course_id", "duplicate_of_id", "target_id", "token",
        "external_transaction_id", "paylink_id", "delivery_key", "body", "body_size", "approval_id"}


def _shape(row):
    """A row's columns with ids blanked and timestamps reduced to set/unset, for comparing two payments."""
    values = {column.key: getattr(row, column.key) for column in row.__table__.columns}
    shape = {}
    for key, value in values.items():
        if key in _IDS:
            shape[key] = value is not None
        elif isinstance(value, datetime):
            shape[key] = "set"
        elif key == "processing_time_ms":
            shape[key] = value >= 0
        elif key == "headers":
            shape[key] = {k: v for k, v in value.items() if k.lower() != "content-length"}
        elif key == "payload":
            shape[key] = {k: (v is not None if k in _IDS else v) for k, v in value.items() if k != "to"}
        elif key in ("email", "target"):
            shape[key] = value.startswith("learner")
        elif key == "name":
            shape[key] = value.split()[0]
        elif key == "details":
            shape[key] = {k: (v is not None if k in _IDS else v) for k, v in value.items()
                          if k != "processing_time_ms"}
        else:
            shape[key] = value
    return shape


def _left_behind(app, payment):
    """Every row the callbacks for one payment left, as shapes (events, payment, enrollment, approvals, audit)."""
    with app.app_context():
        payment_row = db.session.get(Payment, payment.id)
        events = db.session.query(WebhookEvent).filter(
            WebhookEvent.paylink_id == payment.paylink_id).order_by(WebhookEvent.id).all()
        approvals = db.session.query(FastTrackApproval).filter_by(payment_id=payment.id).all()
        audit = db.session.query(AuditLog).filter_by(target_id=str(payment.id)).order_by(AuditLog.id).all()
        enrollment = db.session.get(Enrollment, payment.enrollment_id)
        receipts = [row for row in db.session.query(AlertDelivery).filter_by(channel=delivery.CHANNEL)
                    if row.payload.get("payment_id") == payment.id]
        shapes = {"events": [_shape(e) for e in events], "payment": _shape(payment_row), "enrollment": _shape(enrollment),
                  "approvals": [_shape(a) for a in approvals], "audit": [_shape(a) for a in audit],
                  "learner": _shape(db.session.get(Learner, enrollment.learner_id)),
                  "receipts": [_shape(r) for r in receipts]}
        db.session.rollback()
        return shapes


def _refusals_left_behind(app, payment):
    """The records of refused callbacks for one payment's paylink, each with its audit rows, as shapes."""
    with app.app_context():
        events = db.session.query(WebhookEvent).filter(
            WebhookEvent.paylink_id == payment.paylink_id).order_by(WebhookEvent.id).all()
        shapes = [(_shape(event), [_shape(row) for row in db.session.query(AuditLog).filter_by(
            action="callback_rejected", target_id=str(event.id))]) for event in events]
        db.session.rollback()
        return shapes


def _deliver(client, success_for, payment, times):
    body, headers = success_for(payment)
    return [post(client, body, headers).get_json() for _ in range(times)]


@pytest.fixture
def general_path(monkeypatch):
    """Switch the one-statement path off (the general path takes every delivery)."""
    return lambda: monkeypatch.setattr(database, "is_postgresql", lambda: False)


@pytest.fixture
def executions(monkeypatch):
    """Count the one statement's runs and what they returned."""
    real, runs = one_statement._execute, []

    def counted(statement, parameters):
        row = real(statement, parameters)
        runs.append(row)
        return row

    monkeypatch.setattr(one_statement, "_execute", counted)
    return runs


def test_a_first_delivery_and_its_copies_leave_the_same_rows_on_both_paths(
        app, client, make_payment, success_for, general_path, executions):
    fast, general = make_payment(payer_name="Paying Name"), make_payment(payer_name="Paying Name")
    fast_answers = _deliver(client, success_for, fast, 3)
    assert len(executions) == 3 and all(row is not None for row in executions)
    general_path()
    general_answers = _deliver(client, success_for, general, 3)
    assert len(executions) == 3
    assert [a["outcome"] for a in fast_answers] == [a["outcome"] for a in general_answers] == \
        ["processed", "duplicate", "duplicate"]
    fast_rows, general_rows = _left_behind(app, fast), _left_behind(app, general)
    assert fast_rows == general_rows
    assert fast_rows["payment"]["status"] == "succeeded" and fast_rows["enrollment"]["status"] == "active"
    assert len(fast_rows["approvals"]) == 1 and [e["processing_status"] for e in fast_rows["events"]] == [
        "processed", "duplicate", "duplicate"]
    # The grant's transaction also named the learner as they paid and queued exactly one receipt.
    assert fast_rows["learner"]["name"] == "Paying"
    assert [(r["channel"], r["kind"], r["status"], r["payload"]) for r in fast_rows["receipts"]] == [
        (delivery.CHANNEL, "message", "pending", {"kind": "receipt", "learner_id": True, "payment_id": True})]


@pytest.mark.parametrize("emails_on", [True, False])
def test_learner_emails_switched_off_queue_no_receipt_on_either_path(app_factory, make_payment, success_for, emails_on,
                                                                     general_path):
    app = app_factory(LEARNER_EMAILS_ENABLED=emails_on)
    client = app.test_client()
    fast = make_payment()
    _deliver(client, success_for, fast, 1)
    general_path()
    general = make_payment()
    _deliver(client, success_for, general, 1)
    assert [len(_left_behind(app, p)["receipts"]) for p in (fast, general)] == [int(emails_on)] * 2


def test_the_statement_does_not_take_what_it_cannot_approve(app, client, make_payment, success_for, executions):
    # A payment already sent to manual review, and a reference that differs: nothing written by the
    # statement, the general path decides as always.
    waiting = make_payment(status="manual_review")
    body, headers = success_for(waiting)
    assert post(client, body, headers).get_json()["outcome"] == "processed"
    other = make_payment()
    other.external_id = "cp_not_the_one_we_created"
    assert post(client, *success_for(other)).get_json()["outcome"] == "manual_review"
    assert executions == [None, None]
    rows = _left_behind(app, other)
    assert rows["payment"]["status"] == "manual_review" and rows["approvals"] == []


def test_a_failing_statement_leaves_the_delivery_to_the_general_path(app, client, make_payment, success_for,
                                                                     monkeypatch):
    def broken(statement, parameters):
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(one_statement, "_execute", broken)
    payment = make_payment()
    answers = _deliver(client, success_for, payment, 2)
    assert [a["outcome"] for a in answers] == ["processed", "duplicate"]
    rows = _left_behind(app, payment)
    assert rows["payment"]["status"] == "succeeded" and len(rows["approvals"]) == 1


def test_a_dead_pooled_connection_is_replaced(app, client, make_payment, success_for, caplog):
    # Kill the pooled connection's backend just after use (no ping catches it): the statement fails,
    # the connection is thrown away and the callback is still approved, on a new one.
    payment = make_payment()
    with app.app_context():
        raw = db.engine.raw_connection()
        pid = raw.dbapi_connection.info.backend_pid
        raw.close()
        with psycopg.connect(app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert _deliver(client, success_for, payment, 1)[0]["outcome"] == "processed"
    assert _left_behind(app, payment)["payment"]["status"] == "succeeded"
    assert "one-statement callback path failed (AdminShutdown)" in caplog.text


def test_a_refused_callback_leaves_the_same_record_and_audit_row_on_both_paths(
        app, client, make_payment, success_for, general_path, executions):
    fast, general = make_payment(), make_payment()
    forged = [success_for(fast, secret="not-the-secret"), success_for(fast, app_id="someone-else")]
    answers = [post(client, body, headers) for body, headers in forged]
    assert len(executions) == 2 and all(row is not None for row in executions)
    general_path()
    forged = [success_for(general, secret="not-the-secret"), success_for(general, app_id="someone-else")]
    general_answers = [post(client, body, headers) for body, headers in forged]
    assert len(executions) == 2
    assert [(a.status_code, a.get_json()) for a in answers] == [(a.status_code, a.get_json()) for a in general_answers]
    assert [a.get_json()["error"] for a in answers] == ["invalid_signature", "invalid_app_id"]
    fast_rows, general_rows = _refusals_left_behind(app, fast), _refusals_left_behind(app, general)
    assert fast_rows == general_rows
    assert [(event["verdict"], len(audit)) for event, audit in fast_rows] == [
        ("invalid_signature", 1), ("invalid_app_id", 1)]


def test_with_audit_logging_off_a_refusal_writes_no_audit_row(app_factory, make_payment, success_for, seen):
    app = app_factory(ENABLE_CARD_PAYMENT_AUDIT_LOGGING=False)
    payment = make_payment()
    response = post(app.test_client(), *success_for(payment, secret="not-the-secret"))
    assert response.status_code == 401
    assert [e.verdict for e in seen.events()] == ["invalid_signature"] and seen.audit() == []
