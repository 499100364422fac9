"""The numbers on the dashboard and in the summary API, and the success criteria judged on them."""

from datetime import timedelta

import pytest

from cardpay.admin import figures
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.monitoring import histograms

HOOK = "http://127.0.0.1:9/alerts"


def seed_healthy(seed, succeeded=20):
    """A healthy hour: every payment paid and shown, stages fast, few errors, nothing critical open."""
    for _ in range(succeeded):
        seed.payment(status="succeeded")
    for i in range(1, 101):
        seed.timing("end_to_end", i * 50.0)  # 50 ms .. 5 s
    seed.timing("webhook_processing", 120.0)
    seed.requests(total=100, errors=1)


def check(summary, name):
    return next(c for c in summary["criteria"] if c["check"] == name)


def test_counts_rates_revenue_and_percentiles_over_the_window(app, seed):
    with app.app_context():
        for _ in range(19):
            seed.payment(status="succeeded", amount=10000)
        seed.payment(status="failed")
        seed.payment(status="pending", age=timedelta(minutes=40))  # abandoned
        seed.payment(status="pending", age=timedelta(minutes=1))  # still paying
        seed.payment(status="succeeded", age=timedelta(hours=3))  # outside 1h, inside 24h
        seed.payment(status="succeeded", acked=False, age=timedelta(minutes=30))  # page never showed access
        for i in range(1, 101):
            seed.timing("end_to_end", i * 100.0)
        seed.timing("approval_processing", 4000.0, threshold_ms=3000)
        seed.timing("end_to_end", 99999.0, age=timedelta(hours=2))  # outside 1h
        seed.requests(total=200, errors=6)
        db.session.commit()
        hour = figures.summary("1h")
        day = figures.summary("24h")

    p = hour["payments"]
    assert (p["attempted"], p["succeeded"], p["failed"], p["abandoned"], p["in_progress"]) == (23, 20, 1, 1, 1)
    assert p["success_rate"] == pytest.approx(100 * 20 / 21, abs=0.01)
    assert p["revenue_cents"] == {"ZAR": 19 * 10000 + 49900}
    e2e = next(s for s in hour["stages"] if s["operation"] == "end_to_end")
    assert (e2e["count"], e2e["avg_ms"], e2e["max_ms"]) == (100, 5050.0, 10000.0)
    # Percentiles come from the duration histogram: within its stated error of the exact nearest rank.
    for key, exact in (("p50_ms", 5000.0), ("p95_ms", 9500.0), ("p99_ms", 9900.0)):
        assert e2e[key] == pytest.approx(exact, rel=histograms.RELATIVE_ERROR), key
    assert e2e["threshold_ms"] == 10000 and e2e["within_threshold"]
    approval = next(s for s in hour["stages"] if s["operation"] == "approval_processing")
    assert (approval["count"], approval["exceeded"], approval["within_threshold"]) == (1, 1, False)
    assert hour["ui_update"] == {"opened": 20, "acknowledged": 19, "rate": 95.0}
    assert hour["error_rate"] == {"errors": 6, "requests": 200, "rate": 3.0}
    assert day["payments"]["succeeded"] == 21
    assert next(s for s in day["stages"] if s["operation"] == "end_to_end")["count"] == 101
    # The chart series add up to the same counts.
    assert sum(hour["series"]["payments"]["attempted"]) == 23
    assert sum(hour["series"]["payments"]["succeeded"]) == 20
    assert len(hour["series"]["times"]) == 12 and len(day["series"]["times"]) == 24

    verdicts = {c["check"]: c["status"] for c in hour["criteria"]}
    assert verdicts["card payment success rate"] == "PASS"  # 95.24% > 95%
    assert verdicts["UI update success rate"] == "FAIL"  # 95% < 98%
    assert verdicts["error rate"] == "PASS"
    assert hour["healthy"] is False


