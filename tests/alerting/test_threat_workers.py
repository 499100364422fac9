"""Threat detection's per-worker trigger follows the number of web workers, so a burst spread over more
workers than the old fixed fraction assumed (four) still raises the alert."""

import pytest

from cardpay.alerting import threats
from cardpay.core.extensions import db
from tests.alerting.test_threats import ATTACKER, callback, security_alerts


@pytest.mark.parametrize("workers", [5, 8])
def test_a_burst_spread_over_many_workers_raises_the_alert(app_factory, channel_settings, workers):
    # Apps on one database are workers: each counts only the callbacks it handled itself.
    apps = [app_factory(**channel_settings, WEB_CONCURRENCY=workers) for _ in range(workers)]
    clients = [app.test_client() for app in apps]
    threshold = apps[0].config["THREAT_BURST_THRESHOLD"]
    for n in range(threshold):  # exactly the threshold, round robin: at most two on any one worker
        assert callback(clients[n % workers], apps[n % workers]).status_code == 401
    with apps[0].app_context():
        (alert,) = security_alerts()
        assert alert.fingerprint == f"threat:bad_signature:{ATTACKER}" and alert.details["count"] == threshold
        db.session.commit()


def test_the_trigger_is_the_threshold_over_the_workers():
    assert [threats.trigger(10, n) for n in (1, 2, 4, 5, 8, 16)] == [10, 5, 3, 2, 2, 1]


def test_web_concurrency_defaults_to_gunicorns_worker_count(app):
    import os

    assert app.config["WEB_CONCURRENCY"] == (os.cpu_count() or 1) * 2 + 1
