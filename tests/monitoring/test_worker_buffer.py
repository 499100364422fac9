"""Buffered monitoring rows (MONITORING_FLUSH_MS > 0): written off the request in batches, never lost to a
failed flush, flushed at stop; audit rows and the payment itself still commit with the request."""

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from cardpay import signals
from cardpay.core import clock, events
from cardpay.core.extensions import db
from cardpay.models import AuditLog, CardPaymentMetric, CardPaymentPerformance
from cardpay.monitoring import append_only, worker_buffer
from tests.receiver_helpers import wait_for


def _count(app, model):
    with app.app_context():
        found = db.session.execute(select(func.count()).select_from(model)).scalar()
        db.session.remove()
        return found


def _publish_rejection(app, n=1):
    """Publish n refusals: a metric row, a stage timing and (an operator's note of it) an audit row each."""
    with app.app_context():
        for event_id in range(n):
            events.publish_all([
                (signals.callback_rejected, {"event_id": event_id, "reason": "invalid_signature", "http_status": 401,
                                             "remote_ip": "203.0.113.9", "paylink_id": None}),
                (signals.stage_timed, {"operation": "webhook_processing", "duration_ms": 3.0, "payment_id": None,
                                       "success": False, "details": {}}),
                (signals.admin_action, {"action": "noted_refusal", "actor": "ops@example.com",
                                        "target_type": "webhook_event", "target_id": event_id})])


def test_without_a_flush_interval_rows_commit_with_the_request(app):
    assert worker_buffer.buffer_of(app) is None  # the test default is MONITORING_FLUSH_MS=0
    _publish_rejection(app)
    assert _count(app, CardPaymentMetric) == 1 and _count(app, CardPaymentPerformance) == 1


def test_buffered_rows_reach_the_database_within_the_interval_and_audit_rows_at_once(app_factory):
    app = app_factory(MONITORING_FLUSH_MS=200)
    buffer = worker_buffer.buffer_of(app)
    try:
        _publish_rejection(app, n=25)
        assert _count(app, AuditLog) == 25  # audit rows are never buffered
        assert wait_for(lambda: _count(app, CardPaymentMetric) == 25 and _count(app, CardPaymentPerformance) == 25)
        assert not buffer.rows
    finally:
        buffer.stop()


def test_a_failed_flush_keeps_its_rows_for_the_next_one(app_factory, monkeypatch):
    app = app_factory(MONITORING_FLUSH_MS=60_000)  # the thread stays asleep: flushes are driven by hand
    buffer = worker_buffer.buffer_of(app)
    try:
        _publish_rejection(app, n=3)
        failures = worker_buffer.stats["failed_flushes"]
        real_begin = Engine.begin

        def down(self, *args, **kwargs):
            raise ConnectionError("the database went away")

        monkeypatch.setattr(Engine, "begin", down)
        assert buffer.flush() == 0
        assert worker_buffer.stats["failed_flushes"] == failures + 1
        assert len(buffer.rows) == 6 and _count(app, CardPaymentMetric) == 0
        monkeypatch.setattr(Engine, "begin", real_begin)
        assert buffer.flush() == 6
        assert _count(app, CardPaymentMetric) == 3 and _count(app, CardPaymentPerformance) == 3
        assert buffer.flush() == 0  # written once, never twice
        assert _count(app, CardPaymentMetric) == 3
    finally:
        buffer.stop()


def test_stop_writes_what_is_left_and_an_overfull_buffer_drops_the_oldest(app_factory, monkeypatch):
    monkeypatch.setattr(worker_buffer, "MAX_ROWS", 4)
    app = app_factory(MONITORING_FLUSH_MS=60_000)
    buffer = worker_buffer.buffer_of(app)
    dropped = worker_buffer.stats["dropped"]
    _publish_rejection(app, n=3)  # six rows into room for four
    assert len(buffer.rows) == 4 and worker_buffer.stats["dropped"] == dropped + 2
    buffer.stop()
    assert _count(app, CardPaymentMetric) + _count(app, CardPaymentPerformance) == 4


def test_rows_published_after_a_commit_go_straight_to_the_buffer_and_rows_in_a_transaction_wait(app_factory):
    app = app_factory(MONITORING_FLUSH_MS=60_000)  # no flush while the test looks at the buffer
    buffer = worker_buffer.buffer_of(app)
    try:
        with app.app_context():
            events.publish_all([(signals.callback_rejected, {
                "event_id": 1, "reason": "invalid_signature", "http_status": 401, "remote_ip": "203.0.113.9",
                "paylink_id": None})])
            assert not db.session().in_transaction()  # no session transaction was opened for the row
            assert [row["metric_name"] for row in buffer.waiting(CardPaymentMetric.__table__)] == ["callbacks_rejected"]
            db.session.execute(select(func.count()).select_from(CardPaymentMetric))  # a transaction is open now
            append_only.add(CardPaymentMetric, metric_name="in_a_transaction", value=1.0, labels={},
                            timestamp=clock.now())
            assert len(buffer.rows) == 1 and len(append_only.pending()) == 1
            db.session.rollback()  # the row shares the transaction's fate
            assert append_only.pending() == [] and len(buffer.rows) == 1
    finally:
        buffer.stop()


def test_a_flush_writes_every_value_as_given(app_factory):
    # On PostgreSQL the flush is a COPY: JSON, timestamps, booleans, floats and NULLs must come back as sent.
    app = app_factory(MONITORING_FLUSH_MS=60_000)
    buffer = worker_buffer.buffer_of(app)
    when = datetime(2026, 11, 27, 12, 30, 15, 250000, tzinfo=timezone.utc)
    try:
        buffer.add(CardPaymentMetric.__table__, [{"metric_name": "m", "value": 2.5, "timestamp": when,
                                                  "labels": {"outcome": "it's \"quoted\"\ttabbed\\", "none": None}}])
        buffer.add(CardPaymentPerformance.__table__, [{
            "operation": "approval_processing", "duration_ms": 1.25, "threshold_ms": 3000.0, "exceeded": True,
            "success": False, "payment_id": None, "details": {"method": "fast_track", "n": [1, 2]}, "timestamp": when}])
        assert buffer.flush() == 2
        with app.app_context():
            metric = db.session.execute(select(CardPaymentMetric)).scalar_one()
            assert (metric.metric_name, metric.value, metric.timestamp, metric.labels) == (
                "m", 2.5, when, {"outcome": "it's \"quoted\"\ttabbed\\", "none": None})
            stage = db.session.execute(select(CardPaymentPerformance)).scalar_one()
            assert (stage.duration_ms, stage.threshold_ms, stage.exceeded, stage.success, stage.payment_id,
                    stage.details, stage.timestamp) == (1.25, 3000.0, True, False, None,
                                                        {"method": "fast_track", "n": [1, 2]}, when)
            db.session.remove()
    finally:
        buffer.stop()


def test_rows_published_before_anything_used_the_database_open_no_session(app_factory):
    app = app_factory(MONITORING_FLUSH_MS=60_000)
    buffer = worker_buffer.buffer_of(app)
    try:
        with app.app_context():
            _publish_rejection_signal()
            assert not db.session.registry.has()  # building a Session for the rows would cost more than they do
            assert len(buffer.waiting(CardPaymentMetric.__table__)) == 1
    finally:
        buffer.stop()


def _publish_rejection_signal():
    events.publish_all([(signals.callback_rejected, {
        "event_id": 1, "reason": "invalid_signature", "http_status": 401, "remote_ip": "203.0.113.7",
        "paylink_id": None})])
