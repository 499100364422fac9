"""Hourly business rollups add up what payments did."""

import logging
import os
from datetime import timedelta

from sqlalchemy import select

from cardpay.core import clock, logs
from cardpay.core.extensions import db
from cardpay.models import CardPaymentBusinessMetric, CardPaymentPerformance
from cardpay.monitoring import business
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
