"""The error rate over its rolling window raises and clears its alert; every callback and checkout request is
counted exactly once; `flask cardpay test-alerts` reports each channel."""

import json

import requests
from sqlalchemy import func, select

from cardpay import clock, events, signals
from cardpay.extensions import db
from cardpay.models import AlertDelivery, CardPaymentMetric
from cardpay.services import alerts, callbacks, delivery, error_rate
from tests.monitoring.conftest import wait_for


def finished(n, status_code=200):
    for _ in range(n):
        events.publish(signals.request_finished, endpoint="callback", status_code=status_code, duration_ms=3.0,
                       internal_error=status_code >= 500)


def test_error_rate_over_threshold_alerts_and_back_under_resolves(alert_app, webhook_receiver):
    # A worker evaluates the rate at most every few seconds (and the outbox job does too): drive it here.
    with alert_app.app_context():
        finished(19)
        finished(1, 500)  # 1 of 20 = 5 %: not above the 5 % threshold
        error_rate.evaluate()
        assert alerts.open_alert(error_rate.FINGERPRINT) is None
        finished(1, 503)  # 2 of 21
        error_rate.evaluate()
        alert = alerts.open_alert(error_rate.FINGERPRINT)
        assert alert.severity == "critical" and alert.details["errors"] == 2 and alert.details["requests"] == 21
        finished(20)  # 2 of 41 = 4.9 %
        error_rate.evaluate()
        assert alerts.open_alert(error_rate.FINGERPRINT) is None
        delivery.deliver_due()
    assert [(b["type"], b["status"]) for b in webhook_receiver.bodies] == [("error_rate", "firing"),
                                                                           ("error_rate", "resolved")]


def test_error_rate_alert_clears_when_the_window_empties_without_traffic(alert_app, webhook_receiver):
    with alert_app.app_context():
        finished(1, 500)
        assert alerts.open_alert(error_rate.FINGERPRINT) is not None
        clock.advance(seconds=alert_app.config["ERROR_RATE_WINDOW_SECONDS"] + 1)
        delivery.deliver_due()  # the outbox job re-evaluates time-based alerts
        assert alerts.open_alert(error_rate.FINGERPRINT) is None


def test_each_callback_request_is_counted_once_and_a_crash_counts_as_an_error(live_app, monkeypatch):
    app, server = live_app()
    body = json.dumps({"paylinkID": "PL-1", "status": "SUCCESS"})
    assert requests.post(server.url + "/webhooks/ikhokha", data=body, timeout=10,
                         headers={"Content-Type": "application/json"}).status_code == 401

    def crash(delivery, started_ms):
        raise RuntimeError("bug in the callback path")

    monkeypatch.setattr(callbacks, "receive", crash)
    assert requests.post(server.url + "/webhooks/ikhokha", data=body, timeout=10,
                         headers={"Content-Type": "application/json"}).status_code == 500

    def counted(name):
        with app.app_context():
            return db.session.execute(select(func.count()).where(CardPaymentMetric.metric_name == name)).scalar()

    # The fallback event goes out after the response, from the server's thread: wait for it.
    assert wait_for(lambda: counted(error_rate.TOTAL) == 2)
    assert counted(error_rate.ERRORS) == 1
    with app.app_context():
        assert error_rate.current() == (1, 2)


def test_test_alerts_reports_every_channel(alert_app, webhook_receiver, slack_receiver, smtp_server):
    result = alert_app.test_cli_runner().invoke(args=["cardpay", "test-alerts"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["webhook", "slack", "email"]
    assert all(line.endswith("delivered") for line in lines[:3])
    assert lines[3] == "3 of 3 channels delivered"
    assert webhook_receiver.bodies[0]["type"] == "test" and slack_receiver.bodies[0]["text"].startswith("[TEST]")
    assert smtp_server.messages[0]["subject"].startswith("[cardpay] [TEST]")
    # The Slack URL is a secret: it is neither printed nor stored.
    assert "/hook" not in result.output
    with alert_app.app_context():
        assert all("/hook" not in t for t in db.session.execute(select(AlertDelivery.target)).scalars())


def test_test_alerts_exits_1_when_a_channel_fails(alert_app, webhook_receiver):
    webhook_receiver.stop()
    result = alert_app.test_cli_runner().invoke(args=["cardpay", "test-alerts"])
    assert result.exit_code == 1
    webhook_line = result.output.splitlines()[0]
    assert webhook_line.startswith("webhook") and "FAILED: could not reach 127.0.0.1:" in webhook_line
    assert "2 of 3 channels delivered" in result.output


def test_test_alerts_without_channels_says_so(app):
    result = app.test_cli_runner().invoke(args=["cardpay", "test-alerts"])
    assert result.exit_code == 1 and "no alert channel is configured" in result.output
