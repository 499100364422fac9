"""Fixtures for the admin tests: an admin account, a signed-in client, and a row seeder."""

import pytest

from cardpay.admin import auth
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, Seed, sign_in


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replace pytest-flask's test-long request context: with it, every request of a test shares one app
    context, so one database session and one ``g`` (Flask-Login's cached user) would leak between requests.
    Here each request gets its own context, as in production; tests open ``app.app_context()`` themselves."""


@pytest.fixture
def client(app):
    """A plain test client: pytest-flask's keeps the last request's context pushed (``with client:``),
    which other clients' requests would then share, Flask-Login's cached user included."""
    return app.test_client()


@pytest.fixture
def admin(app):
    """An admin account in the database; returns (email, password)."""
    with app.app_context():
        auth.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    return ADMIN_EMAIL, ADMIN_PASSWORD


@pytest.fixture
def admin_client(app, admin):
    """A test client signed in as the admin."""
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def seed():
    """A Seed; use it inside ``with app.app_context():`` and commit before the next request."""
    return Seed()
