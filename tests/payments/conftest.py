"""Fixtures for the learner side: a shop (cardpay + its sandbox on a loopback port) with a course on sale."""

import re
from dataclasses import dataclass

import pytest
import requests

from cardpay.core.extensions import db
from cardpay.ikhokha.sandbox import state_of
from cardpay.models import Course, Payment

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Shop:
    """A running cardpay with a course on sale, and a browser-like session against it."""

    app: object
    url: str
    slug: str = "python-foundations"

    @property
    def sandbox(self):
        return state_of(self.app)

    def browser(self):
        return requests.Session()

    def enroll(self, browser=None, email="thandi@example.com", name="Thandi Nkosi", slug=None):
        """Open the course page and press Enroll Now; return the (unfollowed) response."""
        browser = browser or self.browser()
        slug = slug or self.slug
        page = browser.get(f"{self.url}/courses/{slug}", timeout=10)
        token = CSRF.search(page.text)
        form = {"email": email, "name": name, "csrf_token": token.group(1) if token else ""}
        return browser.post(f"{self.url}/courses/{slug}/enroll", data=form, allow_redirects=False, timeout=10)

    def pay(self, browser, paylink_url, card="4242424242424242"):
        """Submit the sandbox's card page; return the (unfollowed) response."""
        return browser.post(paylink_url, data={"card_number": card, "expiry": "12/39", "cvv": "123"},
                            allow_redirects=False, timeout=10)

    def payments(self):
        """Every payment row, freshly read."""
        with self.app.app_context():
            rows = db.session.execute(db.select(Payment).order_by(Payment.id)).scalars().all()
            db.session.expunge_all()
            db.session.commit()
            return rows

    def status(self, token, browser=None):
        return (browser or requests).get(f"{self.url}/api/payments/{token}/status", timeout=10)


def add_course(app, slug="python-foundations", title="Python Foundations", price_cents=49900, active=True):
    """Put a course on sale."""
    with app.app_context():
        db.session.add(Course(slug=slug, title=title, description="Learn Python.", price_cents=price_cents,
                              currency="ZAR", active=active))
        db.session.commit()


@pytest.fixture
def shop(live_app):
    """Start a shop: shop(**settings) -> Shop; pending sandbox callbacks stop at the end."""
    shops = []

    def start(**settings):
        app, server = live_app(**settings)
        add_course(app)
        shops.append(Shop(app, server.url))
        return shops[-1]

    yield start
    for item in shops:
        item.sandbox.stopping.set()
