"""Sign-in by email link, my courses and /learn/<slug> (SPEC §12): one answer for every address, a link that
works once and for LEARNER_LINK_MINUTES, a session that sign-out ends, and the course only with access."""

import re

from sqlalchemy import select, update

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.learners import mailbox
from cardpay.models import Course, Enrollment, SignInLink
from tests.learners.learner_helpers import LINK, deliver, paid, session_of

CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')


def _buyer(shop, email="thandi@example.com"):
    browser = shop.browser()
    paylink = shop.enroll(browser, email=email, name="Thandi Nkosi").headers["Location"]
    token = session_of(shop.app, browser)["payment_tokens"][0]
    shop.pay(browser, paylink)
    paid(shop, token)
    deliver(shop.app)
    shop.smtp.messages.clear()  # the receipt; these tests read the sign-in emails


def _ask(shop, browser, email):
    return browser.post(shop.url + "/account/sign-in", data={"email": email}, allow_redirects=False, timeout=10)


def _emailed_link(shop):
    deliver(shop.app)
    assert len(shop.smtp.messages) == 1, [m["subject"] for m in shop.smtp.messages]
    message = shop.smtp.messages.pop()
    assert message["subject"] == "Your sign-in link to your courses"
    return LINK.search(message["body"]).group(1)


