"""A whole purchase over real HTTP: Enroll Now, the sandbox's card page, its signed callback, access."""

import re
import time

from cardpay.core.extensions import db
from cardpay.models import FastTrackApproval, WebhookEvent


def _wait_for_status(running, token, browser, done, seconds=10.0):
    deadline = time.monotonic() + seconds
    while True:
        status = running.status(token, browser).json()
        if done(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_card_payment_callback_grants_access_and_the_page_acknowledges(shop):
    running = shop()
    browser = running.browser()
    enrolled = running.enroll(browser)
    card_page = browser.get(enrolled.headers["Location"], timeout=10)
    assert card_page.status_code == 200 and ">Pay</button>" in card_page.text
    paid = running.pay(browser, enrolled.headers["Location"])
    assert paid.status_code == 303
    landing = browser.get(paid.headers["Location"], timeout=10)
    assert landing.status_code == 200
    token = re.search(r"/payments/([^/]+)/return", paid.headers["Location"]).group(1)

    status = _wait_for_status(running, token, browser, lambda s: s["enrollment_status"] == "active")
    assert (status["payment_status"], status["enrollment_status"]) == ("succeeded", "active")
    ack = browser.post(f"{running.url}/api/payments/{token}/ui-ack", timeout=10)
    assert ack.json() == {"acknowledged": True, "recorded": True}

    [payment] = running.payments()
    with running.app.app_context():
        [event] = db.session.query(WebhookEvent).all()
        assert event.paylink_id == payment.paylink_id
        [approval] = db.session.query(FastTrackApproval).all()
        assert (approval.method, approval.outcome) == ("fast_track", "approved")
        db.session.commit()
    assert payment.detection_method == "callback"
    for stamp in ("paylink_created_at", "return_page_at", "outcome_known_at", "access_granted_at", "ui_acked_at"):
        assert getattr(payment, stamp) is not None, stamp
    page = browser.get(f"{running.url}/payments/{token}/return", timeout=10).text
    assert 'data-state="granted"' in page and 'id="course-access"' in page
    assert running.sandbox.get(payment.paylink_id).lookups == 0  # the callback was enough


def test_declined_card_leaves_the_learner_without_access_and_able_to_retry(shop):
    running = shop()
    browser = running.browser()
    paylink = running.enroll(browser).headers["Location"]
    declined = running.pay(browser, paylink, card="4000 0000 0000 0002")
    assert declined.headers["Location"].endswith("?outcome=failure")
    page = browser.get(declined.headers["Location"], timeout=10).text
    # It never claims "not charged": a retry on the same card page may still succeed (SUCCESS after FAILURE).
    assert 'data-state="failed"' in page and "did not go through" in page
    assert "not charged" not in page and "Nothing was charged" not in page
    assert 'name="email" value="thandi@example.com"' in page  # try again with the details kept
    token = running.payments()[0].token
    status = _wait_for_status(running, token, browser, lambda s: s["payment_status"] == "failed")
    assert (status["payment_status"], status["enrollment_status"]) == ("failed", "pending_payment")
    with running.app.app_context():
        assert db.session.query(FastTrackApproval).count() == 0
        db.session.commit()
    # Paying again on the same paylink (iKhokha allows a retry) grants access.
    assert running.pay(browser, paylink).status_code == 303
    status = _wait_for_status(running, token, browser, lambda s: s["enrollment_status"] == "active")
    assert status["payment_status"] == "succeeded"