def test_each_payment_event_is_charted_in_its_own_bucket_and_only_inside_the_window(app, seed):
    """One statement counts payments by the buckets of their creation, success and failure: each in its own."""
    with app.app_context():
        now = clock.now()  # ages mid-bucket (5-minute buckets over 1h), so a few ms of drift cannot move them
        paid_late = seed.payment(status="succeeded", amount=10000)
        paid_late.created_at = now - timedelta(hours=2)  # created before the window, paid inside it
        paid_late.succeeded_at = now - timedelta(minutes=32, seconds=30)
        failed = seed.payment(status="failed", age=timedelta(minutes=52, seconds=30))
        failed.failed_at = now - timedelta(minutes=7, seconds=30)
        usd = seed.payment(status="succeeded", amount=700, age=timedelta(minutes=17, seconds=30))
        usd.currency = "USD"
        seed.payment(status="succeeded", age=timedelta(hours=2))  # entirely before the window
        db.session.commit()
        hour = figures.summary("1h")

    p, charted = hour["payments"], hour["series"]["payments"]
    assert (p["attempted"], p["succeeded"], p["failed"]) == (2, 2, 1)
    assert p["revenue_cents"] == {"ZAR": 10000, "USD": 700}
    assert charted["attempted"] == [0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
    assert charted["succeeded"] == [0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0]
    assert charted["failed"] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]


def test_an_approval_the_page_may_still_be_showing_is_not_counted_against_the_ui(app, seed):
    with app.app_context():
        seed.payment(status="succeeded", acked=False, age=timedelta(seconds=3))
        db.session.commit()
        assert figures.summary("1h")["ui_update"] == {"opened": 0, "acknowledged": 0, "rate": None}


def test_healthy_window_passes_every_criterion(app_factory, seed):
    app = app_factory(ALERT_WEBHOOK_URL=HOOK)
    with app.app_context():
        seed_healthy(seed)
        alert = seed.alert(severity="warning")
        seed.delivery(alert, "webhook", "delivered")
        db.session.commit()
        summary = figures.summary("1h")
    assert [c["status"] for c in summary["criteria"]] == ["PASS"] * 6
    assert summary["healthy"] is True


def test_empty_window_is_not_a_failure(app):
    with app.app_context():
        summary = figures.summary("7d")
    assert summary["healthy"] is True
    assert check(summary, "card payment success rate")["status"] == "N/A"
    assert check(summary, "alert channels delivering")["shown"] == "no channel configured"


def test_open_critical_alert_and_a_failing_channel_fail_their_criteria(app_factory, seed):
    app = app_factory(ALERT_WEBHOOK_URL=HOOK, ALERT_SLACK_WEBHOOK="http://127.0.0.1:9/slack")
    with app.app_context():
        seed_healthy(seed)
        alert = seed.alert(severity="critical")
        seed.delivery(alert, "webhook", "delivered")
        seed.delivery(alert, "slack", "pending", attempts=3, error="connection refused")
        db.session.commit()
        summary = figures.summary("1h")
    assert check(summary, "critical alerts open")["status"] == "FAIL"
    channel = check(summary, "alert channels delivering")
    assert channel["status"] == "FAIL" and channel["shown"] == "failing: slack"
    assert check(summary, "card payment success rate")["status"] == "PASS"


def test_a_stalled_outbox_counts_as_a_channel_not_delivering(app_factory, seed):
    app = app_factory(ALERT_WEBHOOK_URL=HOOK)
    with app.app_context():
        alert = seed.alert()
        seed.delivery(alert, "webhook", "pending", attempts=0)
        db.session.commit()
        assert check(figures.summary("1h"), "alert channels delivering")["status"] == "PASS"
        clock.advance(minutes=10)
        assert check(figures.summary("1h"), "alert channels delivering")["status"] == "FAIL"


def test_summary_api_and_dashboard_show_the_same_numbers(app, admin_client, seed):
    with app.app_context():
        seed_healthy(seed, succeeded=7)
        seed.payment(status="failed")
        seed.alert(severity="critical", message="webhook_processing over 5000 ms")
        db.session.commit()
    api = admin_client.get("/admin/api/metrics/summary?window=1h").get_json()
    assert api["payments"]["attempted"] == 8 and api["payments"]["succeeded"] == 7
    assert api["alerts"]["open"]["critical"] == 1
    page = admin_client.get("/admin/card-payment-monitoring?window=1h").get_data(as_text=True)
    assert 'id="payments-attempted">8<' in page and 'id="payments-succeeded">7<' in page
    assert f'id="success-rate">{api["payments"]["success_rate"]:.2f}%<' in page
    assert 'id="open-alerts">1<' in page and "webhook_processing over 5000 ms" in page
    assert 'data-check="critical alerts open"' in page and ">Fail</span>" in page
    assert '<script type="application/json" id="dashboard-data">' in page
    for window in ("24h", "7d"):
        assert admin_client.get(f"/admin/card-payment-monitoring?window={window}").status_code == 200
    bad = admin_client.get("/admin/api/metrics/summary?window=5y")
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_window"
