"""Hourly business rollups add up what payments did; logs are JSON, redacted, and shipped in batches without
ever blocking the caller."""

import json
import logging
import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from cardpay import clock, events, logs, signals
from cardpay.extensions import db
from cardpay.models import CardPaymentBusinessMetric, CardPaymentPerformance
from cardpay.services import business
from tests.monitoring.conftest import HttpReceiver, wait_for
from tests.monitoring.test_receivers import make_payment


def _at(payment, **times):
    for name, value in times.items():
        setattr(payment, name, value)


def test_an_hour_is_rolled_up_from_payments_and_end_to_end_timings(app):
    with app.app_context():
        hour = business.hour_of(clock.now()) - timedelta(hours=1)
        inside = hour + timedelta(minutes=10)
        amounts = [10000, 20000, 30000]
        for n, amount in enumerate(amounts, start=1):
            _at(make_payment("succeeded", amount, n=n), created_at=inside, succeeded_at=inside)
        _at(make_payment("failed", n=4), created_at=inside, failed_at=inside)
        _at(make_payment("pending", n=5), created_at=inside)  # never paid: abandoned
        _at(make_payment("succeeded", n=6), created_at=hour - timedelta(minutes=5), succeeded_at=inside)
        for ms in range(1000, 21000, 1000):  # 20 end_to_end timings: 1 s .. 20 s
            db.session.add(CardPaymentPerformance(operation="end_to_end", duration_ms=float(ms), threshold_ms=10000.0,
                                                  exceeded=ms > 10000, success=True, timestamp=inside))
        db.session.add(CardPaymentPerformance(operation="approval_processing", duration_ms=99999.0,
                                              threshold_ms=3000.0, exceeded=True, success=True, timestamp=inside))
        db.session.commit()

        business.rollup_hour(hour)
        business.rollup_hour(hour)  # again: same single row, same figures
        db.session.commit()
        (row,) = db.session.execute(select(CardPaymentBusinessMetric)).scalars().all()
        assert row.hour_start == hour
        assert (row.payments_attempted, row.payments_succeeded, row.payments_failed, row.payments_abandoned) == (
            5, 4, 1, 1)
        assert row.revenue_cents == sum(amounts) + 49900
        assert row.success_rate == 0.8
        assert row.avg_processing_ms == 10500.0 and row.p95_processing_ms == 19000.0


def test_a_payment_still_in_progress_is_not_abandoned_yet(app):
    with app.app_context():
        make_payment("pending", n=1)
        row = business.rollup_hour(clock.now())
        assert (row.payments_attempted, row.payments_abandoned, row.success_rate) == (1, 0, None)


def test_rollup_recent_covers_the_current_and_previous_hours_and_respects_its_switch(app_factory):
    with app_factory().app_context():
        summary = business.rollup_recent()
        assert summary["hours"] == business.RECENT_HOURS
        assert len(db.session.execute(select(CardPaymentBusinessMetric)).all()) == business.RECENT_HOURS
    with app_factory(ENABLE_BUSINESS_METRICS=False).app_context():
        db.session.query(CardPaymentBusinessMetric).delete()
        db.session.commit()
        assert business.rollup_recent()["hours"] == 0
        assert db.session.execute(select(CardPaymentBusinessMetric)).all() == []


def shipped(receiver):
    return [record for batch in receiver.bodies for record in batch]


def test_logs_are_shipped_in_json_batches_with_secrets_and_card_numbers_redacted(app_factory):
    receiver = HttpReceiver().start()
    try:
        app = app_factory(LOG_AGGREGATION_ENDPOINT=receiver.url, IKHOKHA_API_SECRET="s3cr3t-value-for-the-api")
        log = logging.getLogger("cardpay.test")
        with app.test_request_context("/webhooks/ikhokha"):
            app.preprocess_request()  # assigns the request id
            log.warning("card 4242 4242 4242 4242 declined; IK-SIGN: abcdef0123 password=hunter2hunter2 "
                        "secret s3cr3t-value-for-the-api", extra={"cardpay": {"api_key": "k-123", "amount": 100,
                                                                               "pan": 4000000000000002}})
        assert wait_for(lambda: len(shipped(receiver)) >= 1)
        (record,) = [r for r in shipped(receiver) if r["logger"] == "cardpay.test"]
        text = json.dumps(record)
        for leaked in ("4242 4242", "abcdef0123", "hunter2", "s3cr3t-value", "k-123", "4000000000000002"):
            assert leaked not in text
        assert "[card ****4242]" in record["message"] and "IK-SIGN: [redacted]" in record["message"]
        assert record["amount"] == 100 and record["pan"] == "[card ****0002]"
        assert record["request_id"] and record["path"] == "/webhooks/ikhokha" and record["time"].endswith("Z")
    finally:
        receiver.stop()
        app_factory()  # an app without LOG_AGGREGATION_ENDPOINT removes the shipping handler


