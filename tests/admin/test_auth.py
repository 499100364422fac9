"""Who gets into the admin area: nobody anonymous, no wrong password, no forged form (throttling: test_throttle.py)."""

import pytest
from sqlalchemy import select

import config as cardpay_config
from cardpay.core.extensions import db
from cardpay.models import AdminUser, AuditLog, CardPaymentAlert, ManualIntervention
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token, sign_in

PUBLIC = {"admin.login", "admin.login_code", "admin.static"}


def admin_rules(app, ids=None):
    """Every /admin URL rule and method except the public ones, with ids from ``ids`` (else 1) as arguments."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in PUBLIC:
            continue
        args = {name: (ids or {}).get(name, 1) for name in rule.arguments}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, rule.build(args)[1]


def audit_actions(app, action):
    with app.app_context():
        return db.session.execute(select(AuditLog).where(AuditLog.action == action)
                                  .order_by(AuditLog.id)).scalars().all()


def test_every_admin_route_refuses_anonymous_users_and_changes_nothing(app, client, seed):
    with app.app_context():
        alert = seed.alert(severity="critical")
        item = seed.review(seed.payment(status="pending"))
        db.session.commit()
        alert_id, item_id = alert.id, item.id
    tried = list(admin_rules(app))
    assert {"/admin/card-payment-monitoring", "/admin/api/metrics/summary"} <= {url for _, _, url in tried}
    assert any(method == "POST" for _, method, _ in tried)
    for rule, method, url in tried:
        response = client.open(url, method=method)
        if url.startswith("/admin/api/"):
            assert response.status_code == 401, url
            assert response.get_json()["error"] == "login_required"
        else:
            assert response.status_code == 302, (method, url)
            assert "/admin/login" in response.headers["Location"]
    with app.app_context():
        assert db.session.get(CardPaymentAlert, alert_id).resolved is False
        assert db.session.get(ManualIntervention, item_id).status == "open"


def test_login_page_and_assets_are_public_and_the_rest_is_not(client):
    assert client.get("/admin/login").status_code == 200
    with client.get("/admin/static/charts.js") as script:
        assert script.status_code == 200 and b"new uPlot(" in script.data
    with client.get("/admin/static/vendor/uPlot.iife.min.js") as vendored:
        assert vendored.status_code == 200 and b"uPlot" in vendored.data
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("email, password", [(ADMIN_EMAIL, "wrong password 123"), ("nobody@example.com",
                                                                                   ADMIN_PASSWORD)])
def test_wrong_password_or_unknown_email_gets_the_same_refusal_and_no_session(app, client, admin, email, password):
    response = sign_in(client, email, password)
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/admin/card-payment-monitoring").status_code == 302
    assert client.get("/admin/api/metrics/summary").status_code == 401
    refused = audit_actions(app, "admin_login_failed")
    assert [(r.actor, r.outcome) for r in refused] == [(email, "refused")]


def test_right_password_signs_in_follows_next_and_is_audited(app, client, admin):
    client.get("/admin/login")
    response = client.post("/admin/login?next=/admin/alerts",
                           data={"email": "  OPS@example.com ", "password": ADMIN_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/alerts"
    assert client.get("/admin/card-payment-monitoring").status_code == 200
    assert [r.actor for r in audit_actions(app, "admin_login")] == [ADMIN_EMAIL]


@pytest.mark.parametrize("target", ["https://evil.example/admin/", "//evil.example/admin/", "/courses/x"])
def test_login_never_redirects_off_the_admin_area(client, admin, target):
    client.get("/admin/login")
    response = client.post("/admin/login", query_string={"next": target},
                           data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.headers["Location"] == "/admin/card-payment-monitoring"


def test_inactive_admin_cannot_sign_in_and_loses_an_open_session(app, admin):
    client = app.test_client()
    assert sign_in(client).status_code == 302
    with app.app_context():
        db.session.execute(db.update(AdminUser).values(active=False))
        db.session.commit()
    assert client.get("/admin/card-payment-monitoring").status_code == 302
    assert sign_in(app.test_client()).status_code == 401


def test_sign_out_ends_the_session(app, admin_client):
    page = admin_client.get("/admin/card-payment-monitoring").get_data(as_text=True)
    assert "Sign out" in page
    assert admin_client.post("/admin/logout").status_code == 302
    assert admin_client.get("/admin/card-payment-monitoring").status_code == 302
    assert len(audit_actions(app, "admin_logout")) == 1


@pytest.fixture
def csrf_app(app_factory):
    return app_factory(WTF_CSRF_ENABLED=True)


def test_login_form_needs_its_csrf_token(csrf_app, admin):
    client = csrf_app.test_client()
    client.get("/admin/login")
    forged = client.post("/admin/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert forged.status_code == 400
    assert client.get("/admin/card-payment-monitoring").status_code == 302
    assert sign_in(client).status_code == 302


def test_every_admin_form_refuses_a_post_without_csrf_token(csrf_app, admin, seed):
    with csrf_app.app_context():
        alert = seed.alert(severity="critical")
        item = seed.review(seed.payment(status="pending"))
        paid = seed.payment(status="succeeded")
        db.session.commit()
        alert_id, item_id, paid_id = alert.id, item.id, paid.id
    client = csrf_app.test_client()
    assert sign_in(client).status_code == 302
    ids = {"alert_id": alert_id, "item_id": item_id, "payment_id": paid_id}
    posts = [url for rule, method, url in admin_rules(csrf_app, ids) if method == "POST"]
    assert len(posts) >= 5
    for url in posts:
        response = client.post(url, data={"reason": "forged by another site"})
        assert response.status_code == 400, url
    with csrf_app.app_context():
        assert db.session.get(CardPaymentAlert, alert_id).resolved is False
        assert db.session.get(ManualIntervention, item_id).status == "open"
    assert client.get("/admin/card-payment-monitoring").status_code == 200  # still signed in
    # The same form with its token goes through.
    page = client.get("/admin/alerts").get_data(as_text=True)
    response = client.post(f"/admin/alerts/{alert_id}/resolve",
                           data={"reason": "checked", "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    with csrf_app.app_context():
        assert db.session.get(CardPaymentAlert, alert_id).resolved is True


def test_session_cookie_is_httponly_samesite_and_secure_in_production(app_factory, admin):
    assert cardpay_config.ProductionConfig.SESSION_COOKIE_SECURE is True
    for secure in (False, True):
        app = app_factory(SESSION_COOKIE_SECURE=secure)
        response = sign_in(app.test_client())
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


def test_admin_pages_are_not_cached_or_framed(admin_client):
    response = admin_client.get("/admin/card-payment-monitoring")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_create_admin_command_with_option_and_with_hidden_prompt(app, runner):
    result = runner.invoke(args=["cardpay", "create-admin", "Lead@Example.com", "--password", "a long enough pw"])
    assert result.exit_code == 0, result.output
    assert "created admin lead@example.com" in result.output
    prompted = runner.invoke(args=["cardpay", "create-admin", "second@example.com"],
                             input="another long pw\nanother long pw\n")
    assert prompted.exit_code == 0, prompted.output
    assert "another long pw" not in prompted.output
    assert sign_in(app.test_client(), "second@example.com", "another long pw").status_code == 302
    short = runner.invoke(args=["cardpay", "create-admin", "x@example.com", "--password", "short"])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    assert [r.action for r in audit_actions(app, "admin_created")] == ["admin_created", "admin_created"]


def test_sign_in_audit_records_the_client_behind_a_trusted_proxy(app_factory, admin):
    app = app_factory(TRUSTED_PROXY_COUNT=1)
    client = app.test_client()
    client.get("/admin/login")
    client.post("/admin/login", data={"email": ADMIN_EMAIL, "password": "wrong wrong wrong"},
                headers={"X-Forwarded-For": "203.0.113.9"})
    assert [r.ip for r in audit_actions(app, "admin_login_failed")] == ["203.0.113.9"]
