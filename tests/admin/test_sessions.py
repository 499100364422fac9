"""A copied admin session cookie stops working: after logout, a password change, deactivation, idleness, or
in another browser; and the cookie is not a month-long bearer token. Also the password policy."""

import pytest

from cardpay.admin import auth
from cardpay.core import clock
from tests.admin.admin_helpers import ADMIN_EMAIL, csrf_token, sign_in

DASHBOARD = "/admin/card-payment-monitoring"


def copy_session(app, client, user_agent=None):
    """Return a new client holding a copy of ``client``'s session cookie (what a thief would have)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    if user_agent:
        thief.environ_base["HTTP_USER_AGENT"] = user_agent
    return thief


def test_a_copied_cookie_works_while_the_session_does(app, admin_client):
    assert copy_session(app, admin_client).get(DASHBOARD).status_code == 200


def test_a_copied_cookie_stops_working_after_logout(app, admin_client):
    thief = copy_session(app, admin_client)
    assert admin_client.post("/admin/logout").status_code == 302
    assert thief.get(DASHBOARD).status_code == 302
    assert thief.get("/admin/api/metrics/summary").status_code == 401


def test_a_copied_cookie_stops_working_after_a_password_change(app, admin_client, runner):
    thief = copy_session(app, admin_client)
    result = runner.invoke(args=["cardpay", "create-admin", ADMIN_EMAIL, "--password", "a brand new passphrase"])
    assert result.exit_code == 0, result.output
    assert thief.get(DASHBOARD).status_code == 302
    assert admin_client.get(DASHBOARD).status_code == 302
    assert sign_in(app.test_client(), password="a brand new passphrase").status_code == 302


def test_deactivation_ends_every_session_and_sign_in(app, admin_client, runner):
    thief = copy_session(app, admin_client)
    result = runner.invoke(args=["cardpay", "admin", "deactivate", ADMIN_EMAIL.upper()])
    assert result.exit_code == 0 and "deactivated admin ops@example.com" in result.output
    assert thief.get(DASHBOARD).status_code == 302
    assert sign_in(app.test_client()).status_code == 401
    assert runner.invoke(args=["cardpay", "admin", "deactivate", "nobody@example.com"]).exit_code != 0


def test_a_copied_cookie_is_refused_from_another_user_agent(app, admin_client):
    thief = copy_session(app, admin_client, user_agent="curl/8.0")
    assert thief.get(DASHBOARD).status_code == 302
    assert admin_client.get(DASHBOARD).status_code == 200  # the thief's attempt does not end the real one


def test_an_idle_session_is_signed_out(app, admin_client):
    clock.advance(minutes=app.config["ADMIN_SESSION_IDLE_MINUTES"] - 1)
    assert admin_client.get(DASHBOARD).status_code == 200  # use resets the idle time
    clock.advance(minutes=app.config["ADMIN_SESSION_IDLE_MINUTES"] - 1)
    assert admin_client.get(DASHBOARD).status_code == 200
    clock.advance(minutes=31)
    response = admin_client.get(DASHBOARD)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    assert admin_client.get("/admin/api/metrics/summary").status_code == 401


def test_an_idle_session_is_refused_on_the_api_too(app, admin_client):
    clock.advance(minutes=31)
    response = admin_client.get("/admin/api/metrics/summary")
    assert response.status_code == 401 and response.get_json()["error"] == "login_required"


def test_the_session_cookie_is_not_a_month_long_bearer_token(app, admin):
    client = app.test_client()
    cookie = sign_in(client).headers["Set-Cookie"]
    assert "Expires=" not in cookie and "Max-Age" not in cookie  # gone when the browser closes
    assert app.permanent_session_lifetime.total_seconds() <= 12 * 3600  # refused once this old, whatever


def test_logout_needs_its_csrf_token_and_then_ends_the_session(app_factory, admin):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    thief = copy_session(app, client)
    client.post("/admin/logout")  # no token: nothing happens
    assert thief.get(DASHBOARD).status_code == 200
    page = client.get(DASHBOARD).get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": csrf_token(page)})
    assert thief.get(DASHBOARD).status_code == 302


@pytest.mark.parametrize("password, reason", [
    (" " * 12, "blank"),
    ("\t  \n  ", "blank"),
    ("   short pw   ", "at least 12 characters"),
    ("passwordpassword", "first guesses"),
    ("123456789012", "first guesses"),
    ("QwertyuiopAS", "first guesses"),
    ("aaaaaaaaaaaaaaaa", "first guesses"),
])
def test_create_admin_refuses_weak_passwords_with_a_clear_error(app, runner, password, reason):
    result = runner.invoke(args=["cardpay", "create-admin", "new@example.com", "--password", password])
    assert result.exit_code != 0 and reason in result.output
    with app.app_context():
        assert auth.find("new@example.com") is None
