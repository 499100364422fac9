"""Fixtures for the fuzz tests: an app with rows to find (a paid payment, a review, an alert), in-process or served
on a loopback port, and an admin session."""

import pytest
import requests

from cardpay.admin import auth
from cardpay.core.extensions import db
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, Seed, sign_in


def _seed_rows(app):
    """Give fuzzed requests real rows to reach: a paid payment (its token in FUZZ_TOKEN), a review item, an alert."""
    with app.app_context():
        seed = Seed()
        app.config["FUZZ_TOKEN"] = seed.payment(status="succeeded").token
        seed.review(seed.payment(status="pending"))
        seed.alert(severity="critical")
        db.session.commit()
    return app


@pytest.fixture
def fuzz_app(app_factory):
    """An app holding a paid payment, a review item and an alert, so fuzzed requests can reach real rows."""
    return _seed_rows(app_factory())


@pytest.fixture
def admin_cookie(fuzz_app):
    """The Cookie header of a signed-in admin session (the account is made here: hashing is slow)."""
    with fuzz_app.app_context():
        auth.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    client = fuzz_app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = Served.USER_AGENT  # the session is bound to it; the fuzzer sends it
    assert sign_in(client).status_code == 302
    return f"session={client.get_cookie('session').value}"


class Served:
    """A cardpay on a real loopback port (live_app) with rows to find; the admin cookie is made when first asked."""

    def __init__(self, app, url):
        self.app, self.url = app, url
        self._cookie = None

    USER_AGENT = "cardpay-fuzz"  # an admin session is bound to the browser's User-Agent: send the same one

    @property
    def admin_headers(self):
        """Cookie and User-Agent of an admin signed in over HTTP through the real form."""
        if self._cookie is None:
            with self.app.app_context():
                auth.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
            browser = requests.Session()
            browser.headers["User-Agent"] = self.USER_AGENT
            signed = browser.post(f"{self.url}/admin/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                                  allow_redirects=False, timeout=10)
            assert signed.status_code == 302, signed.text
            self._cookie = f"session={browser.cookies['session']}"
        return {"Cookie": self._cookie, "User-Agent": self.USER_AGENT}


@pytest.fixture
def served(live_app):
    """cardpay served over HTTP on loopback, holding a paid payment, a review item and an alert."""
    app, server = live_app()
    return Served(_seed_rows(app), server.url)
