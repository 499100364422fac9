"""The operator console in a real browser (SPEC §16): every admin page at 1280 and 390 px without the page
scrolling sideways, manual review with its facts and the override confirmation, replay from the callbacks page,
the payments CSV, revoke -> confirm -> restore, and chart axes with dates on the 7-day window."""

import csv
import io
import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from cardpay.admin import auth
from cardpay.core.extensions import db
from cardpay.models import AuditLog, Enrollment, Learner, ManualIntervention, Payment, WebhookEvent
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, Seed

pytestmark = pytest.mark.browser
SLUG = "intro-to-python"
WIDTHS = {"desktop": 1280, "phone": 390}


def enroll(server, email):
    """Enroll Now over HTTP as a learner's browser would; return the sandbox paylink URL."""
    session = requests.Session()
    answer = session.post(f"{server.url}/courses/{SLUG}/enroll", data={"email": email, "name": "Test Learner"},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    return session, answer.headers["Location"]


def _payment_id(app, email):
    with app.app_context():
        return db.session.execute(select(Payment.id).join(Enrollment, Payment.enrollment_id == Enrollment.id)
                                  .join(Learner, Enrollment.learner_id == Learner.id)
                                  .where(Learner.email == email)).scalar_one()


def _status(app, payment_id):
    """Read a payment's status in a short transaction of its own (an open one would block SQLite's writers)."""
    with app.app_context():
        status = db.session.execute(select(Payment.status).where(Payment.id == payment_id)).scalar_one()
        db.session.rollback()
        return status


def wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def open_console(live_app):
    """A live cardpay with fast track off, a course, an admin, and the rows an operator meets:
    a paid payment waiting for review (iKhokha says paid), a never-charged one whose callback carried
    another reference (iKhokha says not paid), a verified callback whose processing failed, a refused
    callback, an alert, and a week of older payments for the charts."""
    app, server = live_app(ENABLE_CARD_PAYMENT_FAST_TRACK=False)
    seed = Seed()
    with app.app_context():
        seed.course(SLUG, price=49900)
        auth.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        seed.alert(severity="warning", message="webhook_processing took 6200 ms (console test)")
        for day in range(7):
            seed.payment(status="succeeded" if day % 3 else "failed", age=timedelta(days=day, hours=3))
        db.session.commit()

    paid_session, paid_link = enroll(server, "paid@example.com")
    answer = paid_session.post(paid_link, data={"card_number": "4242 4242 4242 4242", "expiry": "12/34",
                                                "cvv": "123"}, allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.text
    paid_id = _payment_id(app, "paid@example.com")
    wait_for(lambda: _status(app, paid_id) == "manual_review")

    enroll(server, "never@example.com")
    never_id = _payment_id(app, "never@example.com")
    with app.app_context():
        payment = db.session.get(Payment, never_id)
        payment.status = "manual_review"
        db.session.add(ManualIntervention(payment_id=never_id, paylink_id=payment.paylink_id,
                                          reason="reference_mismatch", status="open",
                                          details={"status": "SUCCESS", "externalTransactionID": "CP-SOMEONE-ELSE"}))
        # A verified delivery for it whose processing failed half-way: replayable.
        db.session.add(WebhookEvent(path="/webhooks/ikhokha", remote_ip="127.0.0.1", headers={},
                                    body='{"paylinkID": "%s", "status": "FAILURE", "externalTransactionID": "%s"}'
                                    % (payment.paylink_id, payment.external_transaction_id),
                                    body_size=90, delivery_key=f"test-delivery-{never_id}", paylink_id=payment.paylink_id,
                                    callback_status="FAILURE", signature_valid=True, verdict="accepted",
                                    processing_status="failed", error="worker died", payment_id=never_id))
        db.session.commit()
    refused = requests.post(server.url + "/webhooks/ikhokha", data=b'{"paylinkID": "PLX"}',
                            headers={"Content-Type": "application/json"}, timeout=10)
    assert refused.status_code >= 400
    return app, server, paid_id, never_id


def sign_in(page, server):
    page.goto(server.url + "/admin/login")
    page.fill("input[name=email]", ADMIN_EMAIL)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/card-payment-monitoring"))
    page.wait_for_load_state("load")  # the chart script has arrived: leaving now aborts no download


def fits(page):
    """The page does not scroll sideways (tables scroll inside their own box)."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url}: page is {widths[0]} px wide in a {widths[1]} px window"


def test_every_admin_page_fits_a_phone_and_a_desktop(live_app, browser, shoot):
    app, server, paid_id, never_id = open_console(live_app)
    page = browser.new_page()
    sign_in(page, server)
    with app.app_context():
        event_id = db.session.execute(select(WebhookEvent.id).order_by(WebhookEvent.id)).scalars().first()
    pages = {"dashboard": "/admin/card-payment-monitoring?window=7d", "payments": "/admin/payments",
             "payment": f"/admin/payments/{paid_id}", "review": "/admin/manual-review",
             "callbacks": "/admin/callbacks", "callback": f"/admin/callbacks/{event_id}",
             "audit": "/admin/audit-log", "courses": "/admin/courses", "alerts": "/admin/alerts",
             "not-found": "/admin/no-such-page"}
    for size, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages.items():
            page.goto(server.url + path)
            expect(page.locator("main h1")).to_be_visible()
            if name == "dashboard":
                expect(page.locator("[data-chart=payments][data-drawn=true] canvas").first).to_be_attached()
            fits(page)
            shoot(page, f"{name}-{size}")
    # The admin 404 is inside the admin frame, not Werkzeug's page.
    response = page.goto(server.url + "/admin/no-such-page")
    assert response.status == 404
    expect(page.locator("header.bar")).to_contain_text("cardpay admin")
    expect(page.locator("main h1")).to_have_text("Not found")
    # Bad filters are a 400 page in the frame, never a 500.
    response = page.goto(server.url + "/admin/callbacks?from=2026-13-45")
    assert response.status == 400
    expect(page.locator("#error-message")).to_contain_text("YYYY-MM-DD")
    # At 390 px the menu is collapsed behind its button and opens without a page load.
    expect(page.locator(".bar nav")).to_be_hidden()
    page.locator("label.menu-button").click()
    expect(page.get_by_role("link", name="Callbacks")).to_be_visible()
    shoot(page, "menu-open-phone")


def test_manual_review_shows_the_facts_and_an_override_needs_a_tick(live_app, browser, shoot):
    app, server, paid_id, never_id = open_console(live_app)
    page = browser.new_page()
    sign_in(page, server)
    page.get_by_role("link", name="Manual review").click()
    with app.app_context():
        never = db.session.get(Payment, never_id)
        expected = never.external_transaction_id
        never_item = db.session.execute(select(ManualIntervention.id).where(
            ManualIntervention.payment_id == never_id)).scalar_one()
    never_card = page.locator(f"#item-{never_item}")
    expect(never_card.locator(".ref-expected")).to_have_text(expected)
    expect(never_card.locator(".ref-received")).to_contain_text("CP-SOMEONE-ELSE")
    expect(never_card.locator(".ref-received")).to_contain_text("differs")
    expect(never_card.locator(".ikhokha-says")).to_contain_text("Not paid")
    paid_card = page.locator("#review-open [data-item-id]", has_text="paid@example.com")
    expect(paid_card.locator(".ikhokha-says")).to_contain_text("Paid")
    expect(paid_card.locator("input[name=confirm]")).to_have_count(0)  # nothing to override
    assert never_card.locator("input[name=reason]").count() == 1  # one reason for both decisions
    shoot(page, "review-desktop")
    page.set_viewport_size({"width": 390, "height": 900})
    fits(page)
    shoot(page, "review-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    never_card.get_by_role("button", name="Check again").click()
    expect(page.locator(".flash.info")).to_contain_text("iKhokha says Not paid")

    never_card = page.locator(f"#item-{never_item}")
    never_card.locator("input[name=reason]").fill("learner sent proof of payment")
    never_card.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash.error")).to_contain_text("does not report this payment as paid")
    with app.app_context():
        assert db.session.get(ManualIntervention, never_item).status == "open"

    never_card = page.locator(f"#item-{never_item}")
    never_card.locator("input[name=reason]").fill("learner sent proof of payment")
    never_card.locator("input[name=confirm]").check()
    never_card.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash.ok")).to_contain_text("without iKhokha's confirmation")
    shoot(page, "review-override-approved")
    with app.app_context():
        row = db.session.execute(select(AuditLog).where(AuditLog.action == "admin_action")
                                 .order_by(AuditLog.id.desc())).scalars().first()
        assert row.details["action"] == "manual_review_approved_override"
        assert row.details["ikhokha_status"] == "PENDING" and row.details["override"] is True
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("#audit-table")).to_contain_text("approved against iKhokha (override)")


def test_replay_from_the_callbacks_page(live_app, browser, shoot):
    app, server, paid_id, never_id = open_console(live_app)
    page = browser.new_page()
    sign_in(page, server)
    page.get_by_role("link", name="Callbacks").click()
    table = page.locator("#callbacks-table")
    expect(table.locator("tbody tr")).to_have_count(3)  # the paid one, the failed one, the refused one
    expect(table).to_contain_text("Accepted")
    expect(table.locator(".verdict .badge.fail")).to_have_count(1)  # the refused delivery is listed too
    shoot(page, "callbacks-before-replay")
    failed_row = table.locator("tr", has_text="Failed")
    failed_row.locator("input[name=reason]").fill("worker died mid-way")
    failed_row.get_by_role("button", name="Replay").click()
    expect(page.locator(".flash.ok")).to_contain_text("replayed")
    expect(page.locator("#callback-processing")).not_to_contain_text("Failed")
    shoot(page, "callback-after-replay")
    with app.app_context():
        event = db.session.execute(select(WebhookEvent).where(WebhookEvent.payment_id == never_id)).scalar_one()
        assert event.processing_status not in ("failed", "received")
        actions = [r.details["action"] for r in db.session.execute(select(AuditLog)).scalars()
                   if r.action == "admin_action"]
        assert "callback_replayed" in actions
    page.goto(server.url + "/admin/callbacks?status=rejected")
    expect(page.locator("#callbacks-table tbody tr")).to_have_count(1)


def test_csv_download_and_revoke_confirm_restore(live_app, browser, shoot):
    app, server, paid_id, never_id = open_console(live_app)
    page = browser.new_page()
    sign_in(page, server)
    page.get_by_role("link", name="Payments").click()
    page.select_option("select[name=status]", "succeeded")
    page.get_by_role("button", name="Search").click()
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {r["status"] for r in rows} == {"succeeded"}
    assert all(re.fullmatch(r"[0-9]+\.[0-9]{2}", r["amount"]) and int(r["amount_cents"]) == 49900 for r in rows)
    assert all(r["created"].endswith("SAST") and r["created_utc"].endswith("Z") for r in rows)

    with app.app_context():
        target = db.session.execute(select(Payment.id).where(Payment.status == "succeeded")
                                    .order_by(Payment.id)).scalars().first()
    page.goto(f"{server.url}/admin/payments/{target}")
    expect(page.locator("#enrollment-status")).to_have_text("Active")
    page.locator("#revoke-link").click()
    expect(page.locator("main h1")).to_have_text("Revoke access?")
    page.fill("input[name=reason]", "refunded on request")
    shoot(page, "revoke-confirm")
    page.get_by_role("button", name="Revoke access").click()  # the browser refuses: the tick is required
    expect(page.locator("main h1")).to_have_text("Revoke access?")
    page.locator("input[name=confirm]").check()
    page.get_by_role("button", name="Revoke access").click()
    expect(page.locator(".flash.ok")).to_contain_text("Access revoked")
    expect(page.locator("#enrollment-status")).to_have_text("Revoked")
    page.locator("form.restore input[name=reason]").fill("refund cancelled")
    page.get_by_role("button", name="Restore access").click()
    expect(page.locator(".flash.ok")).to_contain_text("Access restored")
    expect(page.locator("#enrollment-status")).to_have_text("Active")
    expect(page.locator("#timeline")).to_contain_text("Access revoked")
    expect(page.locator("#timeline")).to_contain_text("Access restored")
    shoot(page, "payment-restored")
    stamps = page.locator("#timeline time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert stamps == sorted(stamps), stamps


def test_chart_axes_show_dates_on_the_week(live_app, browser, shoot):
    app, server, paid_id, never_id = open_console(live_app)
    page = browser.new_page()
    sign_in(page, server)
    for size, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(server.url + "/admin/card-payment-monitoring?window=7d")
        chart = page.locator("[data-chart=payments][data-drawn=true]")
        expect(chart).to_have_attribute("data-x-ticks", re.compile(r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"))
        ticks = chart.get_attribute("data-x-ticks")
        assert all(re.search(r"[0-9]{1,2} [A-Z][a-z]{2}", t) for t in json.loads(ticks)), ticks
        # Hover shows the bucket's values in the legend.
        over = chart.locator(".u-over")
        box = over.bounding_box()
        over.hover(position={"x": box["width"] * 0.9, "y": box["height"] / 2})
        expect(chart.locator(".u-legend .u-series").first).to_contain_text(re.compile(r"[0-9]{1,2} [A-Z][a-z]{2}"))
        page.locator("#chart-data summary").click()
        expect(page.locator("#chart-table tbody tr").first).to_be_visible()
        fits(page)
        shoot(page, f"dashboard-7d-{size}")
