"""A learner buys a course and an operator runs the admin pages, in a real browser over real HTTP."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from cardpay.core.extensions import db
from cardpay.models import Enrollment, Payment
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, Seed
from tests.browser.browser_helpers import SLUG, TITLE, open_shop

pytestmark = pytest.mark.browser
SLOW_MS = 45_000  # a manual-review page checks every 15 s; a loaded machine gets three tries


def buy(page, base_url, email, shoot):
    """Pick the course, Enroll Now, type the test card and pay: as a learner would."""
    page.goto(base_url + "/")
    page.locator(f"a[href='/courses/{SLUG}']").first.click()
    page.fill("input[name=email]", email)
    page.fill("input[name=name]", "Thandi Nkosi")
    shoot(page, "1-course")
    page.get_by_role("button", name="Enroll Now").click()
    page.fill("input[name=card_number]", "4242 4242 4242 4242")
    page.fill("input[name=expiry]", "12/34")
    page.fill("input[name=cvv]", "123")
    shoot(page, "2-card-page")
    page.get_by_role("button", name="Pay", exact=True).click()
    page.wait_for_url(re.compile(r"/payments/[^/]+/return"))


def test_learner_buys_a_course_and_sees_access_appear_without_a_reload(live_app, browser, shoot):
    # The callback is held back 3 s, so the page is seen confirming before access arrives.
    app, server = live_app(SANDBOX_CALLBACK_DELAY_SECONDS=3)
    open_shop(app)
    page = browser.new_page()
    loads = []
    page.on("load", lambda p: loads.append(p.url))

    buy(page, server.url, "thandi@example.com", shoot)
    state = page.locator("#payment-state")
    expect(state).to_have_attribute("data-state", "granted")
    expect(page.locator("#course-access")).to_be_visible()
    shoot(page, "3-access")

    assert len([url for url in loads if "/return" in url]) == 1, loads  # access came without a reload
    states = page.evaluate("window.__paymentStates")
    assert states[0] == "confirming" and states[-1] == "granted", states
    with app.app_context():
        payment = db.session.execute(select(Payment)).scalar_one()
        assert payment.status == "succeeded" and payment.enrollment.status == "active"
    page.locator("#course-access").click()
    expect(page).to_have_url(re.compile(r"/learn/"))
    expect(page.get_by_text(TITLE).first).to_be_visible()


def test_operator_sees_the_payment_resolves_an_alert_and_approves_the_learner(live_app, browser, shoot):
    # Fast track off (the partial rollback of the runbook): every paid enrollment waits for a person.
    app, server = live_app(ENABLE_CARD_PAYMENT_FAST_TRACK=False)
    open_shop(app, admin=True)
    with app.app_context():
        Seed().alert(severity="critical", message="approval_processing took 9100 ms (browser test)")
        db.session.commit()

    learner = browser.new_page()
    buy(learner, server.url, "sipho@example.com", shoot)
    expect(learner.locator("#payment-state")).to_have_attribute("data-state", "manual_review", timeout=SLOW_MS)
    shoot(learner, "3-learner-waits")

    admin = browser.new_page()
    admin.goto(server.url + "/admin/card-payment-monitoring")
    expect(admin).to_have_url(re.compile(r"/admin/login"))
    admin.fill("input[name=email]", ADMIN_EMAIL)
    admin.fill("input[name=password]", ADMIN_PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    expect(admin).to_have_url(re.compile(r"/admin/card-payment-monitoring"))
    expect(admin.locator("#payments-attempted")).to_have_text("1")
    expect(admin.locator("#review-queue")).to_have_text("1")
    expect(admin.locator("[data-chart=payments][data-drawn=true] canvas").first).to_be_attached()
    shoot(admin, "4-dashboard")

    admin.get_by_role("link", name="Alerts", exact=True).click()
    row = admin.locator("#open-alerts-table tr", has_text="9100 ms (browser test)")
    row.locator("input[name=reason]").fill("slow database during the drill; recovered")
    row.get_by_role("button", name="Resolve").click()
    expect(admin.locator(".flash.ok")).to_contain_text("resolved")
    expect(admin.locator("#resolved-alerts-table")).to_contain_text("9100 ms (browser test)")
    expect(admin.locator("#open-alerts-table")).not_to_contain_text("9100 ms (browser test)")
    shoot(admin, "5-alert-resolved")

    admin.get_by_role("link", name="Manual review").click()
    item = admin.locator("#review-open [data-item-id]", has_text="sipho@example.com")
    expect(item.locator(".ikhokha-says")).to_contain_text("Paid")  # getStatus confirms: no override needed
    item.locator("form.decide input[name=reason]").fill("paid: confirmed in the iKhokha portal")
    item.get_by_role("button", name="Approve").click()
    expect(admin.locator(".flash.ok")).to_contain_text("approved")
    expect(admin.locator("#review-decided")).to_contain_text("paid: confirmed in the iKhokha portal")
    shoot(admin, "6-approved")

    # The learner's page, still open, turns to access by itself.
    expect(learner.locator("#payment-state")).to_have_attribute("data-state", "granted", timeout=SLOW_MS)
    expect(learner.locator("#course-access")).to_be_visible()
    shoot(learner, "7-learner-has-access")

    admin.get_by_role("link", name="Payments").click()
    admin.fill("input[name=q]", "sipho@")
    admin.get_by_role("button", name="Search").click()
    expect(admin.locator("#payments-table .enrollment-status")).to_have_text(["Active"])
    admin.get_by_role("link", name="Monitoring").click()
    expect(admin.locator("#payments-succeeded")).to_have_text("1")
    shoot(admin, "8-dashboard-after")
    with app.app_context():
        enrollment = db.session.execute(select(Enrollment)).scalar_one()
        assert enrollment.status == "active"
