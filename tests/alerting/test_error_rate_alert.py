"""The error rate over its rolling window raises and clears its alert."""



from cardpay import signals
from cardpay.alerting import alerts, conditions, outbox
from cardpay.core import clock, events


def finished(n, status_code=200):
    for _ in range(n):
        events.publish(signals.request_finished, endpoint="callback", status_code=status_code, duration_ms=3.0,
                       internal_error=status_code >= 500)


def test_error_rate_over_threshold_alerts_and_back_under_resolves(alert_app, webhook_receiver):
    # A worker evaluates the rate at most every few seconds (and the outbox job does too): drive it here.
    with alert_app.app_context():
        finished(19)
        finished(1, 500)  # 1 of 20 = 5 %: not above the 5 % threshold
        conditions.evaluate_error_rate()
        assert alerts.open_alert(conditions.ERROR_RATE_FINGERPRINT) is None
        finished(1, 503)  # 2 of 21
        conditions.evaluate_error_rate()
        alert = alerts.open_alert(conditions.ERROR_RATE_FINGERPRINT)
        assert alert.severity == "critical" and alert.details["errors"] == 2 and alert.details["requests"] == 21
        finished(20)  # 2 of 41 = 4.9 %
        conditions.evaluate_error_rate()
        assert alerts.open_alert(conditions.ERROR_RATE_FINGERPRINT) is None
        outbox.deliver_due()
    assert [(b["type"], b["status"]) for b in webhook_receiver.bodies] == [("error_rate", "firing"),
                                                                           ("error_rate", "resolved")]


def test_error_rate_alert_clears_when_the_window_empties_without_traffic(alert_app, webhook_receiver):
    with alert_app.app_context():
        finished(1, 500)
        assert alerts.open_alert(conditions.ERROR_RATE_FINGERPRINT) is not None
        clock.advance(seconds=alert_app.config["ERROR_RATE_WINDOW_SECONDS"] + 1)
        outbox.deliver_due()  # the outbox job re-evaluates time-based alerts
        assert alerts.open_alert(conditions.ERROR_RATE_FINGERPRINT) is None
