"""The receipt (SPEC §12): one email per grant, through the outbox, with what the learner saw and a one-time
sign-in link made when it is sent; duplicates, SMTP outages and switched-off emails never change access."""

import json
from datetime import timedelta

from cardpay.core import clock
from tests.conftest import free_port
from tests.learners.learner_helpers import (
    LINK,
    deliver,
    email_of,
    learner_name,
    learner_rows,
    paid,
    payment_row,
    post_callback,
    session_of,
)


def _buy(shop, email="thandi@example.com", name="Thandi Nkosi"):
    browser = shop.browser()
    paylink = shop.enroll(browser, email=email, name=name).headers["Location"]
    token = session_of(shop.app, browser)["payment_tokens"][0]
    assert shop.pay(browser, paylink).status_code == 303
    paid(shop, token)
    return browser, token


def test_receipt_holds_the_course_amount_reference_date_and_a_working_link(store):
    shop = store(DISPLAY_TIMEZONE="Africa/Johannesburg", MAIL_DEFAULT_SENDER="Courses <courses@school.example>")
    _, token = _buy(shop)
    payment = payment_row(shop.app, token)
    assert deliver(shop.app)["delivered"] == 1
    assert len(shop.smtp.messages) == 1 and shop.smtp.messages[0]["to"] == ["thandi@example.com"]
    message = email_of(shop.smtp.messages[0])
    assert message["To"] == "thandi@example.com" and message["From"] == "Courses <courses@school.example>"
    assert message["Subject"] == "Your receipt: Python Foundations"
    assert message["Date"] and message["Message-ID"].endswith("@school.example>")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    local = payment.access_granted_at.replace(tzinfo=None) + timedelta(hours=2)  # SAST, no daylight saving
    for body in (text, html):
        assert "Python Foundations" in body and "R499.00" in body
        assert payment.external_transaction_id in body
        assert f"{local.day} " in body and f"{local:%H:%M} SAST" in body
    link = LINK.search(text).group(1)
    assert link.startswith(shop.url + "/account/sign-in/") and link in html
    # The outbox row never held the link: it was made when the email was sent.
    (status, attempts, payload), = learner_rows(shop.app)
    assert status == "delivered" and link.rsplit("/", 1)[1] not in json.dumps(payload)
    # The link signs a new browser in, once.
    phone = shop.browser()
    opened = phone.get(link, allow_redirects=False, timeout=10)
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/account/courses")
    courses = phone.get(shop.url + "/account/courses", timeout=10)
    assert "Open Python Foundations" in courses.text and 'href="/learn/python-foundations"' in courses.text
    assert phone.get(link, allow_redirects=False, timeout=10).status_code == 410


def test_duplicate_callbacks_send_exactly_one_receipt(store):
    shop = store()
    _, token = _buy(shop)
    payment = payment_row(shop.app, token)
    for _ in range(3):
        assert post_callback(shop, payment.paylink_id, "SUCCESS", payment.external_transaction_id).status_code == 200
    deliver(shop.app)
    deliver(shop.app)
    assert [m["subject"] for m in shop.smtp.messages] == ["Your receipt: Python Foundations"]
    assert len(learner_rows(shop.app)) == 1


def test_smtp_down_for_a_while_then_up_delivers_the_receipt_once(store, smtp_server):
    shop = store(MAIL_PORT=free_port())  # nothing listens there
    _, token = _buy(shop)
    assert payment_row(shop.app, token).enrollment.status == "active"  # access did not wait for the email
    assert deliver(shop.app)["failed"] == 1
    (status, attempts, _), = learner_rows(shop.app)
    assert (status, attempts) == ("pending", 1) and smtp_server.messages == []
    shop.app.config["MAIL_PORT"] = smtp_server.port  # the mail server is back
    assert deliver(shop.app)["claimed"] == 0  # backing off
    clock.advance(seconds=3600)
    assert deliver(shop.app)["delivered"] == 1
    deliver(shop.app)
    assert len(smtp_server.messages) == 1 and smtp_server.messages[0]["subject"].startswith("Your receipt")
    assert learner_rows(shop.app)[0][:2] == ("delivered", 2)


def test_message_id_is_the_same_on_every_retry_of_one_row(store):
    from cardpay.learners import delivery, emails
    shop = store()
    with shop.app.app_context():
        config = shop.app.config
        assert emails.message_id(config, 7) == emails.message_id(config, 7) != emails.message_id(config, 8)
        assert delivery.describe(config, {"to": "a@example.com"}) == "a@example.com"


def test_learner_emails_switched_off_send_nothing_and_access_still_comes(store):
    shop = store(LEARNER_EMAILS_ENABLED=False)
    _, token = _buy(shop)
    deliver(shop.app)
    assert shop.smtp.messages == [] and learner_rows(shop.app) == []
    assert payment_row(shop.app, token).status == "succeeded"


def test_the_paying_name_becomes_the_learners_name(store):
    shop = store()
    shop.enroll(shop.browser(), email="thandi@example.com", name="Someone Else")  # typed first, never paid
    _buy(shop, name="Thandi Nkosi")
    assert learner_name(shop.app, "thandi@example.com") == "Thandi Nkosi"
    deliver(shop.app)
    assert "Hello Thandi Nkosi" in shop.smtp.messages[0]["body"]


def test_the_return_page_shows_amount_reference_date_and_where_the_receipt_went(store):
    shop = store()
    browser, token = _buy(shop)
    payment = payment_row(shop.app, token)
    page = browser.get(f"{shop.url}/payments/{token}/return", timeout=10)
    top = page.text.split("<template")[0]
    assert 'data-state="granted"' in top and "R499.00" in top and payment.external_transaction_id in top
    assert "SAST" in top and "A receipt was emailed to <strong>thandi@example.com</strong>" in top
    assert page.headers["Cache-Control"] == "no-store"
