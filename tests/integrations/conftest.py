"""Fixtures for the access API tests: a plain client and a learner with enrollments."""

import pytest

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import Course, Enrollment, Learner


@pytest.fixture(autouse=True)
def _push_request_context():
    """Give each request its own app context (see tests/admin/conftest.py for why)."""


@pytest.fixture
def client(app):
    """A plain test client."""
    return app.test_client()


@pytest.fixture
def enrolled(app):
    """thandi@example.com: active on intro-to-python, revoked on data-basics; sipho has another course."""
    with app.app_context():
        python = Course(slug="intro-to-python", title="Intro to Python", price_cents=49900)
        data = Course(slug="data-basics", title="Data Basics", price_cents=29900)
        thandi = Learner(email="thandi@example.com", name="Thandi")
        sipho = Learner(email="sipho@example.com", name="Sipho")
        db.session.add_all([python, data, thandi, sipho])
        db.session.flush()
        granted = clock.now().replace(microsecond=0)
        db.session.add_all([
            Enrollment(learner_id=thandi.id, course_id=python.id, status="active", access_granted_at=granted),
            Enrollment(learner_id=thandi.id, course_id=data.id, status="revoked", access_granted_at=granted,
                       revoked_at=granted),
            Enrollment(learner_id=sipho.id, course_id=data.id, status="active", access_granted_at=granted),
        ])
        db.session.commit()
        return granted
