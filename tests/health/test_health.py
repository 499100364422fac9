"""GET /health for load balancers (200, or 503 without a usable database) and GET /health/config for operators
(booleans only), plus their legacy Netlify paths."""

import pytest

import config
from tests.config_helpers import DB_PASSWORD, SECRETS, closed_port, leaked


def assert_unavailable(response, reason):
    """A 503 in the JSON envelope, naming the reason, with no trace or connection detail."""
    assert response.status_code == 503
    assert response.is_json
    body = response.get_json()
    assert body["error"] == "database_unavailable" and reason in body["message"]
    assert body["status"] == "unavailable" and body["checks"]["database"]["ok"] is False
    text = response.get_data(as_text=True)
    for fragment in ("Traceback", "File \"", "sqlalchemy", "psycopg", "OperationalError", DB_PASSWORD):
        assert fragment not in text
    return body


@pytest.mark.parametrize("path", ["/health", "/.netlify/functions/health-check"])
def test_health_is_200_with_its_checks_on_a_working_database(client, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["time"].endswith("Z")
    assert body["checks"]["database"]["ok"] is True and body["checks"]["database"]["latency_ms"] >= 0
    assert body["checks"]["scheduler"] == {"last_job_finished_at": None, "age_seconds": None}
    assert body["checks"]["last_callback"] == {"received_at": None, "age_seconds": None}
    assert "error" not in body


def test_health_is_503_when_postgresql_does_not_answer(app_factory):
    app = app_factory(DATABASE_URL=f"postgresql://cardpay:{DB_PASSWORD}@127.0.0.1:{closed_port()}/cardpay")
    response = app.test_client().get("/health")
    assert_unavailable(response, "database unreachable")


def test_health_is_503_when_the_sqlite_file_cannot_be_opened(app_factory, tmp_path):
    app = app_factory(DATABASE_URL=f"sqlite:///{tmp_path / 'no-such-directory' / 'cardpay.sqlite3'}")
    response = app.test_client().get("/.netlify/functions/health-check")
    assert_unavailable(response, "database unreachable")


def test_health_is_503_when_the_database_was_never_migrated(app_factory, tmp_path):
    app = app_factory(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    response = app.test_client().get("/health")
    assert_unavailable(response, "run flask db upgrade")


def test_health_recovers_on_the_next_probe(app_factory, client):
    broken = app_factory(DATABASE_URL=f"postgresql://cardpay@127.0.0.1:{closed_port()}/cardpay")
    assert broken.test_client().get("/health").status_code == 503
    assert client.get("/health").status_code == 200  # nothing cached from the failure


@pytest.mark.parametrize("path", ["/health/config", "/.netlify/functions/config-check"])
def test_health_config_answers_booleans_and_never_a_value(app_factory, path):
    app = app_factory(**SECRETS, ALERT_WEBHOOK_URL="https://alerts.example.com/hook-Zq7Wv3")
    response = app.test_client().get(path)
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is True and body["status"] == "ok" and body["problem_count"] == 0
    assert set(body["settings"]) == {s.name for s in config.SETTINGS}
    for name, entry in body["settings"].items():
        assert set(entry) == {"set", "valid"} and all(isinstance(v, bool) for v in entry.values()), name
    assert body["settings"]["IKHOKHA_API_SECRET"] == {"set": True, "valid": True}
    assert body["settings"]["ALERT_SLACK_WEBHOOK"] == {"set": False, "valid": True}
    text = response.get_data(as_text=True)
    for secret in [*SECRETS.values(), "hook-Zq7Wv3"]:
        assert leaked(secret, text) is None and secret[-4:] not in text  # not even the CLI's last-4 hint


def test_health_config_marks_exactly_the_settings_with_a_problem(app_factory):
    app = app_factory(ENABLE_WEBHOOK_IP_VERIFICATION="true", IKHOKHA_WEBHOOK_SECRET_PREVIOUS="previous-Kd93",
                      IKHOKHA_WEBHOOK_SECRET="current-Lm28")
    body = app.test_client().get("/health/config").get_json()
    assert body["valid"] is False and body["status"] == "invalid" and body["problem_count"] == 2
    invalid = {name for name, entry in body["settings"].items() if not entry["valid"]}
    assert invalid == {"WEBHOOK_ALLOWED_IPS", "IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES"}
