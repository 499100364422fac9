"""GET /openapi.json: the OpenAPI 3 document of cardpay's JSON API, the access API and the iKhokha callback.

Built with apispec from the same marshmallow schemas the views serialise with, so the document
cannot describe a field the API does not send. Every error answer is the envelope of SPEC §4.
"""

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify

from cardpay.admin import queries
from cardpay.admin import schemas as admin_schemas
from cardpay.callbacks.schemas import TIMESTAMP_DOC, CallbackSchema
from cardpay.integrations.schemas import EnrollmentListSchema
from cardpay.payments.schemas import PaymentStatusSchema

bp = Blueprint("openapi", __name__)
_document = {}

ERROR = {"content": {"application/json": {"schema": "Error"}}}
TOKEN = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "the unguessable per-payment token from the return page URL"}
PAGE = {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000},
        "description": "page of 50 rows, from 1 (default); anything else is a 400"}
TOO_MANY = {"description": "too many requests from this source: wait Retry-After seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}, **ERROR}
CALLBACK_EXAMPLE = {"paylinkID": "PL-8f2c1e9a7b", "status": "SUCCESS",
                    "externalTransactionID": "cp_3f9a0c2e8b7d4e61a5c0d2b4f6e8a1c3", "responseCode": "00"}


def _error(description):
    return {"description": description, **ERROR}


def _ok(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _obj(**properties):
    return {"type": "object", "properties": {k: {"type": v} for k, v in properties.items()}}


BAD_LIST_QUERY = ("a status, severity or other listed value that is not one of the documented ones, a page that "
                  "is not a whole number from 1 to 100000, or a NUL byte in a parameter")


def _query(name, description, enum=None):
    schema = {"type": "string", **({"enum": list(enum)} if enum else {})}
    if enum:
        description += " (an empty value is the same as leaving it out; any other value is a 400)"
    return {"name": name, "in": "query", "schema": schema, "description": description}


def _learner_paths(spec):
    spec.path(path="/api/payments/{token}/status", parameters=[TOKEN], operations={"get": {
        "operationId": "paymentStatus", "tags": ["learner"],
        "summary": "Payment and access status, polled by the return page (asks getStatus when a callback is late)",
        "responses": {"200": _ok(PaymentStatusSchema), "404": _error("no payment has this token"),
                      "429": TOO_MANY}}})
    spec.path(path="/api/payments/{token}/ui-ack", parameters=[TOKEN], operations={"post": {
        "operationId": "uiAck", "tags": ["learner"],
        "summary": "The return page reports that it shows access (closes the ui_update and end_to_end timings)",
        "responses": {"200": _ok(_obj(acknowledged="boolean", recorded="boolean")),
                      "404": _error("no payment has this token"),
                      "409": _error("access has not been granted for this payment yet")}}})


def _callback_paths(spec):
    headers = [
        {"name": "IK-APPID", "in": "header", "required": True, "schema": {"type": "string"},
         "description": "the iK Pay Application ID"},
        {"name": "IK-SIGN", "in": "header", "required": True, "schema": {"type": "string"},
         "description": "hex HMAC of escape(request path + raw body) with the callback secret"},
        {"name": "IK-TIMESTAMP", "in": "header", "schema": {"type": "string"}, "example": "1796472000",
         "description": TIMESTAMP_DOC},
    ]
    operation = {
        "tags": ["callback"], "summary": "iKhokha payment callback (SPEC §5): 200 once durably recorded",
        "description": "Checked in SPEC §5's order: size, JSON, IP list, IK-APPID, IK-SIGN, timestamps (header "
                       "IK-TIMESTAMP and body field timestamp, each when present), then the body schema.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": CallbackSchema,
                                                                            "example": CALLBACK_EXAMPLE}}},
        "responses": {"200": _ok(_obj(received="boolean", event_id="integer", outcome="string"),
                                 "recorded: processed now, a duplicate, or sent to manual review"),
                      "400": _error("not JSON, a timestamp that does not parse, or a body that fails the schema"),
                      "401": _error("IK-APPID or IK-SIGN missing or wrong, or a timestamp out of tolerance"),
                      "403": _error("IP verification on and the sender is not allowed"),
                      "413": _error("body over 65,536 bytes"),
                      "429": TOO_MANY,
                      "503": _error("the delivery could not be recorded; the gateway should retry")}}
    for path, operation_id in (("/webhooks/ikhokha", "ikhokhaCallback"),
                               ("/.netlify/functions/ikhokha-webhook", "ikhokhaCallbackLegacy")):
        spec.path(path=path, parameters=headers, operations={"post": {**operation, "operationId": operation_id}})


