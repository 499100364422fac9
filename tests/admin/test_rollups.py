"""The dashboard's rollups: the minute job is idempotent, the summary read through it equals the raw figures
(percentiles within the histogram's stated error), and rows not rolled up yet are counted all the same."""

import math
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from cardpay.admin import figures
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.jobs import guard, timetable
from cardpay.models import CardPaymentMetric, CardPaymentPerformance, JobRun
from cardpay.models.monitoring import (
    STAGES,
    CardPaymentMetricRollup,
    CardPaymentStageRollup,
)
from cardpay.monitoring import histograms, rollups
from cardpay.monitoring.error_rate import ERRORS, TOTAL

ROLLUP = timetable.JOBS_BY_NAME["monitoring_rollup"]
ROUNDING = 0.1 + 1e-6  # figures are shown to 0.1 ms; sums added in another order may round the other way


def seed_week(spread=timedelta(days=6, hours=20), rows=600, newest=timedelta(seconds=30)):
    """Stage timings and request counts spread over most of a week, durations from 0.2 ms to 40 minutes."""
    for i in range(rows):
        age = newest + timedelta(seconds=spread.total_seconds() * ((i * 7919) % rows) / rows)
        op = STAGES[i % len(STAGES)]
        ms = 0.2 + ((i * 104729) % 997) ** 2 / 40.0 if i % 50 else 2_400_000.0  # a few huge ones (> 2^20 ms)
        db.session.add(CardPaymentPerformance(operation=op, duration_ms=ms, threshold_ms=5000, exceeded=ms > 5000,
                                              success=i % 13 != 0, details={}, timestamp=clock.now() - age))
        if i % 3 == 0:
            db.session.add(CardPaymentMetric(metric_name=TOTAL, value=10, labels={}, timestamp=clock.now() - age))
            db.session.add(CardPaymentMetric(metric_name=ERRORS, value=i % 4, labels={},
                                             timestamp=clock.now() - age))
    db.session.commit()


def window_start(summary):
    return datetime.fromisoformat(summary["from"].replace("Z", "+00:00"))


def exact_stages(summary):
    """The stage figures computed the old way, from every raw row in the summary's window: nearest rank."""
    start = window_start(summary)
    rows = db.session.execute(select(CardPaymentPerformance.operation, CardPaymentPerformance.duration_ms,
                                     CardPaymentPerformance.exceeded, CardPaymentPerformance.success)
                              .where(CardPaymentPerformance.timestamp >= start)).all()
    out = {}
    for op in STAGES:
        values = sorted(ms for o, ms, _, _ in rows if o == op)
        if not values:
            continue
        n = len(values)
        out[op] = {"count": n, "avg_ms": round(sum(values) / n, 1), "max_ms": round(values[-1], 1),
                   "exceeded": sum(1 for o, _, over, _ in rows if o == op and over),
                   "failed": sum(1 for o, _, _, ok in rows if o == op and not ok),
                   **{f"p{p}_ms": values[math.ceil(p * n / 100) - 1] for p in figures.PERCENTILES}}
    return out


