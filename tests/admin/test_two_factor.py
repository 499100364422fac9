"""Two-factor sign-in (ADMIN_REQUIRE_2FA): a correct password alone opens nothing, a code works once,
a recovery code works once, and create-admin / admin reset-2fa enrol the operator."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from cardpay.core import clock
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token, sign_in

DASHBOARD = "/admin/card-payment-monitoring"


@pytest.fixture
def app(app_factory):
    """An app that asks for the code after the password, as production does."""
    return app_factory(ADMIN_REQUIRE_2FA=True)


@pytest.fixture
def enrolled(app, runner):
    """Create the admin through the CLI; return (totp secret, recovery codes) from what it printed."""
    result = runner.invoke(args=["cardpay", "create-admin", ADMIN_EMAIL, "--password", ADMIN_PASSWORD])
    assert result.exit_code == 0, result.output
    return enrolment(result.output)


def enrolment(output):
    uri = re.search(r"otpauth://\S+", output).group(0)
    parts = urlsplit(uri)
    assert uri.startswith("otpauth://totp/cardpay:ops%40example.com?")
    query = parse_qs(parts.query)
    assert query["issuer"] == ["cardpay"]
    codes = re.findall(r"^  ([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})$", output, re.M)
    assert len(codes) == 10
    return query["secret"][0], codes


def current_code(secret, at=None):
    return pyotp.TOTP(secret).at(at or clock.now())


def enter_code(client, code, **kwargs):
    page = client.get("/admin/login/code", **kwargs).get_data(as_text=True)
    data = {"code": code}
    if 'name="csrf_token"' in page:
        data["csrf_token"] = csrf_token(page)
    return client.post("/admin/login/code", data=data, **kwargs)


def test_the_password_step_alone_opens_no_session(app, enrolled):
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login/code")
    assert client.get(DASHBOARD).status_code == 302
    assert client.get("/admin/api/metrics/summary").status_code == 401
    # Nor does a copy of the cookie the password step left behind.
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get(DASHBOARD).status_code == 302


def test_a_valid_code_signs_in_and_follows_next(app, enrolled):
    secret, _ = enrolled
    client = app.test_client()
    client.get("/admin/login")
    step = client.post("/admin/login?next=/admin/alerts", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert step.status_code == 302
    response = client.post(step.headers["Location"], data={"code": current_code(secret)})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/alerts"
    assert client.get(DASHBOARD).status_code == 200


def test_a_wrong_code_or_no_password_step_signs_nobody_in(app, enrolled):
    secret, _ = enrolled
    client = app.test_client()
    sign_in(client)
    wrong = f"{(int(current_code(secret)) + 1) % 1000000:06d}"
    assert enter_code(client, wrong).status_code == 401
    assert client.get(DASHBOARD).status_code == 302
    stranger = app.test_client()  # a code without the password step leads back to the password form
    assert stranger.post("/admin/login/code", data={"code": current_code(secret)}).status_code == 302
    assert stranger.get(DASHBOARD).status_code == 302


def test_a_code_is_accepted_once(app, enrolled):
    secret, _ = enrolled
    code = current_code(secret)
    first = app.test_client()
    sign_in(first)
    assert enter_code(first, code).status_code == 302
    second = app.test_client()  # someone who watched the code being typed
    sign_in(second)
    assert enter_code(second, code).status_code == 401
    assert second.get(DASHBOARD).status_code == 302
    clock.advance(seconds=30)  # the next step's code works
    assert enter_code(second, current_code(secret)).status_code == 302


def test_one_step_of_clock_drift_is_accepted_and_two_are_not(app, enrolled):
    secret, _ = enrolled
    client = app.test_client()
    sign_in(client)
    assert enter_code(client, current_code(secret, clock.now() - timedelta(seconds=60))).status_code == 401
    assert enter_code(client, current_code(secret, clock.now() - timedelta(seconds=30))).status_code == 302


def test_a_recovery_code_works_once(app, enrolled):
    _, codes = enrolled
    client = app.test_client()
    sign_in(client)
    assert enter_code(client, codes[0].upper()).status_code == 302
    assert client.get(DASHBOARD).status_code == 200
    again = app.test_client()
    sign_in(again)
    assert enter_code(again, codes[0]).status_code == 401
    assert enter_code(again, codes[1]).status_code == 302


def test_the_password_step_expires(app, enrolled):
    secret, _ = enrolled
    client = app.test_client()
    sign_in(client)
    clock.advance(minutes=6)
    response = enter_code(client, current_code(secret))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert client.get(DASHBOARD).status_code == 302


def test_reset_2fa_replaces_the_secret_and_ends_sessions(app, enrolled, runner):
    old_secret, old_codes = enrolled
    client = app.test_client()
    sign_in(client)
    assert enter_code(client, current_code(old_secret)).status_code == 302
    result = runner.invoke(args=["cardpay", "admin", "reset-2fa", ADMIN_EMAIL])
    assert result.exit_code == 0, result.output
    new_secret, _ = enrolment(result.output)
    assert client.get(DASHBOARD).status_code == 302
    clock.advance(seconds=30)
    again = app.test_client()
    sign_in(again)
    assert enter_code(again, current_code(old_secret)).status_code == 401
    assert enter_code(again, old_codes[2]).status_code == 401
    assert enter_code(again, current_code(new_secret)).status_code == 302


def test_an_admin_without_a_second_factor_is_told_to_enrol(app, admin):
    response = sign_in(app.test_client())
    assert response.status_code == 403 and "reset-2fa" in response.get_data(as_text=True)


def test_the_code_form_needs_its_csrf_token(app_factory, runner):
    app = app_factory(ADMIN_REQUIRE_2FA=True, WTF_CSRF_ENABLED=True)
    result = app.test_cli_runner().invoke(args=["cardpay", "create-admin", ADMIN_EMAIL, "--password", ADMIN_PASSWORD])
    secret, _ = enrolment(result.output)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    assert client.post("/admin/login/code", data={"code": current_code(secret)}).status_code == 400
    assert client.get(DASHBOARD).status_code == 302
    assert enter_code(client, current_code(secret)).status_code == 302


def test_production_requires_the_second_factor_by_default():
    import config

    assert config.read_settings({"CARDPAY_ENV": "production"}).values["ADMIN_REQUIRE_2FA"] is True
    assert config.read_settings({"CARDPAY_ENV": "development"}).values["ADMIN_REQUIRE_2FA"] is False
