"""Fixtures for the callback path: signed callbacks, a payment waiting for one, and what a user would see.

On PostgreSQL every test here runs twice, once through each form of the callback path: the
one-statement form (callbacks/one_statement) and the general path it falls back to. Both must give
what a user sees, row for row.
"""

import itertools
import json
from types import SimpleNamespace

import pytest

from cardpay.ikhokha import signing
from tests import factory_helpers
from tests.callbacks.callback_helpers import MAIN_PATH, Seen
from tests.conftest import PG_ADMIN_URL

_numbers = itertools.count(1)
FORMS = ("one_statement", "general") if PG_ADMIN_URL else ("general",)


@pytest.fixture(params=FORMS)
def app_factory(request, app_factory):
    """Apps whose callbacks take the one-statement form or the general path (the parameter)."""
    if request.param == "general" and request.module.__name__.endswith("test_one_statement"):
        pytest.skip("test_one_statement compares both forms itself")

    def factory(**overrides):
        overrides.setdefault("CALLBACKS_ONE_STATEMENT", request.param == "one_statement")
        return app_factory(**overrides)

    return factory


@pytest.fixture
def signed_callback(app):
    """Build (body bytes, headers) for a callback signed with signing.sign for a path and secret."""

    def build(payload=None, path=MAIN_PATH, secret=None, app_id=None, sign_body=None, headers=None, **fields):
        if payload is None:
            payload = {"status": "SUCCESS", "responseCode": "00", **fields}
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        body = body.encode("utf-8") if isinstance(body, str) else body
        secret = secret or app.config["IKHOKHA_WEBHOOK_SECRET"]
        signed_over = body if sign_body is None else sign_body
        sent = {"Content-Type": "application/json", "IK-APPID": app_id or app.config["IKHOKHA_API_KEY"],
                "IK-SIGN": signing.sign(secret, path, signed_over)}
        sent.update(headers or {})
        return body, {k: v for k, v in sent.items() if v is not None}

    return build


@pytest.fixture
def make_payment(app):
    """Create course, learner, enrollment and a payment with a paylink (rows written directly)."""

    def create(status="pending", paylink_id=None, external_id=None, payer_name=None):
        n = next(_numbers)
        with app.app_context():
            payment = factory_helpers.make_payment(status, n=n, paylink_id=paylink_id, external_id=external_id,
                                                   payer_name=payer_name)
            return SimpleNamespace(id=payment.id, paylink_id=payment.paylink_id,
                                   external_id=payment.external_transaction_id, enrollment_id=payment.enrollment_id)

    return create


@pytest.fixture
def payment(make_payment):
    """A pending payment whose learner waits for access."""
    return make_payment()


@pytest.fixture
def success_for(signed_callback):
    """Build the signed SUCCESS callback iKhokha sends for a payment."""

    def build(payment, status="SUCCESS", path=MAIN_PATH, **kwargs):
        payload = {"paylinkID": payment.paylink_id, "status": status,
                   "externalTransactionID": payment.external_id, "responseCode": "00"}
        return signed_callback(payload, path=path, **kwargs)

    return build


@pytest.fixture
def seen(app):
    """Read what the callbacks left behind."""
    return Seen(app)
