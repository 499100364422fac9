"""The admin's course pages: list, create, edit; validation shown; every change audit-logged; a price change
never alters a paylink already issued."""

from cardpay.admin import auth
from cardpay.core.extensions import db
from cardpay.models import Payment
from tests.admin.admin_helpers import ADMIN_EMAIL, csrf_token, sign_in
from tests.catalogue.catalogue_helpers import add_course, add_payment, audit_rows, course, slugs

NEW = {"slug": "data-basics", "title": "Data Basics", "description": "Tables and charts.", "price": "1234.00",
       "access_url": "", "active": "y"}


def test_the_course_list_needs_an_admin(client):
    response = client.get("/admin/courses")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_the_list_shows_price_in_rands_whether_on_sale_and_where_it_lives(app, admin_client):
    add_course(app, price_cents=123400, access_url="https://learn.example.com/python")
    add_course(app, slug="old-course", title="Old Course", price_cents=9900, active=False)
    page = admin_client.get("/admin/courses").get_data(as_text=True)
    assert "R1,234.00" in page and "R99.00" in page
    assert "https://learn.example.com/python" in page
    assert 'href="/admin/courses"' in page  # linked from the admin nav
    assert '<td class="active">yes</td>' in page and '<td class="active">no</td>' in page


def test_an_admin_creates_a_course_and_the_audit_log_says_so(app, admin_client):
    assert admin_client.get("/admin/courses/new").status_code == 200
    response = admin_client.post("/admin/courses/new", data=NEW)
    assert response.status_code == 302
    listed = admin_client.get("/admin/courses").get_data(as_text=True)
    assert "Created Data Basics (R1,234.00)." in listed
    created = course(app, "data-basics")
    assert (created.price_cents, created.active, created.access_url) == (123400, True, None)
    ((actor, target, details),) = audit_rows(app, "course_created")
    assert actor == ADMIN_EMAIL and target == str(created.id)
    assert details["slug"] == "data-basics" and details["price_cents"] == 123400


def test_invalid_values_are_shown_and_nothing_is_saved(app, admin_client):
    bad = {**NEW, "slug": "Bad Slug!", "title": "", "price": "12.345", "access_url": "http://insecure.example.com"}
    response = admin_client.post("/admin/courses/new", data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "nothing was saved" in page
    assert "lower-case letters, digits and single dashes" in page
    assert "Enter a title." in page
    assert "at most two decimals" in page
    assert "Enter an https:// address" in page
    assert slugs(app) == [] and audit_rows(app, "course_created") == []


def test_a_slug_in_use_is_refused(app, admin_client):
    add_course(app, slug="data-basics")
    response = admin_client.post("/admin/courses/new", data=NEW)
    assert response.status_code == 400
    assert "Another course already uses the slug data-basics." in response.get_data(as_text=True)


def test_an_admin_edits_a_course_and_the_audit_log_records_what_changed(app, admin_client):
    course_id = add_course(app)
    form = admin_client.get(f"/admin/courses/{course_id}/edit").get_data(as_text=True)
    assert 'value="499.00"' in form
    response = admin_client.post(f"/admin/courses/{course_id}/edit", data={
        "title": "Intro to Python", "description": "Learn Python.", "price": "599.50",
        "access_url": "https://learn.example.com/python"})  # "active" left unticked: off sale
    assert response.status_code == 302
    assert "Saved Intro to Python: price, active, access URL." in admin_client.get("/admin/courses").get_data(
        as_text=True)
    edited = course(app, "intro-to-python")
    assert (edited.price_cents, edited.active, edited.access_url) == (59950, False, "https://learn.example.com/python")
    ((actor, target, details),) = audit_rows(app, "course_updated")
    assert actor == ADMIN_EMAIL and target == str(course_id)
    assert details["changes"] == {"price_cents": [49900, 59950], "active": [True, False],
                                  "access_url": [None, "https://learn.example.com/python"]}


def test_saving_without_a_change_writes_no_audit_row(app, admin_client):
    course_id = add_course(app)
    admin_client.post(f"/admin/courses/{course_id}/edit", data={
        "title": "Intro to Python", "description": "Learn Python.", "price": "499.00", "active": "y"})
    assert "nothing changed" in admin_client.get("/admin/courses").get_data(as_text=True)
    assert audit_rows(app, "course_updated") == []


def test_a_price_change_never_alters_a_paylink_already_issued(app, admin_client):
    course_id = add_course(app, price_cents=49900)
    token = add_payment(app, course_id, status="pending")
    response = admin_client.post(f"/admin/courses/{course_id}/edit", data={
        "title": "Intro to Python", "description": "Learn Python.", "price": "799.00", "active": "y"})
    assert response.status_code == 302
    assert course(app, "intro-to-python").price_cents == 79900
    with app.app_context():
        payment = db.session.execute(db.select(Payment).where(Payment.token == token)).scalar_one()
        assert (payment.amount_cents, payment.status, payment.paylink_url) == (49900, "pending",
                                                                              "https://pay.example/x")


def test_a_course_with_payments_is_never_deleted(app, admin_client):
    course_id = add_course(app)
    add_payment(app, course_id, status="succeeded")
    unpaid_id = add_course(app, slug="never-sold", title="Never Sold")
    response = admin_client.post(f"/admin/courses/{course_id}/delete", follow_redirects=True)
    assert "has payments, so it stays on record: deactivate it instead." in response.get_data(as_text=True)
    admin_client.post(f"/admin/courses/{unpaid_id}/delete")
    assert slugs(app) == ["intro-to-python"]
    assert [details["slug"] for _, _, details in audit_rows(app, "course_deleted")] == ["never-sold"]


def test_a_course_form_without_its_csrf_token_is_refused(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        auth.create_admin(ADMIN_EMAIL, "correct horse battery staple")
    browser = app.test_client()
    assert sign_in(browser).status_code == 302
    refused = browser.post("/admin/courses/new", data=NEW)
    assert refused.status_code == 400 and "The CSRF token is missing." in refused.get_data(as_text=True)
    assert slugs(app) == []
    token = csrf_token(browser.get("/admin/courses/new").get_data(as_text=True))
    assert browser.post("/admin/courses/new", data={**NEW, "csrf_token": token}).status_code == 302
    assert slugs(app) == ["data-basics"]
