"""Hourly business rollups into card_payment_business_metrics (off when ENABLE_BUSINESS_METRICS is false).

One row per UTC hour, recomputed from the source tables each time (so a rollup can be run again, by
any worker, and converges on the truth):

- payments_attempted: checkouts created in the hour.
- payments_succeeded / revenue_cents: payments whose success was recorded in the hour (succeeded_at),
  and the sum of their amounts.
- payments_failed: payments whose failure was recorded in the hour and that are still failed (a
  declined card followed by a successful retry counts once, as a success).
- payments_abandoned: checkouts created in the hour that never reached an outcome, once they are
  older than STALE_PAYMENT_MINUTES (younger ones may still be paid).
- success_rate: succeeded / (succeeded + failed), None when neither happened (SPEC §5a).
- avg_processing_ms / p95_processing_ms: of the ``end_to_end`` stage timed in the hour (return page
  arrival to the page showing access: what the learner waits for; the runbook's "average processing
  time < 10 s" is this figure). p95 is the nearest-rank percentile.
"""

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from cardpay.core import clock, database, throttle
from cardpay.core.extensions import db
from cardpay.models import CardPaymentBusinessMetric, CardPaymentPerformance, Payment

RECENT_HOURS = 3  # late outcomes (reconciliation, manual review) land within this; older hours are final
FRESH_SECONDS = 60  # the current hour is recomputed on payment events at most this often (per process, too)


def hour_of(moment):
    """Return the start of the UTC hour a moment falls in."""
    return clock.floor_to(moment, 3600)


def percentile(values, fraction):
    """Return the nearest-rank percentile of a list of numbers (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _count(*where):
    return db.session.execute(select(func.count(Payment.id)).where(*where)).scalar()


def figures(hour_start):
    """Compute the rollup figures of one hour from payments and card_payment_performance."""
    start = hour_of(hour_start)
    end = start + timedelta(hours=1)

    def in_hour(column):
        return (column >= start) & (column < end)

    stale_before = clock.now() - timedelta(minutes=current_app.config["STALE_PAYMENT_MINUTES"])
    succeeded = _count(in_hour(Payment.succeeded_at), Payment.status == "succeeded")
    failed = _count(in_hour(Payment.failed_at), Payment.status == "failed")
    durations = db.session.execute(select(CardPaymentPerformance.duration_ms).where(
        CardPaymentPerformance.operation == "end_to_end", in_hour(CardPaymentPerformance.timestamp))).scalars().all()
    return {
        "payments_attempted": _count(in_hour(Payment.created_at)),
        "payments_succeeded": succeeded,
        "payments_failed": failed,
        "payments_abandoned": _count(in_hour(Payment.created_at), Payment.status.in_(("created", "pending")),
                                    Payment.created_at < stale_before),
        "revenue_cents": int(db.session.execute(select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            in_hour(Payment.succeeded_at), Payment.status == "succeeded")).scalar()),
        "success_rate": succeeded / (succeeded + failed) if succeeded + failed else None,
        "avg_processing_ms": sum(durations) / len(durations) if durations else None,
        "p95_processing_ms": percentile(durations, 0.95),
    }


def rollup_hour(hour_start):
    """Upsert the card_payment_business_metrics row of one hour; return it (None when switched off)."""
    if not current_app.config["ENABLE_BUSINESS_METRICS"]:
        return None
    start = hour_of(hour_start)
    values = {**figures(start), "timestamp": clock.now()}
    for _ in range(2):  # two workers may create the same hour at once: the loser updates instead
        row = db.session.execute(select(CardPaymentBusinessMetric).where(
            CardPaymentBusinessMetric.hour_start == start)).scalar_one_or_none()
        if row is not None:
            for key, value in values.items():
                setattr(row, key, value)
            return row
        row = CardPaymentBusinessMetric(hour_start=start, **values)
        if database.insert_or_lose(row):
            return row
    raise RuntimeError(f"could not roll up the hour {start}")  # pragma: no cover - needs a 3-way race


def refresh_current_hour():
    """Recompute the current hour's row unless it was computed in the last FRESH_SECONDS; return it or None."""
    # The process-local mark spares the look-up on nearly every payment; the row's own timestamp
    # spares the recomputation when another worker has just done it.
    if not current_app.config["ENABLE_BUSINESS_METRICS"] or not throttle.due("business_hour", FRESH_SECONDS):
        return None
    now = clock.now()
    row = db.session.execute(select(CardPaymentBusinessMetric).where(
        CardPaymentBusinessMetric.hour_start == hour_of(now))).scalar_one_or_none()
    if row is not None and row.timestamp > now - timedelta(seconds=FRESH_SECONDS):
        return row
    return rollup_hour(now)


def rollup_recent():
    """Roll up the current hour and the few before it, and commit; return a summary for the job log."""
    if not current_app.config["ENABLE_BUSINESS_METRICS"]:
        return {"hours": 0, "skipped": "ENABLE_BUSINESS_METRICS is off"}
    now = hour_of(clock.now())
    hours = [now - timedelta(hours=n) for n in range(RECENT_HOURS)]
    rows = [rollup_hour(hour) for hour in hours]
    db.session.commit()
    return {"hours": len(rows), "latest": clock.iso(now),
            "succeeded_this_hour": rows[0].payments_succeeded, "revenue_cents_this_hour": rows[0].revenue_cents}
