"""Payment detection fallback: no callback, a learner waiting, and cardpay asks getStatus itself."""

import threading

import requests

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import FastTrackApproval, Payment
from tests.conftest import free_port

SILENT_CARD = "4000000000000077"  # succeeds at the sandbox, which then sends no callback


def _paid_without_callback(running, card=SILENT_CARD):
    """Enroll, pay on the card page, land on the return page; return (browser, payment row)."""
    browser = running.browser()
    paylink = running.enroll(browser).headers["Location"]
    paid = running.pay(browser, paylink, card=card)
    assert paid.status_code == 303
    assert browser.get(paid.headers["Location"], timeout=10).status_code == 200
    [payment] = running.payments()
    return browser, payment


def _approvals(running):
    with running.app.app_context():
        rows = [(a.method, a.outcome) for a in db.session.query(FastTrackApproval).all()]
        db.session.commit()
        return rows


def test_status_poll_after_the_threshold_approves_a_silent_success(shop):
    running = shop()
    browser, payment = _paid_without_callback(running)
    early = running.status(payment.token, browser).json()
    assert early["payment_status"] == "pending"  # learner just arrived: not asked yet
    assert running.sandbox.get(payment.paylink_id).lookups == 0
    clock.advance(milliseconds=2100)  # past PAYMENT_DETECTION_THRESHOLD (2000 ms)
    late = running.status(payment.token, browser).json()
    assert (late["payment_status"], late["enrollment_status"]) == ("succeeded", "active")
    assert late["access_granted_at"] is not None
    assert running.sandbox.get(payment.paylink_id).lookups == 1
    assert _approvals(running) == [("status_poll", "approved")]
    [row] = running.payments()
    assert row.detection_method == "status_poll" and row.last_status_check_at is not None


def test_held_back_callback_is_overtaken_by_the_status_poll(shop):
    running = shop(SANDBOX_CALLBACK_DELAY_SECONDS=30)
    browser, payment = _paid_without_callback(running, card="4242424242424242")
    clock.advance(milliseconds=2500)
    assert running.status(payment.token, browser).json()["payment_status"] == "succeeded"
    assert _approvals(running) == [("status_poll", "approved")]


def test_declined_card_without_callback_is_recorded_as_failed_by_the_poll(shop):
    running = shop(SANDBOX_CALLBACK_DELAY_SECONDS=30)
    browser, payment = _paid_without_callback(running, card="4000000000000002")
    clock.advance(seconds=3)
    status = running.status(payment.token, browser).json()
    assert (status["payment_status"], status["enrollment_status"]) == ("failed", "pending_payment")
    assert _approvals(running) == []


def test_pending_at_the_gateway_stays_pending_and_is_asked_at_most_every_two_seconds(shop):
    running = shop()
    browser = running.browser()
    running.enroll(browser)  # nobody pays: getStatus says PENDING
    [payment] = running.payments()
    browser.get(f"{running.url}/payments/{payment.token}/return", timeout=10)
    clock.advance(seconds=3)
    answers = []

    def poll():
        answers.append(requests.get(f"{running.url}/api/payments/{payment.token}/status", timeout=10).json())

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a["payment_status"] for a in answers} == {"pending"}
    assert running.sandbox.get(payment.paylink_id).lookups == 1  # eight polls at once, one getStatus
    running.status(payment.token)
    assert running.sandbox.get(payment.paylink_id).lookups == 1
    clock.advance(seconds=2)
    running.status(payment.token)
    assert running.sandbox.get(payment.paylink_id).lookups == 2


def test_gateway_down_during_detection_leaves_the_payment_pending(shop, app_factory):
    running = shop()
    browser, payment = _paid_without_callback(running)
    # A second cardpay on the same database whose iKhokha cannot be reached.
    cut_off = app_factory(IKHOKHA_API_URL=f"http://127.0.0.1:{free_port()}/api")
    clock.advance(seconds=3)
    answer = cut_off.test_client().get(f"/api/payments/{payment.token}/status")
    assert answer.status_code == 200 and answer.json["payment_status"] == "pending"
    [row] = running.payments()
    assert row.status == "pending" and row.last_status_check_at is not None
    assert _approvals(running) == []
    # The gateway is back (the first cardpay reaches it): the next poll, two seconds on, approves.
    clock.advance(seconds=2)
    assert running.status(payment.token, browser).json()["payment_status"] == "succeeded"


def test_no_status_poll_for_a_learner_who_is_not_on_the_return_page(shop):
    running = shop()
    browser = running.browser()
    paylink = running.enroll(browser).headers["Location"]
    running.pay(browser, paylink, card=SILENT_CARD)  # redirect not followed: the learner never arrives
    [payment] = running.payments()
    clock.advance(minutes=1)
    assert running.status(payment.token).json()["payment_status"] == "pending"
    assert running.sandbox.get(payment.paylink_id).lookups == 0
    with running.app.app_context():
        assert db.session.get(Payment, payment.id).return_page_at is None
