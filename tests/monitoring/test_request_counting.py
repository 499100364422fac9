"""Every callback and checkout request is counted exactly once; a crash counts as an error."""

import json

import requests
from sqlalchemy import func, select

from cardpay.callbacks import intake
from cardpay.core.extensions import db
from cardpay.models import CardPaymentMetric
from cardpay.monitoring import error_rate
from tests.receiver_helpers import wait_for


def test_each_callback_request_is_counted_once_and_a_crash_counts_as_an_error(live_app, monkeypatch):
    app, server = live_app()
    body = json.dumps({"paylinkID": "PL-1", "status": "SUCCESS"})
    assert requests.post(server.url + "/webhooks/ikhokha", data=body, timeout=10,
                         headers={"Content-Type": "application/json"}).status_code == 401

    def crash(outbox, started_ms):
        raise RuntimeError("bug in the callback path")

    monkeypatch.setattr(intake, "receive", crash)
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
