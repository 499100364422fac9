"""Rate limits on the learner side: Enroll Now per client address, the status API per token and per
address, and the getStatus asks one payment's polls may cause, on memory:// and on the real Redis."""

import requests

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import Payment
from tests.factory_helpers import make_payment


def _payment_count(app):
    with app.app_context():
        count = db.session.query(Payment).count()
        db.session.commit()
        return count


def test_enroll_now_is_limited_per_client_address(shop, limit_storage):
    running = shop(**limit_storage.settings, ENROLL_RATE_LIMIT="3/minute;50/hour")
    answers = [running.enroll(email=f"learner{n}@example.com").status_code for n in range(3)]
    assert answers == [303, 303, 303]
    refused = running.enroll(email="learner9@example.com")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.headers["Content-Type"].startswith("text/html")
    assert "Too many requests" in refused.text
    assert _payment_count(running.app) == 3 and len(running.sandbox.paylinks) == 3  # no payment, no paylink
    if limit_storage.connection is not None:
        assert any("enroll" in key for key in limit_storage.keys())  # counted in the shared Redis


def test_enroll_now_limit_is_per_address(app_factory, limit_storage):
    app = app_factory(**limit_storage.settings, ENROLL_RATE_LIMIT="2/minute")
    client = app.test_client()

    def enroll(ip):
        return client.post("/courses/nope/enroll", data={"email": "a@example.com", "name": "A"},
                           environ_base={"REMOTE_ADDR": ip}).status_code

    assert [enroll("203.0.113.5") for _ in range(3)] == [404, 404, 429]
    assert enroll("198.51.100.7") == 404  # another learner is not affected


def test_default_enroll_limit_stops_a_flood_at_ten_a_minute(app_factory, limit_storage):
    app = app_factory(**limit_storage.settings)
    client = app.test_client()
    codes = [client.post("/courses/nope/enroll", data={"email": "a@example.com"}).status_code for _ in range(11)]
    assert codes == [404] * 10 + [429]


def test_status_api_is_limited_per_token_with_a_json_429(app_factory, limit_storage):
    app = app_factory(**limit_storage.settings, STATUS_RATE_LIMIT_PER_TOKEN="4/minute")
    with app.app_context():
        first, second = make_payment(n=1).token, make_payment(n=2).token
    client = app.test_client()
    assert [client.get(f"/api/payments/{first}/status").status_code for _ in range(4)] == [200] * 4
    refused = client.get(f"/api/payments/{first}/status")
    assert refused.status_code == 429 and refused.json["error"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.get(f"/api/payments/{second}/status").status_code == 200  # its own counter
    assert not any(first in key for key in limit_storage.keys())  # the token is hashed into the key


def test_status_api_is_limited_per_address_across_tokens(app_factory, limit_storage):
    app = app_factory(**limit_storage.settings, STATUS_RATE_LIMIT_PER_IP="5/minute")
    with app.app_context():
        tokens = [make_payment(n=n).token for n in range(1, 7)]
    client = app.test_client()
    codes = [client.get(f"/api/payments/{token}/status").status_code for token in tokens]
    assert codes == [200] * 5 + [429]
    other = client.get(f"/api/payments/{tokens[0]}/status", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other.status_code == 200


def test_default_status_limits_let_a_page_poll_every_two_seconds(app):
    assert app.config["STATUS_RATE_LIMIT_PER_TOKEN"] == "90/minute"  # 30 polls a minute, with room
    client = app.test_client()
    with app.app_context():
        token = make_payment().token
    assert all(client.get(f"/api/payments/{token}/status").status_code == 200 for _ in range(60))


def test_an_open_return_page_stops_asking_getstatus_after_the_cap(shop):
    running = shop(STATUS_POLL_MAX_CHECKS=3)
    browser = running.browser()
    running.enroll(browser)  # nobody pays: getStatus says PENDING for ever
    [payment] = running.payments()
    browser.get(f"{running.url}/payments/{payment.token}/return", timeout=10)
    for _ in range(6):
        clock.advance(seconds=3)
        answer = requests.get(f"{running.url}/api/payments/{payment.token}/status", timeout=10)
        assert answer.status_code == 200 and answer.json()["payment_status"] == "pending"
    assert running.sandbox.get(payment.paylink_id).lookups == 3  # then the polls stopped asking
    [row] = running.payments()
    assert row.status_poll_checks == 3 and row.status_check_attempts == 0  # reconciliation's count is untouched
