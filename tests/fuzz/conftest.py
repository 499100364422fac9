"""Fixtures for the fuzz tests: an app with rows to find (a paid payment, a review, an alert), an admin session."""

import pytest

from cardpay.admin import auth
from cardpay.core.extensions import db
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, Seed, sign_in


@pytest.fixture
def fuzz_app(app_factory):
    """An app holding a paid payment, a review item and an alert, so fuzzed requests can reach real rows."""
    app = app_factory()
    with app.app_context():
        seed = Seed()
        app.config["FUZZ_TOKEN"] = seed.payment(status="succeeded").token
        seed.review(seed.payment(status="pending"))
        seed.alert(severity="critical")
        db.session.commit()
    return app


@pytest.fixture
def admin_cookie(fuzz_app):
    """The Cookie header of a signed-in admin session (the account is made here: hashing is slow)."""
    with fuzz_app.app_context():
        auth.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    client = fuzz_app.test_client()
    assert sign_in(client).status_code == 302
    return f"session={client.get_cookie('session').value}"
