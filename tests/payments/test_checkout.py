"""Enroll Now: rows, the paylink request iKhokha receives, the redirect, and never charging twice."""

from cardpay.core.extensions import db
from cardpay.models import Enrollment, Learner, Payment
from cardpay.payments import approvals
from tests.conftest import free_port
from tests.payments.conftest import add_course


def test_enroll_creates_the_rows_and_redirects_to_the_paylink(shop):
    running = shop()
    response = running.enroll(email="  Thandi@Example.com ", name=" Thandi Nkosi ")
    assert response.status_code == 303
    [payment] = running.payments()
    assert response.headers["Location"] == payment.paylink_url
    assert payment.status == "pending" and payment.paylink_created_at is not None
    assert payment.amount_cents == 49900 and payment.currency == "ZAR"
    assert payment.external_transaction_id.startswith("cp_") and len(payment.token) >= 43
    with running.app.app_context():
        learner = db.session.query(Learner).one()
        assert (learner.email, learner.name) == ("thandi@example.com", "Thandi Nkosi")
        assert db.session.query(Enrollment).one().status == "pending_payment"
    paylink = running.sandbox.get(payment.paylink_id)
    assert paylink.amount == 49900 and paylink.currency == "ZAR"
    assert paylink.external_transaction_id == payment.external_transaction_id
    return_url = f"{running.url}/payments/{payment.token}/return"
    assert paylink.urls == {"callbackUrl": running.url + "/webhooks/ikhokha", "successPageUrl": return_url,
                            "failurePageUrl": return_url + "?outcome=failure",
                            "cancelUrl": return_url + "?outcome=cancel"}


def test_second_enroll_while_pending_reuses_the_same_paylink(shop):
    running = shop()
    browser = running.browser()
    first = running.enroll(browser)
    second = running.enroll(browser, name="Thandi N.")
    assert first.headers["Location"] == second.headers["Location"]
    assert len(running.payments()) == 1
    assert len(running.sandbox.paylinks) == 1


def test_enroll_after_a_declined_card_starts_a_new_payment(shop):
    running = shop()
    browser = running.browser()
    first = running.enroll(browser)
    running.pay(browser, first.headers["Location"], card="4000000000000002")
    with running.app.app_context():
        payment = db.session.get(Payment, running.payments()[0].id)
        approvals.apply_failure(payment, "fast_track")  # what the FAILURE callback records
        db.session.commit()
    second = running.enroll(browser)
    assert second.status_code == 303 and second.headers["Location"] != first.headers["Location"]
    assert [p.status for p in running.payments()] == ["failed", "pending"]


def test_gateway_down_shows_a_friendly_page_and_leaves_the_payment_created(app_factory):
    app = app_factory(IKHOKHA_API_URL=f"http://127.0.0.1:{free_port()}/sandbox/ikhokha/api")
    add_course(app)
    page = app.test_client().post("/courses/python-foundations/enroll",
                                  data={"email": "thandi@example.com", "name": "Thandi"})
    assert page.status_code == 503
    assert "Nothing was charged" in page.get_data(as_text=True)
    with app.app_context():
        payment = db.session.query(Payment).one()
        assert payment.status == "created" and payment.paylink_id is None


def test_gateway_refusing_our_credentials_is_also_nothing_charged(shop):
    running = shop(IKHOKHA_API_SECRET="not-the-sandbox-secret")
    page = running.enroll()
    assert page.status_code == 503 and "Nothing was charged" in page.text
    assert [p.status for p in running.payments()] == ["created"]
    assert running.sandbox.paylinks == {}


def _grant(running):
    with running.app.app_context():
        payment = db.session.get(Payment, running.payments()[-1].id)
        approvals.apply_success(payment, "fast_track")
        db.session.commit()


def test_already_enrolled_learner_is_not_charged_again(shop):
    running = shop()
    payer = running.browser()
    running.enroll(payer)
    _grant(running)
    # Another browser that only knows the email: asked to sign in by email, shown no one's course link.
    page = running.enroll(running.browser())
    assert page.status_code == 200
    assert "If this address already has the course, sign in by email" in page.text
    assert "Nothing was charged" in page.text and 'href="/account/sign-in"' in page.text
    assert "/learn/" not in page.text
    # The browser that paid is taken back to its confirmation page, which shows the access.
    back = running.enroll(payer)
    assert back.status_code == 303
    token = running.payments()[0].token
    assert back.headers["Location"].endswith(f"/payments/{token}/return")
    assert 'data-state="granted"' in payer.get(running.url + back.headers["Location"], timeout=10).text
    assert len(running.payments()) == 1 and len(running.sandbox.paylinks) == 1
