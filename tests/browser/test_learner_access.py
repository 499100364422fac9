"""The learner's access in a real browser (SPEC §12): a decline then a successful retry ends on access and never
says "not charged"; a second device signs in by the emailed link; a revoke in the admin reaches the open page."""

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from cardpay.alerting import outbox
from cardpay.core.extensions import db
from cardpay.models import Payment
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.browser_helpers import SLUG, TITLE, open_shop
from tests.browser.conftest import ARGS, CHROMIUM, TIMEOUT_MS
from tests.learners.learner_helpers import LINK

pytestmark = pytest.mark.browser


def enroll(page, base_url, email):
    page.goto(f"{base_url}/courses/{SLUG}")
    page.fill("input[name=email]", email)
    page.fill("input[name=name]", "Thandi Nkosi")
    page.get_by_role("button", name="Enroll Now").click()


def pay(page, card):
    page.fill("input[name=card_number]", card)
    page.fill("input[name=expiry]", "12/34")
    page.fill("input[name=cvv]", "123")
    page.get_by_role("button", name="Pay", exact=True).click()
    page.wait_for_url(re.compile(r"/payments/[^/]+/return"))


def both_widths(page, shoot, step):
    shoot(page, f"{step}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, f"{step}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def deliver_emails(app, smtp_server, timeout=10.0):
    """Run the outbox job until an email arrives (a receipt is queued just after the grant's commit)."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            outbox.deliver_due()
            db.session.commit()
        if smtp_server.messages or time.monotonic() > deadline:
            return smtp_server.messages
        time.sleep(0.1)


def test_decline_then_back_then_a_successful_payment_ends_on_access(live_app, browser, shoot):
    app, server = live_app(SANDBOX_CALLBACK_DELAY_SECONDS=1)
    open_shop(app)
    first = browser.new_page()
    enroll(first, server.url, "thandi@example.com")
    card_page = first.url
    pay(first, "4000 0000 0000 0002")
    expect(first.locator("#payment-state")).to_have_attribute("data-state", "failed")
    shoot(first, "1-declined")
    # A second tab keeps the declined page open: it must follow the payment, not stop at the decline.
    watcher = browser.new_page()
    watcher.goto(first.url)
    expect(watcher.locator("#payment-state")).to_have_attribute("data-state", "failed")

    first.go_back()
    expect(first).to_have_url(card_page)
    pay(first, "4242 4242 4242 4242")
    for page in (first, watcher):
        expect(page.locator("#payment-state")).to_have_attribute("data-state", "granted")
        expect(page.locator("[data-receipt=amount]").first).to_have_text("R499.00")
        expect(page.locator("[data-receipt=date]").first).to_contain_text("SAST")
        assert "not charged" not in page.locator("#payment-state").inner_text().lower()
    states = watcher.evaluate("window.__paymentStates")
    assert states[0] == "failed" and states[-1] == "granted", states  # turned by itself, no reload
    both_widths(first, shoot, "2-return-success")


def test_a_second_device_signs_in_by_the_emailed_link_and_opens_the_course(live_app, browser, shoot,
                                                                           playwright_driver, tmp_path, smtp_server):
    app, server = live_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    open_shop(app)
    paying = browser.new_page()
    enroll(paying, server.url, "thandi@example.com")
    pay(paying, "4242 4242 4242 4242")
    expect(paying.locator("#payment-state")).to_have_attribute("data-state", "granted")
    expect(paying.locator("#receipt-emailed")).to_contain_text("thandi@example.com")

    phone = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "second-profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
        viewport={"width": 390, "height": 844})
    phone.set_default_timeout(TIMEOUT_MS)
    try:
        page = phone.new_page()
        page.goto(server.url + "/learn/" + SLUG)
        expect(page).to_have_url(re.compile(r"/account/sign-in$"))  # not signed in yet
        page.set_viewport_size({"width": 1280, "height": 900})
        both_widths(page, shoot, "3-sign-in")
        page.fill("input[name=email]", "thandi@example.com")
        page.get_by_role("button", name="Email me a sign-in link").click()
        expect(page.locator("#sign-in-sent")).to_contain_text("If this address has courses, we sent a link")
        sign_in_emails = [m for m in deliver_emails(app, smtp_server) if "sign-in link" in m["subject"]]
        assert len(sign_in_emails) == 1
        page.goto(LINK.search(sign_in_emails[0]["body"]).group(1))
        expect(page).to_have_url(re.compile(r"/account/courses$"))
        expect(page.get_by_role("link", name=f"Open {TITLE}")).to_be_visible()
        both_widths(page, shoot, "4-my-courses")
        page.get_by_role("link", name=f"Open {TITLE}").click()
        expect(page).to_have_url(re.compile(rf"/learn/{SLUG}$"))
        expect(page.get_by_text("Welcome, Thandi Nkosi")).to_be_visible()
    finally:
        phone.close()


def test_a_revoke_in_the_admin_reaches_the_learners_open_page(live_app, browser, shoot):
    app, server = live_app()
    open_shop(app, admin=True)
    learner = browser.new_page()
    enroll(learner, server.url, "sipho@example.com")
    pay(learner, "4242 4242 4242 4242")
    expect(learner.locator("#payment-state")).to_have_attribute("data-state", "granted")
    with app.app_context():
        payment_id = db.session.execute(select(Payment.id)).scalar_one()
        db.session.commit()

    admin = browser.new_page()
    admin.goto(f"{server.url}/admin/login?next=/admin/payments/{payment_id}")  # no dashboard download to abort
    admin.fill("input[name=email]", ADMIN_EMAIL)
    admin.fill("input[name=password]", ADMIN_PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    admin.wait_for_url(re.compile(rf"/admin/payments/{payment_id}$"))
    admin.locator("#revoke-link").click()  # the console asks for a reason and a confirmation
    admin.fill("input[name=reason]", "chargeback from the bank")
    admin.locator("input[name=confirm]").check()
    admin.get_by_role("button", name="Revoke access").click()
    expect(admin.locator(".flash.ok")).to_contain_text("Access revoked")

    expect(learner.locator("#payment-state")).to_have_attribute("data-state", "revoked")
    expect(learner.get_by_role("heading", name=f"Access to {TITLE} has been withdrawn")).to_be_visible()
    states = learner.evaluate("window.__paymentStates")
    assert states[-2:] == ["granted", "revoked"], states
    shoot(learner, "5-revoked")
