"""The app factory: one config class per environment, and refusing to serve a configuration that is not fit."""

import subprocess
import sys
from pathlib import Path

import pytest

import config
from cardpay import create_app
from tests.config_helpers import DB_PASSWORD, production_settings, run_flask

TEST_KEY = "factory-test-secret-key-0123456789abcdef"


def test_development_app(migrated_database):
    app = create_app({"CARDPAY_ENV": "development", "DATABASE_URL": migrated_database, "SECRET_KEY": TEST_KEY})
    assert app.config["CARDPAY_ENV"] == "development"
    assert app.config["TESTING"] is False and app.config["DEBUG"] is False
    assert app.session_interface.get_cookie_secure(app) is False
    assert app.config["SCHEDULER_ENABLED"] is True
    assert "sandbox" in app.blueprints  # development buys courses through the built-in gateway
    assert app.config["IKHOKHA_API_URL"].endswith("/sandbox/ikhokha/api")


def test_testing_app(app):
    assert app.config["CARDPAY_ENV"] == "testing"
    assert app.config["TESTING"] is True
    assert app.config["SCHEDULER_ENABLED"] is False
    assert app.config["WTF_CSRF_ENABLED"] is False  # a Flask-only override passes straight through


def test_production_app_has_secure_cookies_no_sandbox_and_psycopg_3():
    app = create_app(production_settings())
    assert app.config["CARDPAY_ENV"] == "production" and app.config["TESTING"] is False
    assert app.session_interface.get_cookie_secure(app) is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True and app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["PREFERRED_URL_SCHEME"] == "https"
    assert "sandbox" not in app.blueprints
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"postgresql+psycopg://cardpay:{DB_PASSWORD}@127.0.0.1:9/cardpay"
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {
        "connect_timeout": config.DATABASE_CONNECT_TIMEOUT_SECONDS}
    assert app.config["SCHEDULER_ENABLED"] is True


def test_the_development_secret_key_is_kept_in_the_instance_folder(tmp_path):
    mapping, _ = config.build_config(tmp_path, environ={})
    assert mapping["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    again, _ = config.build_config(tmp_path, environ={})
    assert again["SECRET_KEY"] == mapping["SECRET_KEY"]
    assert config.build_config(tmp_path, environ={})[0]["SQLALCHEMY_DATABASE_URI"] == (
        f"sqlite:///{tmp_path / 'cardpay.sqlite3'}")


def test_an_invalid_value_stops_the_factory_with_one_line_naming_it(migrated_database):
    settings = {"CARDPAY_ENV": "testing", "DATABASE_URL": migrated_database, "SECRET_KEY": TEST_KEY,
                "WEBHOOK_TIMESTAMP_TOLERANCE": "soon", "ALERT_EMAIL": "ops-at-example.com"}
    with pytest.raises(config.ConfigError) as caught:
        create_app(settings)
    assert str(caught.value) == ("cardpay cannot start: ALERT_EMAIL: not an email address: 'ops-at-example.com'; "
                                 "WEBHOOK_TIMESTAMP_TOLERANCE: expected a positive number")


def test_production_refuses_to_serve_without_credentials_and_postgresql():
    with pytest.raises(config.ConfigError) as caught:
        create_app({"CARDPAY_ENV": "production"})
    message = str(caught.value)
    assert "\n" not in message and message.startswith("cardpay cannot start: ")
    for line in ("SECRET_KEY: required in production", "IKHOKHA_API_KEY: required in production",
                 "IKHOKHA_API_SECRET: required in production", "DATABASE_URL: required in production"):
        assert line in message


@pytest.mark.parametrize("missing", ["SECRET_KEY", "IKHOKHA_API_KEY", "IKHOKHA_API_SECRET", "DATABASE_URL"])
def test_production_names_the_one_thing_missing(missing):
    with pytest.raises(config.ConfigError) as caught:
        create_app(production_settings(**{missing: None}))
    assert str(caught.value) == f"cardpay cannot start: {missing}: required in production"


def test_production_refuses_sqlite():
    with pytest.raises(config.ConfigError, match="DATABASE_URL: production needs PostgreSQL"):
        create_app(production_settings(DATABASE_URL="sqlite:////srv/cardpay.sqlite3"))


def test_flask_run_refuses_an_unfit_production_configuration_in_one_line():
    result = run_flask(["run", "--port", "9"], {"CARDPAY_ENV": "production", "IKHOKHA_API_KEY": "live-app-id"},
                       timeout=30)
    assert result.returncode == 1
    assert "cardpay cannot start: SECRET_KEY: required in production; IKHOKHA_API_SECRET: required" \
           in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "live-app-id" not in result.stderr + result.stdout


def test_scheduler_refuses_an_unfit_production_configuration_in_one_line():
    result = run_flask(["cardpay", "scheduler"], {"CARDPAY_ENV": "production", "IKHOKHA_API_KEY": "live-app-id"},
                       timeout=30)
    assert result.returncode == 1
    assert "cardpay cannot start: SECRET_KEY: required in production" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "live-app-id" not in result.stderr + result.stdout


def test_gunicorn_import_of_wsgi_refuses_in_one_line():
    env = {"PATH": "/usr/bin:/bin", "CARDPAY_ENV": "production", "IKHOKHA_API_KEY": "live-app-id"}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=Path(__file__).resolve().parents[2],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.startswith("cardpay cannot start: SECRET_KEY: required in production")
    assert "Traceback" not in result.stderr