def test_detailed_logging_and_log_level_are_honoured(app_factory):
    receiver = HttpReceiver().start()
    try:
        app = app_factory(LOG_AGGREGATION_ENDPOINT=receiver.url, ENABLE_DETAILED_CARD_PAYMENT_LOGGING=True)
        with app.app_context():
            events.publish(signals.payment_failed, payment_id=1, reason="declined")
        assert wait_for(lambda: any(r.get("event") == "payment-failed" for r in shipped(receiver)))

        quiet = app_factory(LOG_AGGREGATION_ENDPOINT=receiver.url, CARD_PAYMENT_LOG_LEVEL="warning",
                            ENABLE_DETAILED_CARD_PAYMENT_LOGGING=True)
        before = len(shipped(receiver))
        with quiet.app_context():
            events.publish(signals.payment_failed, payment_id=2, reason="declined")
            logging.getLogger("cardpay.test").warning("a warning still goes out")
        assert wait_for(lambda: any(r["message"] == "a warning still goes out" for r in shipped(receiver)))
        assert not any(r.get("payment_id") == 2 for r in shipped(receiver)[before:])
    finally:
        receiver.stop()
        app_factory()  # an app without LOG_AGGREGATION_ENDPOINT removes the shipping handler


def test_a_full_shipping_queue_drops_and_counts_instead_of_blocking():
    handler = logs.AggregationHandler("http://127.0.0.1:9/never", allow_private=True, timeout=1)
    handler.setFormatter(logs.JsonFormatter())
    handler._worker._pid = os.getpid()  # as if its thread were running but stuck on a slow endpoint
    before = logs.shipper_stats["dropped"]
    record = logging.LogRecord("cardpay.test", logging.INFO, __file__, 1, "payment %s", ("p-1",), None)
    for _ in range(logs.QUEUE_SIZE + 25):
        handler.emit(record)
    assert handler.queue.qsize() == logs.QUEUE_SIZE
    assert logs.shipper_stats["dropped"] - before == 25
    handler.close()


def test_detailed_logging_off_logs_no_event_lines(app_factory):
    receiver = HttpReceiver().start()
    try:
        app = app_factory(LOG_AGGREGATION_ENDPOINT=receiver.url)
        with app.app_context():
            events.publish(signals.payment_failed, payment_id=3, reason="declined")
            logging.getLogger("cardpay.test").warning("marker")
        assert wait_for(lambda: any(r["message"] == "marker" for r in shipped(receiver)))
        assert not any(r.get("event") for r in shipped(receiver))
    finally:
        receiver.stop()
        app_factory()  # an app without LOG_AGGREGATION_ENDPOINT removes the shipping handler


@pytest.mark.parametrize("line, expected", [
    ("IK-SIGN: abc123", "IK-SIGN: [redacted]"),
    ("password=hunter2 and more", "password=[redacted] and more"),
    ('{"api_key": "k-123", "ok": 1}', '{"api_key": "[redacted]", "ok": 1}'),
    ("x_api_key=abc;next", "x_api_key=[redacted];next"),
    ("my-secret-token = zzz", "my-secret-token = [redacted]"),
    ("callback rejected: invalid_signature (HTTP 401) from 10.0.0.1", "callback rejected: invalid_signature (HTTP 401) "
                                                                     "from 10.0.0.1"),
    ("card 4111 1111 1111 1111 paid", "card [card ****1111] paid"),
    ("nothing to hide here", "nothing to hide here"),
])
def test_log_text_is_redacted_by_key_and_card_shape(line, expected):
    assert logs.redact(line) == expected
