"""Sessions: a request without a session cookie costs no signer and sets no cookie; one that makes a
session gets its signed cookie, which the next request reads, as with Flask's own interface."""

from flask import session
from flask.sessions import SecureCookieSessionInterface

from cardpay.core.cookie_sessions import CookieSessions


def _routes(app):
    @app.get("/_test/remember/<value>")
    def remember(value):
        session["value"] = value
        return "kept"

    @app.get("/_test/recall")
    def recall():
        return session.get("value", "(nothing)")


def test_a_request_without_a_session_builds_no_signer_and_sets_no_cookie(app, monkeypatch):
    assert isinstance(app.session_interface, CookieSessions)

    def no_signer(self, app):
        raise AssertionError("the cookie signer was built for a request without a session")

    monkeypatch.setattr(SecureCookieSessionInterface, "get_signing_serializer", no_signer)
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" in response.headers.get("Vary", "")  # as Flask says for an empty session


def test_a_session_made_by_a_request_is_signed_set_and_read_back(app):
    _routes(app)
    client = app.test_client()
    response = client.get("/_test/remember/blue")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{app.config.get('SESSION_COOKIE_NAME', 'session')}=") and "HttpOnly" in cookie
    assert client.get("/_test/recall").get_data(as_text=True) == "blue"


def test_a_forged_session_cookie_reads_as_no_session(app):
    _routes(app)
    client = app.test_client()
    client.get("/_test/remember/blue")
    client.set_cookie(app.config.get("SESSION_COOKIE_NAME", "session"), "eyJ2YWx1ZSI6InJlZCJ9.forged.signature")
    assert client.get("/_test/recall").get_data(as_text=True) == "(nothing)"
