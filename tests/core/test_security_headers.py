"""Every response carries CSP, nosniff, Referrer-Policy and frame protection; token pages are never cached
and never leak their URL as a Referer. No template relies on what the policy blocks."""

from pathlib import Path

import pytest

from cardpay.admin import auth
from cardpay.core.extensions import db
from cardpay.core.security_headers import CONTENT_SECURITY_POLICY
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, Seed, sign_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def token(app):
    with app.app_context():
        payment = Seed().payment(status="succeeded")
        db.session.commit()
        return payment.token


def assert_hardened(response):
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    for part in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
                 "form-action 'self'", "base-uri 'none'"):
        assert part in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer")


@pytest.mark.parametrize("url, status", [
    ("/", 200),                              # learner page
    ("/admin/login", 200),                   # admin page
    ("/health", 200),                        # JSON
    ("/no-such-page", 404),                  # error page
    ("/api/payments/nope/status", 404),      # JSON error
    ("/admin/payments", 302),                # redirect
])
def test_every_kind_of_response_is_hardened(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert_hardened(response)


def test_a_500_is_hardened_too(app_factory):
    app = app_factory()

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/boom-for-test")
    assert response.status_code == 500
    assert_hardened(response)


def test_token_pages_are_not_cached_and_send_no_referer(client, token):
    for url in (f"/payments/{token}/return", f"/learn/{token}", f"/api/payments/{token}/status",
                "/payments/unknown-token/return"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-store", url
        assert response.headers["Referrer-Policy"] == "no-referrer", url
        assert_hardened(response)
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")


def test_admin_pages_stay_no_store(app):
    with app.app_context():
        auth.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    response = client.get("/admin/card-payment-monitoring")
    assert response.headers["Cache-Control"] == "no-store"
    assert_hardened(response)


def test_no_template_uses_inline_script_or_style_that_the_policy_would_block():
    for path in (ROOT / "cardpay").rglob("*.html"):
        text = path.read_text()
        for line in text.splitlines():
            if "<script" in line:
                assert "src=" in line or 'type="application/json"' in line, (path, line)
        assert " style=" not in text and "<style" not in text, path
        assert " on" not in text.replace(" one", "").replace(" only", "").replace(" once", "") or \
            not any(f" on{event}=" in text for event in ("click", "submit", "load", "change", "input")), path
