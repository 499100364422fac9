"""`flask cardpay api-key create|list|revoke`, and the access API in /openapi.json."""

import schemathesis

from cardpay.core.extensions import db
from cardpay.models import AuditLog


def audit_actions(app):
    with app.app_context():
        return [(row.action, row.details["name"]) for row in db.session.execute(
            db.select(AuditLog).where(AuditLog.action.like("api_key_%")).order_by(AuditLog.id)).scalars()]


def test_create_prints_the_key_once_then_list_and_revoke(app, runner, client):
    created = runner.invoke(args=["cardpay", "api-key", "create", "moodle"])
    assert created.exit_code == 0, created.output
    first, second = created.output.splitlines()
    key = first.split(": ", 1)[1]
    assert first.startswith("api key moodle: cpk_") and "will not be shown again" in second
    assert client.get("/api/v1/enrollments?email=a@example.com",
                      headers={"Authorization": f"Bearer {key}"}).status_code == 200

    listed = runner.invoke(args=["cardpay", "api-key", "list"]).output
    assert "moodle" in listed and key[:12] in listed and key not in listed
    row = listed.splitlines()[1].split()
    assert row[-2:] == ["1", "-"]  # one use, not revoked

    assert runner.invoke(args=["cardpay", "api-key", "create", "moodle"]).exit_code == 1  # the name is taken
    revoked = runner.invoke(args=["cardpay", "api-key", "revoke", "moodle"])
    assert revoked.exit_code == 0 and "api key moodle revoked" in revoked.output
    assert "UTC" in runner.invoke(args=["cardpay", "api-key", "list"]).output.splitlines()[1].split("  ")[-1]
    assert client.get("/api/v1/enrollments?email=a@example.com",
                      headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert runner.invoke(args=["cardpay", "api-key", "revoke", "moodle"]).exit_code == 1
    assert audit_actions(app) == [("api_key_created", "moodle"), ("api_key_revoked", "moodle")]


def test_the_access_api_is_in_the_openapi_document_with_a_bearer_scheme(app, client):
    document = client.get("/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["accessApiKey"]["type"] == "http"
    assert document["components"]["securitySchemes"]["accessApiKey"]["scheme"] == "bearer"
    operation = document["paths"]["/api/v1/enrollments"]["get"]
    assert operation["security"] == [{"accessApiKey": []}]
    assert {"200", "400", "401"} <= set(operation["responses"])
    created = app.test_cli_runner().invoke(args=["cardpay", "api-key", "create", "lms"]).output
    key = created.splitlines()[0].split(": ", 1)[1]
    schema = schemathesis.openapi.from_dict(document)
    for response in (client.get("/api/v1/enrollments?email=a@example.com", headers={"Authorization": f"Bearer {key}"}),
                     client.get("/api/v1/enrollments?email=a@example.com"),
                     client.get("/api/v1/enrollments", headers={"Authorization": f"Bearer {key}"})):
        schema["/api/v1/enrollments"]["GET"].validate_response(response)
