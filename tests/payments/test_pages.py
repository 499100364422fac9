"""The learner's pages: catalogue, course page with Enroll Now, the form's validation and CSRF."""

import re

from cardpay.core.extensions import db
from cardpay.models import Learner, Payment
from tests.payments.conftest import add_course


def test_catalogue_lists_courses_on_sale_with_their_price(app, client):
    add_course(app)
    add_course(app, slug="old-course", title="Retired Course", active=False)
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Python Foundations" in text and "R499.00" in text and 'href="/courses/python-foundations"' in text
    assert "Retired Course" not in text
    assert client.get("/courses/old-course").status_code == 404


def test_course_page_has_the_pinned_enroll_form(app, client):
    add_course(app)
    text = client.get("/courses/python-foundations").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/courses/python-foundations/enroll".*?</form>', text, re.S).group(0)
    assert re.search(r'<input id="email" name="email" type="email"', form)
    assert 'name="name"' in form
    assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]+">', form)
    assert re.search(r'<button type="submit"[^>]*>Enroll Now</button>', form)
    assert 'for="email"' in form and 'for="name"' in form  # labelled for screen readers


def test_pages_use_only_local_assets_and_are_mobile_ready(app, client):
    add_course(app)
    text = client.get("/courses/python-foundations").get_data(as_text=True)
    assert 'name="viewport"' in text and 'lang="en"' in text
    assert not re.search(r'(src|href)="(https?:)?//', text)
    css = client.get("/static/cardpay.css")
    assert css.status_code == 200 and "@media" in css.get_data(as_text=True)
    css.close()
    js = client.get("/static/return.js")
    assert js.status_code == 200
    js.close()


def test_unknown_course_is_a_friendly_page(client):
    page = client.get("/courses/no-such-course")
    assert page.status_code == 404
    assert "could not find that course" in page.get_data(as_text=True)


def test_invalid_form_shows_what_to_fix_and_creates_nothing(app, client):
    add_course(app)
    page = client.post("/courses/python-foundations/enroll", data={"email": "not-an-email", "name": "  "})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "Enter a valid email address" in text and "Enter your name." in text
    assert 'value="not-an-email"' in text  # what the learner typed is kept
    with app.app_context():
        assert db.session.query(Learner).count() == 0 and db.session.query(Payment).count() == 0


def test_enroll_without_csrf_token_is_refused_when_csrf_is_on(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    add_course(app)
    client = app.test_client()
    refused = client.post("/courses/python-foundations/enroll", data={"email": "a@example.com", "name": "A"})
    assert refused.status_code == 400
    forged = client.post("/courses/python-foundations/enroll",
                         data={"email": "a@example.com", "name": "A", "csrf_token": "forged"})
    assert forged.status_code == 400
    with app.app_context():
        assert db.session.query(Learner).count() == 0 and db.session.query(Payment).count() == 0


def test_enroll_with_the_pages_csrf_token_goes_to_the_card_page(shop):
    running = shop(WTF_CSRF_ENABLED=True)
    browser = running.browser()
    response = running.enroll(browser)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(running.url + "/sandbox/ikhokha/pay/")
    # The same form without the session's token is refused.
    other = running.browser()
    other.get(f"{running.url}/courses/{running.slug}", timeout=10)
    stolen = other.post(f"{running.url}/courses/{running.slug}/enroll", allow_redirects=False, timeout=10,
                        data={"email": "b@example.com", "name": "B", "csrf_token": "x"})
    assert stolen.status_code == 400
    assert len(running.payments()) == 1
