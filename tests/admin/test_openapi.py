"""/openapi.json documents the JSON API and the callback, and what they really answer matches it."""

import re

import pytest
import schemathesis

from cardpay.core.extensions import db
from tests.admin.admin_helpers import ADMIN_EMAIL

JSON_API = re.compile(r"^/(api|admin/api)/|^/webhooks/|^/\.netlify/functions/ikhokha-webhook$")


def openapi_path(rule):
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)


@pytest.fixture
def document(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_document_is_openapi_3_with_the_api_and_the_callback(document):
    assert document["openapi"].startswith("3.")
    for path in ("/api/payments/{token}/status", "/api/payments/{token}/ui-ack", "/webhooks/ikhokha",
                 "/admin/api/metrics/summary"):
        assert path in document["paths"], path
    callback = document["paths"]["/webhooks/ikhokha"]["post"]
    assert callback["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Callback"}
    callback_schema = document["components"]["schemas"]["Callback"]
    assert callback_schema["required"] == ["paylinkID", "status"]
    assert callback_schema["properties"]["status"]["enum"] == ["SUCCESS", "FAILURE"]
    paylink = callback_schema["properties"]["paylinkID"]
    assert (paylink["minLength"], paylink["maxLength"], paylink["pattern"]) == (1, 128, r"^\S(?:.*\S)?$")
    assert "ISO 8601" in callback_schema["properties"]["timestamp"]["description"]
    assert callback["requestBody"]["content"]["application/json"]["example"]["status"] == "SUCCESS"
    headers = {p["name"]: p for p in document["paths"]["/webhooks/ikhokha"]["parameters"]}
    assert "ISO 8601" in headers["IK-TIMESTAMP"]["description"]
    for path in ("/admin/api/alerts", "/admin/api/manual-reviews", "/admin/api/payments", "/admin/api/audit-logs"):
        assert "400" in document["paths"][path]["get"]["responses"], path
    summary = document["paths"]["/admin/api/metrics/summary"]["get"]
    assert summary["security"] == [{"adminSession": []}] and "401" in summary["responses"]


def test_every_json_route_is_documented_and_every_documented_path_exists(app, document):
    routes = {}
    for rule in app.url_map.iter_rules():
        if JSON_API.match(rule.rule):
            routes.setdefault(openapi_path(rule), set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    assert routes, "no JSON routes found"
    for path, methods in routes.items():
        assert path in document["paths"], f"{path} is not in /openapi.json"
        assert methods <= set(document["paths"][path]), f"{path}: {methods} not all documented"
    real = {openapi_path(rule) for rule in app.url_map.iter_rules()}
    assert set(document["paths"]) <= real


def test_real_answers_match_the_document(app, admin_client, document, seed):
    with app.app_context():
        payment = seed.payment(status="succeeded")
        seed.review(seed.payment(status="pending"))
        seed.alert(severity="critical")
        seed.timing("end_to_end", 1234.0)
        db.session.commit()
        token = payment.token
    schema = schemathesis.openapi.from_dict(document)
    answers = {
        ("/admin/api/metrics/summary", "GET"): admin_client.get("/admin/api/metrics/summary?window=24h"),
        ("/admin/api/alerts", "GET"): admin_client.get("/admin/api/alerts"),
        ("/admin/api/manual-reviews", "GET"): admin_client.get("/admin/api/manual-reviews"),
        ("/admin/api/payments", "GET"): admin_client.get("/admin/api/payments"),
        ("/admin/api/audit-logs", "GET"): admin_client.get(f"/admin/api/audit-logs?actor={ADMIN_EMAIL}"),
        ("/api/payments/{token}/status", "GET"): admin_client.get(f"/api/payments/{token}/status"),
        ("/api/payments/{token}/status", "GET", 404): admin_client.get("/api/payments/no-such-token/status"),
        ("/webhooks/ikhokha", "POST"): admin_client.post("/webhooks/ikhokha", json={"paylinkID": "x", "status": "SUCCESS"}),
        ("/admin/api/payments", "GET", 401): app.test_client().get("/admin/api/payments"),
    }
    for (path, method, *expected), response in answers.items():
        assert response.status_code == (expected[0] if expected else response.status_code)
        assert response.status_code < 500, (path, response.get_data(as_text=True))
        schema[path][method].validate_response(response)
    assert answers[("/admin/api/alerts", "GET")].get_json()["alerts"][0]["severity"] == "critical"
    assert answers[("/webhooks/ikhokha", "POST")].status_code == 401

    # The check has teeth: an answer of the wrong shape is refused.
    wrong = admin_client.get("/admin/api/alerts")
    wrong.set_data(b'{"alerts": "not a list"}')
    with pytest.raises(AssertionError):
        schema["/admin/api/alerts"]["GET"].validate_response(wrong)
