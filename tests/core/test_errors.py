"""Every error on a JSON path is the envelope {"error", "message"}; no client ever sees a stack trace."""

import pytest
from sqlalchemy import text

from cardpay.core.extensions import db

INTERNAL_DETAIL = "internal-detail-Xq93"


@pytest.fixture
def exploding_app(app_factory):
    """An app with test-only routes that fail the way real code can."""
    app = app_factory()

    def explode():
        raise RuntimeError(f"something broke: {INTERNAL_DETAIL}")

    def bad_sql():
        db.session.execute(text("SELECT no_such_column FROM no_such_table"))

    app.add_url_rule("/api/test-explode", "test_explode_api", explode)
    app.add_url_rule("/webhooks/test-explode", "test_explode_webhook", explode, methods=["POST"])
    app.add_url_rule("/test-explode", "test_explode_page", explode)
    app.add_url_rule("/api/test-bad-sql", "test_bad_sql", bad_sql)
    return app


def assert_no_trace(response):
    body = response.get_data(as_text=True)
    for fragment in ("Traceback", "File \"", "RuntimeError", INTERNAL_DETAIL, "no_such_table"):
        assert fragment not in body


@pytest.mark.parametrize("path", ["/api/payments/nope/nothing", "/webhooks/nowhere", "/admin/api/nothing-here",
                                  "/health/nothing", "/.netlify/functions/no-such-function"])
def test_unknown_json_paths_are_404_in_the_envelope(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.is_json
    body = response.get_json()
    assert body["error"] == "not_found" and isinstance(body["message"], str) and body["message"]
    assert set(body) == {"error", "message"}


def test_a_wrong_method_is_405_in_the_envelope_with_allow(client):
    response = client.delete("/health")
    assert response.status_code == 405 and response.is_json
    assert response.get_json()["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("method, path", [("get", "/api/test-explode"), ("post", "/webhooks/test-explode")])
def test_an_unexpected_exception_is_500_in_the_envelope_without_a_trace(exploding_app, method, path):
    response = getattr(exploding_app.test_client(), method)(path)
    assert response.status_code == 500 and response.is_json
    assert response.get_json() == {"error": "internal_error",
                                   "message": "Something went wrong on our side; it has been logged."}
    assert_no_trace(response)


def test_an_unexpected_exception_on_a_page_is_an_html_500_without_a_trace(exploding_app):
    response = exploding_app.test_client().get("/test-explode")
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert_no_trace(response)


def test_a_failed_query_is_rolled_back_and_the_app_keeps_serving(exploding_app):
    client = exploding_app.test_client()
    response = client.get("/api/test-bad-sql")
    assert response.status_code == 500 and response.get_json()["error"] == "internal_error"
    assert_no_trace(response)
    assert client.get("/health").status_code == 200


def test_a_client_asking_for_json_gets_the_envelope_anywhere(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
