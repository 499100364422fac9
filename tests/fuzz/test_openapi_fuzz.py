"""Schemathesis fuzzes every operation in /openapi.json: never a 5xx, and every answer is one the document describes.

Each operation gets a bounded number of generated requests (valid and invalid by the schema), sent
in-process to the app (WSGI): every operation anonymously, the admin API again signed in. The checks are
schemathesis' defaults less positive_data_acceptance, since a request that is valid by the schema
is still refused by design when it lacks a signature (callbacks), names no payment (tokens) or
comes before access (ui-ack). The document is the one cardpay.admin.openapi builds and serves; the first
test makes sure that is what GET /openapi.json answers.

Then the same document against cardpay served on a loopback port (live_app, over real HTTP), with the
four checks that say "the document tells the truth": no 5xx, every status code, content type and body
as documented. Each generated callback is signed with the app's IK-APPID/IK-SIGN first, so generated
bodies get past the signature to the timestamp and schema checks instead of all stopping at a 401.
"""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NOT_SET
from schemathesis.generation import GenerationMode

from cardpay.admin import openapi
from cardpay.ikhokha import signing

BUILD = getattr(openapi, "build", None)
# schemathesis.pytest.from_fixture reads a pytest internal that pytest 9 removed, so the schema is
# loaded here from the same builder the /openapi.json view serves.
schema = schemathesis.openapi.from_dict(BUILD() if BUILD else {"openapi": "3.0.3", "info": {"title": "none",
                                                                                            "version": "0"},
                                                             "paths": {}})
ADMIN_API = schema.include(path_regex=r"^/admin/api/")
BOUNDED = settings(max_examples=8, deadline=None, database=None, derandomize=True,
                   suppress_health_check=list(HealthCheck))
EXCLUDED = [positive_data_acceptance]


def test_the_fuzzed_document_is_the_one_served(fuzz_app):
    response = fuzz_app.test_client().get("/openapi.json")
    if response.status_code == 404 or BUILD is None:
        pytest.skip("cardpay serves no /openapi.json yet: nothing to fuzz against")
    assert response.status_code == 200
    assert response.get_json() == json.loads(json.dumps(BUILD()))
    assert response.get_json()["paths"], "the document lists no operations"


def _aim(case, fuzz_app):
    """Point half of the token cases at the real payment, so the found-paths are fuzzed too."""
    token = (case.path_parameters or {}).get("token")
    if token is not None and len(str(token)) % 2 == 0:
        case.path_parameters["token"] = fuzz_app.config["FUZZ_TOKEN"]


@schema.parametrize()
@BOUNDED
def test_anonymous_requests_get_documented_answers_and_never_a_5xx(case, fuzz_app):
    _aim(case, fuzz_app)
    case.call_and_validate(app=fuzz_app, excluded_checks=EXCLUDED)


@ADMIN_API.parametrize()
@BOUNDED
def test_signed_in_admin_requests_get_documented_answers_and_never_a_5xx(case, fuzz_app, admin_cookie):
    _aim(case, fuzz_app)
    # In-process, the WSGI client sends its own cookie jar in place of a Cookie header: hand the session over
    # as a cookie of the case. The session is bound to the User-Agent it signed in with.
    case.cookies = {**(case.cookies or {}), "session": admin_cookie.split("=", 1)[1]}
    # ignored_auth and negative_data_rejection cannot tell this real session from the cookie they generated
    # (a case whose only "invalid" part was a missing cookie is answered 200), so they are left out here;
    # the served test below runs the four conformance checks signed in.
    case.call_and_validate(app=fuzz_app, headers={"User-Agent": "cardpay-fuzz"},
                           excluded_checks=EXCLUDED + [ignored_auth, negative_data_rejection])


CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
CALLBACK_PATHS = ("/webhooks/ikhokha", "/.netlify/functions/ikhokha-webhook")


def sign_callback(case, app):
    """Sign a generated callback as iKhokha would: IK-APPID, and IK-SIGN over the path and the body.

    A JSON body is signed in its compact JSON.stringify form, which the server also verifies (SPEC §5),
    so the signature holds however the client lays the JSON out; raw bytes are signed as they are. A body
    that cannot be written as
    UTF-8 text (lone surrogates) stays unsigned: the server refuses it as malformed first anyway.
    """
    if case.body is NOT_SET:
        text = ""
    elif isinstance(case.body, (bytes, str)):
        text = case.body  # a negative case sends these bytes as they are: sign exactly them
    else:
        text = signing.js_stringify(case.body)
    headers = dict(case.headers or {})
    headers["IK-APPID"] = app.config["IKHOKHA_API_KEY"]
    try:
        headers["IK-SIGN"] = signing.sign(app.config["IKHOKHA_WEBHOOK_SECRET"], case.formatted_path, text)
    except UnicodeEncodeError:
        pass
    case.headers = headers


def _served_call(case, served):
    _aim(case, served.app)
    if case.operation.path in CALLBACK_PATHS:
        sign_callback(case, served.app)
    headers = served.admin_headers if case.operation.path.startswith("/admin/api/") else None
    return case.call_and_validate(base_url=served.url, headers=headers, checks=CHECKS, timeout=10)


@schema.parametrize()
@BOUNDED
def test_a_served_cardpay_answers_as_documented_and_never_with_a_5xx(case, served):
    _served_call(case, served)


@pytest.mark.parametrize("path", CALLBACK_PATHS)
def test_signed_generated_callbacks_reach_the_schema_checks_and_are_answered_as_documented(served, path):
    operation = schema[path]["POST"]
    answers = []

    @given(case=operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE))
    @settings(BOUNDED, max_examples=30)
    def fuzz(case):
        response = _served_call(case, served)
        answers.append((response.status_code, (response.json() or {}).get("error") or response.json().get("outcome")))

    fuzz()
    codes = {code for code, _ in answers}
    assert 200 in codes, f"no generated callback was accepted: {sorted(set(answers))}"
    assert (400, "invalid_payload") in answers, f"no generated body reached the schema check: {sorted(set(answers))}"
    assert codes <= {200, 400, 401, 413}, sorted(set(answers))
    # The signature held: nothing was refused for its app id or signature.
    assert not {error for _, error in answers} & {"invalid_app_id", "invalid_signature", "missing_signature"}, answers


def test_the_document_is_valid_openapi():
    try:
        from openapi_spec_validator import validate
    except ImportError:
        pytest.skip("openapi-spec-validator is not installed (pip install openapi-spec-validator to run this check)")
    validate(json.loads(json.dumps(BUILD())))
