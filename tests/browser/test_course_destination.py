"""An operator creates a course in the admin with its own access URL; a learner buys it in the sandbox and the
course button takes them to the business's learning platform (SPEC §13)."""

import re

import pytest
from playwright.sync_api import expect

from cardpay.admin import auth
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.browser
PLATFORM = "https://learn.example.com/courses/data-basics"


def test_a_course_created_in_the_admin_sends_its_buyer_to_its_access_url(live_app, browser, shoot):
    app, server = live_app()
    with app.app_context():
        auth.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    # The platform is not on this network: the browser is answered for it, and records who arrived.
    arrived = []
    browser.route(re.compile(r"https://learn\.example\.com/.*"),
                  lambda route: (arrived.append(route.request.url),
                                 route.fulfill(status=200, content_type="text/html", body="<h1>Learning platform</h1>")))

    admin = browser.new_page()
    # Straight to the new-course form: leaving the dashboard while its chart script still loads would
    # abort that download on the development server.
    admin.goto(server.url + "/admin/login?next=/admin/courses/new")
    admin.fill("input[name=email]", ADMIN_EMAIL)
    admin.fill("input[name=password]", ADMIN_PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    admin.wait_for_url(re.compile(r"/admin/courses/new$"))
    admin.wait_for_load_state("load")
    admin.fill("input[name=slug]", "data-basics")
    admin.fill("input[name=title]", "Data Basics")
    admin.fill("textarea[name=description]", "Tables and charts.")
    admin.fill("input[name=price]", "1234.00")
    admin.fill("input[name=access_url]", PLATFORM)
    admin.check("input[name=active]")
    admin.get_by_role("button", name="Create course").click()
    expect(admin.locator("main")).to_contain_text("R1,234.00")
    shoot(admin, "1-course-created")

    learner = browser.new_page()
    learner.goto(server.url + "/courses/data-basics")
    learner.fill("input[name=email]", "thandi@example.com")
    learner.fill("input[name=name]", "Thandi Nkosi")
    learner.get_by_role("button", name="Enroll Now").click()
    learner.fill("input[name=card_number]", "4242 4242 4242 4242")
    learner.fill("input[name=expiry]", "12/34")
    learner.fill("input[name=cvv]", "123")
    learner.get_by_role("button", name="Pay", exact=True).click()
    expect(learner.locator("#payment-state")).to_have_attribute("data-state", "granted")
    shoot(learner, "2-access")
    learner.locator("#course-access").click()
    learner.wait_for_url(PLATFORM)
    expect(learner.locator("h1")).to_have_text("Learning platform")
    assert arrived == [PLATFORM]