def test_known_and_unknown_addresses_get_the_same_page_and_only_the_known_one_an_email(store):
    shop = store()
    _buyer(shop)
    known = _ask(shop, shop.browser(), "thandi@example.com")
    unknown = _ask(shop, shop.browser(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert "If this address has courses, we sent a link to it" in known.text
    assert CSRF_VALUE.sub("", known.text) == CSRF_VALUE.sub("", unknown.text)
    assert known.headers.get("Set-Cookie") is None or "learner_id" not in session_of(shop.app, shop.browser())
    link = _emailed_link(shop)  # exactly one email: the known address's
    assert link.startswith(shop.url + "/account/sign-in/")


def test_the_link_signs_in_once_lists_my_courses_and_opens_the_course(store):
    shop = store()
    _buyer(shop)
    laptop = shop.browser()
    form = laptop.get(shop.url + "/account/sign-in", timeout=10)
    assert form.status_code == 200 and 'name="email"' in form.text
    _ask(shop, laptop, "Thandi@Example.com ")
    link = _emailed_link(shop)
    with shop.app.app_context():  # stored hashed: the token itself is nowhere in the table
        stored = db.session.execute(select(SignInLink.token_hash)).scalars().all()
        db.session.commit()
    assert link.rsplit("/", 1)[1] not in stored and len(stored) == 2  # the receipt's link and this one

    opened = laptop.get(link, allow_redirects=False, timeout=10)
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/account/courses")
    mine = laptop.get(shop.url + "/account/courses", timeout=10)
    assert "Signed in as <strong>thandi@example.com</strong>" in mine.text and "Open Python Foundations" in mine.text
    room = laptop.get(shop.url + "/learn/python-foundations", timeout=10)
    assert room.status_code == 200 and "Welcome, Thandi Nkosi" in room.text

    again = shop.browser().get(link, allow_redirects=False, timeout=10)
    assert again.status_code == 410 and "already used" in again.text and 'href="/account/sign-in"' in again.text
    assert "learner_id" not in session_of(shop.app, shop.browser())

    out = laptop.post(shop.url + "/account/sign-out", allow_redirects=False, timeout=10)
    assert out.status_code == 303
    after = laptop.get(shop.url + "/learn/python-foundations", allow_redirects=False, timeout=10)
    assert after.status_code == 303 and after.headers["Location"].endswith("/account/sign-in")


def test_an_expired_or_unknown_link_offers_a_new_one(store):
    shop = store(LEARNER_LINK_MINUTES=30)
    _buyer(shop)
    browser = shop.browser()
    _ask(shop, browser, "thandi@example.com")
    link = _emailed_link(shop)
    clock.advance(seconds=31 * 60)
    expired = browser.get(link, allow_redirects=False, timeout=10)
    assert expired.status_code == 410 and "expired" in expired.text and 'id="new-link"' in expired.text
    unknown = browser.get(shop.url + "/account/sign-in/" + "x" * 43, allow_redirects=False, timeout=10)
    assert unknown.status_code == 400 and 'id="new-link"' in unknown.text
    assert browser.get(shop.url + "/account/sign-in/" + "y" * 500, timeout=10).status_code == 400
    assert unknown.headers["Cache-Control"] == "no-store"


def test_the_course_by_slug_needs_access_and_follows_the_access_url(store):
    shop = store()
    _buyer(shop)
    with shop.app.app_context():
        db.session.add(Course(slug="other", title="Other Course", description="", price_cents=100, currency="ZAR"))
        db.session.execute(update(Course).where(Course.slug == "python-foundations")
                           .values(access_url="https://learn.example.com/python"))
        db.session.commit()
    browser = shop.browser()
    _ask(shop, browser, "thandi@example.com")
    browser.get(_emailed_link(shop), timeout=10)
    course = browser.get(shop.url + "/learn/python-foundations", allow_redirects=False, timeout=10)
    assert course.status_code == 303 and course.headers["Location"] == "https://learn.example.com/python"
    other = browser.get(shop.url + "/learn/other", allow_redirects=False, timeout=10)
    assert other.status_code == 403 and "You do not have access to Other Course" in other.text
    assert browser.get(shop.url + "/learn/no-such-course", timeout=10).status_code == 404
    with shop.app.app_context():  # revoked: gone from my courses, and the course answers 403
        db.session.execute(update(Enrollment).values(status="revoked"))
        db.session.commit()
    assert browser.get(shop.url + "/learn/python-foundations", allow_redirects=False, timeout=10).status_code == 403
    assert 'id="no-courses"' in browser.get(shop.url + "/account/courses", timeout=10).text


def test_sign_in_requests_are_rate_limited_per_address_with_retry_after(store):
    shop = store(RATE_LIMITS_ENABLED=True)
    answers = [_ask(shop, shop.browser(), "someone@example.com").status_code for _ in range(6)]
    assert answers[:5] == [200] * 5 and answers[5] == 429
    limited = _ask(shop, shop.browser(), "someone@example.com")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert _ask(shop, shop.browser(), "other@example.com").status_code == 200  # another address is not blocked


def test_bad_input_is_a_400_page_never_a_500(store):
    shop = store()
    browser = shop.browser()
    for data in ({"email": "not-an-email"}, {}, {"email": "a" * 400 + "@example.com"}, {"email": b"\xff\xfe@x.y"}):
        answer = browser.post(shop.url + "/account/sign-in", data=data, timeout=10)
        assert answer.status_code == 400 and "Enter a valid email address" in answer.text


def test_the_development_mailbox_shows_learner_emails_and_is_off_without_the_sandbox(store, app_factory):
    shop = store()
    _buyer(shop)
    page = shop.browser().get(shop.url + "/sandbox/mailbox", timeout=10)
    assert page.status_code == 200 and "Your receipt: Python Foundations" in page.text and "R499.00" in page.text
    production_like = app_factory(SANDBOX_GATEWAY_ENABLED=False).test_client()
    assert production_like.get("/sandbox/mailbox").status_code == 404


def test_the_development_mailbox_reads_the_outbox_so_every_worker_shows_the_same_emails(store, app_factory):
    # A second app on the same database is a second gunicorn worker; forgetting what this process built
    # makes it a process of its own: the email queued by the first still shows, from the outbox.
    shop = store()
    _buyer(shop)
    mailbox.clear()
    other_worker = app_factory().test_client()
    page = other_worker.get("/sandbox/mailbox").get_data(as_text=True)
    assert "Your receipt: Python Foundations" in page and "thandi@example.com" in page
    with shop.app.app_context():
        links_made = db.session.query(SignInLink).count()
    # A reload shows the same email with the same link, and makes no new one.
    again = other_worker.get("/sandbox/mailbox").get_data(as_text=True)
    assert LINK.findall(again) == LINK.findall(page) != []
    with shop.app.app_context():
        assert db.session.query(SignInLink).count() == links_made
