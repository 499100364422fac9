"""GET /metrics: Prometheus exposition read from the database, so totals are the same whichever gunicorn
worker answers the scrape."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from cardpay import signals
from cardpay.core import events
from cardpay.ikhokha import signing
from tests.conftest import TEST_API_SECRET, TEST_APP_ID, TEST_SECRET_KEY, free_port
from tests.gunicorn_helpers import serving
from tests.monitoring.test_receivers import make_payment, publish_a_journey


def samples(text):
    """Return {(sample name, frozenset(labels)): value} of an exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, frozenset(labels.items())))


def test_metrics_reports_callbacks_stages_approvals_and_alerts(app, client):
    with app.app_context():
        publish_a_journey(make_payment())
        events.publish(signals.request_finished, endpoint="callback", status_code=200, duration_ms=5.0,
                       internal_error=False)
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    found = samples(response.get_data(as_text=True))
    assert value(found, "cardpay_database_up") == 1
    assert value(found, "cardpay_callbacks_total", result="accepted", outcome="processed") == 1
    assert value(found, "cardpay_callbacks_total", result="rejected", outcome="invalid_signature") == 1
    assert value(found, "cardpay_payments_total", status="succeeded") == 1
    assert value(found, "cardpay_revenue_cents_total", currency="ZAR") == 49900
    assert value(found, "cardpay_requests_total", endpoint="callback", status_class="2xx") == 1
    # end_to_end took 12.5 s: above the 10 s bucket, inside the 30 s one; approval 12 ms is in the first.
    assert value(found, "cardpay_stage_duration_seconds_bucket", operation="end_to_end", le="10.0") == 0
    assert value(found, "cardpay_stage_duration_seconds_bucket", operation="end_to_end", le="30.0") == 1
    assert value(found, "cardpay_stage_duration_seconds_count", operation="end_to_end") == 1
    assert value(found, "cardpay_stage_duration_seconds_sum", operation="end_to_end") == 12.5
    assert value(found, "cardpay_stage_duration_seconds_bucket", operation="approval_processing", le="0.05") == 1
    assert value(found, "cardpay_stage_duration_seconds_count", operation="ui_update") == 0
    assert value(found, "cardpay_stage_threshold_exceeded_total", operation="end_to_end") == 1
    assert value(found, "cardpay_alerts_open", severity="warning") == 1
    assert value(found, "cardpay_alerts_open", severity="critical") == 0
    assert value(found, "cardpay_process_receiver_failures_total") == 0  # summed over workers: no pid label


def _forged(port):
    body = json.dumps({"paylinkID": "PL-FORGED", "status": "SUCCESS"}).encode()
    headers = {"Content-Type": "application/json", "IK-APPID": TEST_APP_ID,
               "IK-SIGN": signing.sign("wrong-secret", "/webhooks/ikhokha", body), "Connection": "close"}
    return requests.post(f"http://127.0.0.1:{port}/webhooks/ikhokha", data=body, headers=headers, timeout=10)


@pytest.mark.slow
def test_metrics_under_gunicorn_with_two_workers_reports_the_sum_of_both(app, migrated_database, tmp_path):
    port = free_port()
    settings = {"CARDPAY_ENV": "testing", "DATABASE_URL": migrated_database, "SECRET_KEY": TEST_SECRET_KEY,
                "IKHOKHA_API_KEY": TEST_APP_ID, "IKHOKHA_API_SECRET": TEST_API_SECRET,
                "CALLBACK_REFUSAL_RATE_LIMIT": "100000/minute"}
    log_path = tmp_path / "gunicorn.log"
    # sync workers, one thread each: gunicorn.conf.py's threads would otherwise turn them into gthread
    with serving(settings, log_path, ["--workers", "2", "--worker-class", "sync", "--threads", "1"], port=port):
        # Concurrent requests: a sync worker busy with one leaves the next connection to the other worker.
        sent, scrapes = 0, []
        with ThreadPoolExecutor(max_workers=6) as pool:
            while sent < 40 or len(_pids(log_path, "/webhooks/ikhokha")) < 2:
                assert all(r.status_code == 401 for r in pool.map(_forged, [port] * 12))
                sent += 12
                assert sent < 400, "gunicorn never spread callbacks over both workers"
            while len(scrapes) < 6 or len(_pids(log_path, "/metrics")) < 2:
                scrapes += [samples(r.text) for r in pool.map(_scrape, [port] * 6)]
                assert len(scrapes) < 200, "gunicorn never spread scrapes over both workers"
        for found in scrapes:  # every worker reports the total of both
            assert value(found, "cardpay_callbacks_total", result="rejected", outcome="invalid_signature") == sent
            assert value(found, "cardpay_requests_total", endpoint="callback", status_class="4xx") == sent
            assert value(found, "cardpay_alerts_open", severity="critical") == 1  # the forgery burst itself
        print(f"{sent} forged callbacks over workers {sorted(_pids(log_path, '/webhooks/ikhokha'))}; "
              f"{len(scrapes)} scrapes over workers {sorted(_pids(log_path, '/metrics'))}")

def _scrape(port):
    return requests.get(f"http://127.0.0.1:{port}/metrics", headers={"Connection": "close"}, timeout=10)


def _pids(log_path, path):
    """Return the worker pids the (JSON) access log shows answering a path."""
    pids = set()
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith('{"time"') and '"gunicorn.access"' in line:
            entry = json.loads(line)
            if entry["path"] == path:
                pids.add(str(entry["pid"]))
    return pids


def test_counters_never_go_down_when_retention_cleans_old_rows(app, client):
    from cardpay.core import clock
    from cardpay.jobs import retention

    def payments_succeeded():
        found = samples(client.get("/metrics").data.decode())
        return value(found, "cardpay_payments_total", status="succeeded")

    with app.app_context():
        for days_ago in (100, 95, 1):  # two past METRICS_RETENTION_DAYS, one recent
            clock.advance(days=-days_ago)
            events.publish(signals.payment_succeeded, payment_id=days_ago, amount_cents=49900, currency="ZAR",
                           method="fast_track")
            clock.reset()
    before = payments_succeeded()
    with app.app_context():
        assert retention.run_cleanup(app.config)["card_payment_metrics"] == 4  # payments and revenue rows
    assert before == payments_succeeded() == 3.0

