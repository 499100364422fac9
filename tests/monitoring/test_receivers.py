"""The receivers turn domain events into metric, performance and rollup rows; each switch really turns its
part off, and a receiver that raises never breaks publishing (so never a payment)."""

import pytest
from sqlalchemy import func, select

from cardpay import signals
from cardpay.core import events
from cardpay.core.extensions import db
from cardpay.models import (
    CardPaymentAlert,
    CardPaymentBusinessMetric,
    CardPaymentMetric,
    CardPaymentPerformance,
    Payment,
)
from tests import factory_helpers


def make_payment(status="succeeded", amount_cents=49900, n=1):
    """A payment in the given status (succeeded by default, as most receivers see them)."""
    return factory_helpers.make_payment(status, n=n, amount_cents=amount_cents)


def publish_a_journey(payment):
    events.publish_all([
        (signals.payment_created, {"payment_id": payment.id, "amount_cents": 49900, "currency": "ZAR"}),
        (signals.callback_received, {"event_id": 1, "paylink_id": payment.paylink_id, "status": "SUCCESS",
                                     "outcome": "processed", "remote_ip": "203.0.113.1"}),
        (signals.callback_rejected, {"event_id": 2, "reason": "invalid_signature", "http_status": 401,
                                     "remote_ip": "203.0.113.2", "paylink_id": None}),
        (signals.payment_succeeded, {"payment_id": payment.id, "amount_cents": 49900, "currency": "ZAR",
                                     "method": "fast_track"}),
        (signals.approval_granted, {"payment_id": payment.id, "approval_id": 1, "method": "fast_track",
                                    "processing_time_ms": 12.0, "actor": "system"}),
        (signals.stage_timed, {"operation": "approval_processing", "duration_ms": 12.0, "payment_id": payment.id,
                               "success": True, "details": {}}),
        (signals.stage_timed, {"operation": "end_to_end", "duration_ms": 12500.0, "payment_id": payment.id,
                               "success": True, "details": {}}),
    ])


def metric_names():
    return sorted(db.session.execute(select(CardPaymentMetric.metric_name)).scalars())


def test_a_journey_is_counted_timed_and_rolled_up(app):
    with app.app_context():
        payment = make_payment()
        publish_a_journey(payment)
        assert metric_names() == ["alerts_raised", "approvals_granted", "callbacks_received", "callbacks_rejected",
                                  "payments_succeeded", "revenue_cents"]
        rejected = db.session.execute(select(CardPaymentMetric).where(
            CardPaymentMetric.metric_name == "callbacks_rejected")).scalar_one()
        assert rejected.labels == {"http_status": "401", "reason": "invalid_signature"}
        stages = {row.operation: (row.duration_ms, row.threshold_ms, row.exceeded)
                  for row in db.session.execute(select(CardPaymentPerformance)).scalars()}
        assert stages == {"approval_processing": (12.0, 3000.0, False), "end_to_end": (12500.0, 10000.0, True)}
        alert = db.session.execute(select(CardPaymentAlert)).scalar_one()
        assert alert.fingerprint == "threshold_exceeded:end_to_end" and alert.severity == "warning"
        rollup = db.session.execute(select(CardPaymentBusinessMetric)).scalar_one()
        assert (rollup.payments_attempted, rollup.payments_succeeded, rollup.revenue_cents) == (1, 1, 49900)


@pytest.mark.parametrize("switch, table", [
    ("ENABLE_CARD_PAYMENT_MONITORING", CardPaymentMetric),
    ("ENABLE_PERFORMANCE_MONITORING", CardPaymentPerformance),
    ("ENABLE_BUSINESS_METRICS", CardPaymentBusinessMetric),
])
def test_each_switch_turns_its_rows_off(app_factory, switch, table):
    app = app_factory(**{switch: False})
    with app.app_context():
        publish_a_journey(make_payment())
        assert db.session.execute(select(func.count()).select_from(table)).scalar() == 0
        others = {CardPaymentMetric, CardPaymentPerformance, CardPaymentBusinessMetric} - {table}
        assert all(db.session.execute(select(func.count()).select_from(t)).scalar() > 0 for t in others)


def test_all_monitoring_off_writes_no_monitoring_rows(app_factory):
    app = app_factory(ENABLE_CARD_PAYMENT_MONITORING=False, ENABLE_PERFORMANCE_MONITORING=False,
                      ENABLE_BUSINESS_METRICS=False)
    with app.app_context():
        publish_a_journey(make_payment())
        for table in (CardPaymentMetric, CardPaymentPerformance, CardPaymentBusinessMetric, CardPaymentAlert):
            assert db.session.execute(select(func.count()).select_from(table)).scalar() == 0


def test_a_receiver_that_raises_does_not_break_publish(app):
    def broken(sender, **_):
        raise RuntimeError("monitoring bug")

    signals.payment_succeeded.connect(broken)
    try:
        with app.app_context():
            payment = make_payment()
            before = events.failures["receivers"]
            events.publish(signals.payment_succeeded, payment_id=payment.id, amount_cents=49900, currency="ZAR",
                           method="fast_track")
            # an unknown stage makes the performance receiver itself raise
            events.publish(signals.stage_timed, operation="no_such_stage", duration_ms=1.0, payment_id=payment.id,
                           success=True, details={})
            assert events.failures["receivers"] == before + 2
            assert "payments_succeeded" in metric_names()  # the other receivers still ran and committed
            assert db.session.get(Payment, payment.id).status == "succeeded"
    finally:
        signals.payment_succeeded.disconnect(broken)