def _admin_paths(spec):
    guarded = {"security": [{"adminSession": []}], "tags": ["admin"]}
    unauthorised = {"401": _error("not signed in (sign in at /admin/login)")}
    spec.path(path="/admin/api/metrics/summary", operations={"get": {
        **guarded, "operationId": "metricsSummary", "summary": "Everything the dashboard shows, with the success criteria",
        "parameters": [_query("window", "1h (default), 24h or 7d; anything else is a 400", ["1h", "24h", "7d"])],
        "responses": {"200": _ok(admin_schemas.SummarySchema), "400": _error("unknown window"), **unauthorised}}})
    lists = (
        ("/admin/api/alerts", "listAlerts", "Alerts, open by default", admin_schemas.AlertSchema, "alerts",
         [_query("status", "open (default) or resolved", queries.ALERT_STATES),
          _query("severity", "only this severity", queries.SEVERITIES)]),
        ("/admin/api/manual-reviews", "listManualReviews", "Manual-review items, open by default",
         admin_schemas.ManualReviewSchema, "items", [_query("status", "open (default) or decided",
                                                            queries.REVIEW_STATES)]),
        ("/admin/api/payments", "listPayments", "Payments, newest first", admin_schemas.AdminPaymentSchema, "payments",
         [_query("q", "part of a learner email, paylink ID, reference or course slug"),
          _query("status", "payment status (abandoned: created or pending past STALE_PAYMENT_MINUTES); "
                 "another value is a 400", ["created", "pending", "succeeded", "failed", "manual_review", "abandoned"]),
          _query("from", "first creation day, YYYY-MM-DD in DISPLAY_TIMEZONE"),
          _query("to", "last creation day (included), YYYY-MM-DD in DISPLAY_TIMEZONE")]),
        ("/admin/api/audit-logs", "listAuditLogs", "Audit-log entries, newest first", admin_schemas.AuditLogSchema,
         "entries", [_query("actor", "part of the actor"), _query("action", "exact action"),
                     _query("target", "type or type:id"), _query("outcome", "ok, refused, ...")]),
    )
    for path, operation_id, summary, schema, key, parameters in lists:
        body = {"type": "object", "properties": {key: {"type": "array", "items": schema},
                                                 "page": {"type": "integer"}, "has_next": {"type": "boolean"}}}
        spec.path(path=path, operations={"get": {**guarded, "operationId": operation_id, "summary": summary,
                                                 "parameters": parameters + [PAGE],
                                                 "responses": {"200": _ok(body), **unauthorised,
                                                               "400": _error(BAD_LIST_QUERY)}}})


def _integration_paths(spec):
    spec.path(path="/api/v1/enrollments", operations={"get": {
        "operationId": "listEnrollments", "tags": ["access API"], "security": [{"accessApiKey": []}],
        "summary": "A learner's enrollments, for a learning platform that asks instead of listening (SPEC §14)",
        "parameters": [{**_query("email", "the learner's email address"), "required": True},
                       _query("course", "only this course (its slug)")],
        "responses": {"200": _ok(EnrollmentListSchema),
                      "400": _error("email missing or not an email address"),
                      "401": _error("Authorization: Bearer <key> missing, or the key is unknown or revoked")}}})


def _health_paths(spec):
    spec.path(path="/health", operations={"get": {
        "operationId": "health", "tags": ["health"], "summary": "Database, scheduler and last-callback checks",
        "responses": {"200": _ok(_obj(status="string")),
                      "503": _ok(_obj(status="string"), "the database is unreachable")}}})
    spec.path(path="/health/config", operations={"get": {
        "operationId": "configCheck", "tags": ["health"], "summary": "Which settings are set and valid (booleans)",
        "responses": {"200": _ok(_obj(valid="boolean", problem_count="integer"))}}})


def build():
    """Return the OpenAPI document as a dict."""
    spec = APISpec(title="cardpay", version="1.0.0", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "A successful iKhokha card payment becomes immediate course access. "
                                        "Errors are {\"error\": code, \"message\": sentence}."})
    spec.components.schema("Error", schema=admin_schemas.ErrorSchema)
    spec.components.security_scheme("adminSession", {
        "type": "apiKey", "in": "cookie", "name": "session",
        "description": "the session cookie set by signing in at /admin/login"})
    spec.components.security_scheme("accessApiKey", {
        "type": "http", "scheme": "bearer",
        "description": "an access API key from `flask cardpay api-key create NAME`"})
    for add in (_learner_paths, _callback_paths, _admin_paths, _integration_paths, _health_paths):
        add(spec)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_json():
    """Serve the OpenAPI document (built once per process: it depends on code, not on data)."""
    if "doc" not in _document:
        _document["doc"] = build()
    return jsonify(_document["doc"])
