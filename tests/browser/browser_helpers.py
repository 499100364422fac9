"""What the browser journeys share: the course a learner buys, and a shop (and optionally an admin) to buy it in."""

from cardpay.admin import auth
from cardpay.core.extensions import db
from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, Seed

SLUG, TITLE = "intro-to-python", "Intro To Python"


def open_shop(app, admin=False):
    """Put the course on sale (and create the operator's account when ``admin``)."""
    with app.app_context():
        Seed().course(SLUG, price=49900)
        if admin:
            auth.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        db.session.commit()
