"""Sign-in failures are throttled per (email, client address) and per address, never per account: a stranger
cannot lock an operator out, and the answer is the same for known and unknown addresses."""

import re

from sqlalchemy import select

from cardpay.core.extensions import db
from cardpay.models import AuditLog
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD

STRANGER, OPERATOR = "203.0.113.66", "198.51.100.7"


def attempt(client, ip, email=ADMIN_EMAIL, password="not the password"):
    """POST the login form from ``ip``."""
    client.get("/admin/login", environ_base={"REMOTE_ADDR": ip})
    return client.post("/admin/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def exhaust(app, client, ip, email=ADMIN_EMAIL):
    for _ in range(app.config["ADMIN_MAX_FAILED_LOGINS"]):
        assert attempt(client, ip, email).status_code == 401


def test_a_stranger_cannot_lock_the_operator_out(app, admin):
    stranger = app.test_client()
    exhaust(app, stranger, STRANGER)
    for _ in range(10):
        assert attempt(stranger, STRANGER).status_code == 429
    operator = app.test_client()
    assert attempt(operator, OPERATOR, password=ADMIN_PASSWORD).status_code == 302
    assert operator.get("/admin/card-payment-monitoring").status_code == 200


def test_the_throttled_pair_is_refused_even_the_right_password_with_retry_after(app, admin):
    client = app.test_client()
    exhaust(app, client, STRANGER)
    response = attempt(client, STRANGER, password=ADMIN_PASSWORD)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= app.config["ADMIN_LOCKOUT_MINUTES"] * 60
    assert client.get("/admin/card-payment-monitoring").status_code == 302
    with app.app_context():
        reasons = db.session.execute(select(AuditLog.reason).where(AuditLog.action == "admin_login_failed")).scalars()
        assert "throttled" in list(reasons)


def test_known_and_unknown_addresses_get_byte_identical_answers(app, admin):
    def answers(email, ip):
        client = app.test_client()
        for _ in range(app.config["ADMIN_MAX_FAILED_LOGINS"] - 1):
            attempt(client, ip, email)
        plain = attempt(client, ip, email)
        throttled = attempt(client, ip, email)
        return plain, throttled

    known, unknown = answers(ADMIN_EMAIL, "192.0.2.1"), answers("nobody@example.com", "192.0.2.2")
    for mine, theirs in zip(known, unknown):
        assert mine.status_code == theirs.status_code
        strip = lambda r: re.sub(rb'name="csrf_token"[^>]*>', b"", r.data)  # noqa: E731
        assert strip(mine) == strip(theirs)
        assert ADMIN_EMAIL.encode() not in mine.data
        assert set(mine.headers.keys()) - {"Set-Cookie"} == set(theirs.headers.keys()) - {"Set-Cookie"}
    assert [r.status_code for r in known] == [401, 429]
    assert abs(int(known[1].headers["Retry-After"]) - int(unknown[1].headers["Retry-After"])) <= 1


def test_one_address_guessing_many_emails_is_throttled(app, admin):
    client = app.test_client()
    per_ip = app.config["ADMIN_MAX_FAILED_LOGINS"] * 4
    for n in range(per_ip):
        assert attempt(client, STRANGER, f"guess{n}@example.com").status_code == 401
    assert attempt(client, STRANGER, "fresh@example.com").status_code == 429
    assert attempt(app.test_client(), OPERATOR, password=ADMIN_PASSWORD).status_code == 302


def test_a_right_password_clears_the_pairs_failures(app, admin):
    client = app.test_client()
    limit = app.config["ADMIN_MAX_FAILED_LOGINS"]
    for _ in range(limit - 1):
        assert attempt(client, OPERATOR).status_code == 401
    assert attempt(client, OPERATOR, password=ADMIN_PASSWORD).status_code == 302
    client.post("/admin/logout")
    for _ in range(limit - 1):
        assert attempt(client, OPERATOR).status_code == 401


def test_rate_limits_can_be_switched_off(app_factory, admin):
    app = app_factory(RATE_LIMITS_ENABLED=False)
    client = app.test_client()
    for _ in range(app.config["ADMIN_MAX_FAILED_LOGINS"] * 5):
        assert attempt(client, STRANGER).status_code == 401
    assert attempt(client, STRANGER, password=ADMIN_PASSWORD).status_code == 302