def exact_series(summary):
    """Average stage time and error rate per chart bucket, from every raw row in the summary's window."""
    start, size, count = window_start(summary), summary["series"]["bucket_seconds"], len(summary["series"]["times"])
    at = lambda stamp: min(int((stamp - start).total_seconds() // size), count - 1)  # noqa: E731
    cells, requests = {}, {}
    for op, ms, stamp in db.session.execute(select(CardPaymentPerformance.operation, CardPaymentPerformance.duration_ms,
                                                   CardPaymentPerformance.timestamp)
                                            .where(CardPaymentPerformance.timestamp >= start)):
        cells.setdefault(op, {}).setdefault(at(stamp), []).append(ms)
    for name, value, stamp in db.session.execute(select(CardPaymentMetric.metric_name, CardPaymentMetric.value,
                                                        CardPaymentMetric.timestamp)
                                                 .where(CardPaymentMetric.timestamp >= start)):
        requests.setdefault(name, {}).setdefault(at(stamp), 0)
        requests[name][at(stamp)] += value
    db.session.commit()
    averages = {op: [round(sum(cells[op][i]) / len(cells[op][i]), 1) if i in cells.get(op, {}) else None
                     for i in range(count)] for op in STAGES}
    totals, errors = requests.get(TOTAL, {}), requests.get(ERRORS, {})
    rates = [round(100.0 * errors.get(i, 0) / totals[i], 2) if totals.get(i) else None for i in range(count)]
    return averages, rates


def assert_matches_raw(summary):
    """Counts, sums and extremes exactly; percentiles within the histogram's bound (0.5 ms under 1 ms)."""
    exact = exact_stages(summary)
    averages, rates = exact_series(summary)
    assert summary["series"]["error_rate_pct"] == rates
    for op in STAGES:
        assert summary["series"]["stage_avg_ms"][op] == pytest.approx(averages[op], abs=ROUNDING), op
    stages = {s["operation"]: s for s in summary["stages"]}
    assert {op for op, s in stages.items() if s["count"]} == set(exact)
    for op, want in exact.items():
        got = stages[op]
        for key in ("count", "avg_ms", "max_ms", "exceeded", "failed"):
            assert got[key] == pytest.approx(want[key], abs=ROUNDING), (op, key)
        for p in figures.PERCENTILES:
            value, true = got[f"p{p}_ms"], want[f"p{p}_ms"]
            if true >= histograms.TOP_MS:  # past the last bound: between it and the maximum
                assert histograms.TOP_MS <= value <= want["max_ms"]
            else:
                assert abs(value - true) <= max(histograms.RELATIVE_ERROR * true, histograms.SUB_MS_ERROR) + ROUNDING


def rollup_rows():
    """Every rollup row as a comparable tuple."""
    tables = (CardPaymentStageRollup, CardPaymentMetricRollup)
    found = {model.__tablename__: sorted(tuple(getattr(row, c.name) for c in model.__table__.columns)
                                         for row in db.session.execute(select(model)).scalars())
             for model in tables}
    db.session.commit()
    return found


def without_ids(rows):
    return {table: sorted(row[1:] for row in found) for table, found in rows.items()}


@pytest.mark.parametrize("window", ["1h", "24h", "7d"])
def test_summary_read_through_rollups_equals_the_raw_figures(app, seed, window):
    with app.app_context():
        seed_week()
        assert_matches_raw(figures.summary(window))  # nothing rolled up yet: all from raw rows
        rollups.roll_up(app.config)
        rolled = figures.summary(window)
        assert_matches_raw(rolled)
        assert db.session.execute(select(func.count()).select_from(CardPaymentStageRollup)).scalar() > 0
    assert rolled["error_rate"]["requests"] > 0


def test_the_rollup_job_runs_once_per_tick_and_rolling_again_changes_nothing(app):
    with app.app_context():
        # Nothing in the last minutes: a minute that completes while the test runs adds no rollup row.
        seed_week(spread=timedelta(hours=30), newest=timedelta(minutes=5))
    firing = clock.now()  # both schedulers fire at the same moment, whatever the job's own duration
    assert guard.run_once(app, ROLLUP, "scheduler-a", when=firing) == "succeeded"
    assert guard.run_once(app, ROLLUP, "scheduler-b", when=firing) is None  # the same tick, claimed already
    with app.app_context():
        run = db.session.execute(select(JobRun).where(JobRun.job_name == "monitoring_rollup")).scalar_one()
        assert run.result["stage_minutes"] > 0 and run.result["stage_hours"] > 0 and run.result["metric_hours"] > 0
        first = rollup_rows()
        levels = {row[2] for row in first["card_payment_stage_rollups"]}
        assert levels == {60, 3600}
        rollups.roll_up(app.config)
        rollups.roll_up(app.config, now=clock.now() + timedelta(seconds=1))
        assert rollup_rows() == first  # upserted in place: same rows, same ids, same figures


def test_rows_not_rolled_up_yet_are_counted(app, seed):
    def e2e_count(summary):
        return next(s["count"] for s in summary["stages"] if s["operation"] == "end_to_end")

    with app.app_context():
        seed_week(spread=timedelta(hours=3))
        rollups.roll_up(app.config)
        before = figures.summary("24h")
        # Written after the run: one in the current minute, and one a few minutes back that committed late.
        seed.timing("end_to_end", 123.0, age=timedelta(seconds=1))
        seed.timing("end_to_end", 456.0, age=timedelta(minutes=3))
        seed.requests(total=5, errors=5, age=timedelta(seconds=1))
        db.session.commit()
        fresh = figures.summary("24h")
        assert e2e_count(fresh) == e2e_count(before) + 1  # the late one waits for the next run
        assert fresh["error_rate"]["errors"] == before["error_rate"]["errors"] + 5
        assert fresh["error_rate"]["requests"] == before["error_rate"]["requests"] + 5
        rollups.roll_up(app.config)  # rolls the last few minutes again, and picks the late row up
        after = figures.summary("24h")
        assert e2e_count(after) == e2e_count(before) + 2
        assert_matches_raw(after)


def test_rolled_up_figures_stand_without_their_raw_rows(app):
    """The proof that the summary reads the rollups: take away every raw row it should not need, the figures stay.

    It needs the raw rows only after the newest rolled-up minute and in the minutes the window's chart
    buckets start in (a rollup minute there would straddle two buckets)."""
    with app.app_context():
        seed_week()
        rollups.roll_up(app.config)
        expected = figures.summary("7d")
        start, size = window_start(expected), expected["series"]["bucket_seconds"]
        edges = {clock.floor_to(start + timedelta(seconds=i * size + drift), 60)
                 for i in range(len(expected["series"]["times"]) + 1) for drift in (0, 5)}
        mark = rollups.watermarks(CardPaymentStageRollup)[rollups.MINUTE]
        for model in (CardPaymentPerformance, CardPaymentMetric):
            gone = [row_id for row_id, stamp in db.session.execute(select(model.id, model.timestamp))
                    if stamp < mark and clock.floor_to(stamp, 60) not in edges]
            db.session.execute(delete(model).where(model.id.in_(gone)))
        db.session.commit()
        assert db.session.execute(select(func.count()).select_from(CardPaymentPerformance)).scalar() < 60
        again = figures.summary("7d")
    assert again["stages"] == expected["stages"]
    assert again["error_rate"] == expected["error_rate"]
    assert again["series"]["stage_avg_ms"] == expected["series"]["stage_avg_ms"]
    assert again["series"]["error_rate_pct"] == expected["series"]["error_rate_pct"]


def test_the_edges_of_the_window_are_exact(app, seed):
    with app.app_context():
        seed_week(spread=timedelta(hours=30), rows=200)
        seed.timing("ui_update", 777.0, age=timedelta(hours=24) - timedelta(seconds=20))  # just inside
        seed.timing("ui_update", 888.0, age=timedelta(hours=24) + timedelta(seconds=20))  # just outside
        db.session.commit()
        rollups.roll_up(app.config)
        assert_matches_raw(figures.summary("24h"))


def test_rollups_past_their_retention_window_are_pruned(app_factory):
    app = app_factory(PERFORMANCE_RETENTION_DAYS=2, METRICS_RETENTION_DAYS=3)
    with app.app_context():
        seed_week()
        result = rollups.roll_up(app.config)
        assert result["pruned"] > 0
        now = clock.now()
        oldest = {model: db.session.execute(select(model.bucket_start).order_by(model.bucket_start)).scalars().first()
                  for model in (CardPaymentStageRollup, CardPaymentMetricRollup)}
        assert oldest[CardPaymentStageRollup] >= now - timedelta(days=2)
        assert oldest[CardPaymentMetricRollup] >= now - timedelta(days=3)
        assert now - timedelta(days=3) > oldest[CardPaymentMetricRollup] - timedelta(days=1)


def test_the_summary_api_shows_the_same_figures_before_and_after_the_rollup(app, admin_client):
    with app.app_context():
        seed_week()
    before = admin_client.get("/admin/api/metrics/summary?window=7d").get_json()
    with app.app_context():
        rollups.roll_up(app.config)
    after = admin_client.get("/admin/api/metrics/summary?window=7d").get_json()
    assert [s["count"] for s in after["stages"]] == [s["count"] for s in before["stages"]]
    assert [s["p95_ms"] for s in after["stages"]] == [s["p95_ms"] for s in before["stages"]]
    assert after["error_rate"] == before["error_rate"]
    assert after["criteria"] == before["criteria"]
