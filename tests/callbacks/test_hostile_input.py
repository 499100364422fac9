"""Hostile callbacks that once cost a 500 or unbounded storage: JSON text that is not valid Unicode, and
floods of large refused bodies. Each is answered 4xx and recorded (as an excerpt), never a 500."""

import pytest

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.jobs import retention
from cardpay.models import WebhookEvent
from tests.callbacks.callback_helpers import post


@pytest.mark.parametrize("field", ["paylinkID", "status"])
def test_a_lone_surrogate_is_refused_as_invalid_json_and_recorded(client, seen, signed_callback, field):
    body = ('{"paylinkID": "PL1", "status": "SUCCESS", "%s": "\\ud800"}' % field).encode()
    body, headers = signed_callback(body)
    response = post(client, body, headers)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_json"
    [event] = seen.events()
    assert (event.verdict, event.http_status) == ("invalid_json", 400)


def test_a_flood_of_large_refused_bodies_keeps_only_an_excerpt(app, client, seen):
    big = b'{"paylinkID": "x", "status": "SUCCESS", "pad": "' + b"A" * 60000 + b'"}'
    headers = {"Content-Type": "application/json", "IK-APPID": "nope", "IK-SIGN": "0" * 64,
               **{f"X-Filler-{i}": "B" * 1500 for i in range(40)}}
    for _ in range(5):
        assert post(client, big, headers).status_code == 401
    events = seen.events()
    assert len(events) == 5
    for event in events:
        assert len(event.body) <= 2048
        assert len(event.headers) <= 30 and all(len(value) <= 256 for value in event.headers.values())


def test_refused_deliveries_are_cleaned_after_their_window_and_accepted_ones_stay(app, client, seen, payment,
                                                                                  success_for):
    assert post(client, b"not json", {"Content-Type": "application/json"}).status_code == 400
    body, headers = success_for(payment)
    assert post(client, body, headers).status_code == 200
    clock.advance(days=app.config["REJECTED_CALLBACK_RETENTION_DAYS"] + 1)
    with app.app_context():
        deleted = retention.run_cleanup(app.config)
        db.session.commit()
    assert deleted["webhook_events"] == 1
    assert [event.verdict for event in seen.events()] == ["accepted"]
    with app.app_context():
        assert db.session.query(WebhookEvent).count() == 1
