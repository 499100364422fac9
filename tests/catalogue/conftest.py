"""Fixtures for the catalogue tests: an admin signed in (as in tests/admin), and a plain client."""

import pytest

from cardpay.admin import auth
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in


@pytest.fixture(autouse=True)
def _push_request_context():
    """Give each request its own app context (see tests/admin/conftest.py for why)."""


@pytest.fixture
def client(app):
    """A plain test client, not signed in."""
    return app.test_client()


@pytest.fixture
def admin_client(app):
    """A test client signed in as an admin."""
    with app.app_context():
        auth.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
