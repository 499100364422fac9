"""Fixtures of the learner-access tests: a shop with a course on sale, and the SMTP sink behind it."""

import pytest

from cardpay.learners import mailbox
from tests.learners.learner_helpers import Shop, add_course


@pytest.fixture
def store(live_app, smtp_server):
    """Start a shop whose emails go to the SMTP sink: store(**settings) -> Shop (with .smtp)."""
    shops = []
    mailbox.clear()

    def start(**settings):
        settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port, **settings}
        app, server = live_app(**settings)
        add_course(app)
        shop = Shop(app, server.url)
        shop.smtp = smtp_server
        shops.append(shop)
        return shop

    yield start
    for shop in shops:
        shop.sandbox.stopping.set()
