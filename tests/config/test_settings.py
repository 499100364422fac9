"""Reading settings: every kind parses to its type, VITE_ names work, bad values give one clear line."""

import ipaddress
import stat
import threading
from datetime import datetime, timezone

import pytest

import config


def read(**environ):
    """Read settings from exactly this environment."""
    return config.read_settings(environ)


def test_defaults_in_development_need_no_credentials_and_use_the_sandbox():
    loaded = read()
    values = loaded.values
    assert loaded.errors == [] and config.find_problems(loaded) == []
    assert values["CARDPAY_ENV"] == "development"
    assert values["IKHOKHA_API_KEY"] is None  # filled by build_config from the install's own sandbox credentials
    assert values["IKHOKHA_API_URL"] == "http://127.0.0.1:5000/sandbox/ikhokha/api"
    assert values["WEBHOOK_ENDPOINT"] == "http://127.0.0.1:5000/webhooks/ikhokha"
    assert values["IKHOKHA_WEBHOOK_SECRET"] is None
    assert values["SANDBOX_GATEWAY_ENABLED"] is True and values["SCHEDULER_ENABLED"] is True
    assert values["ALERT_ALLOW_PRIVATE_NETWORKS"] is True


def test_production_defaults_turn_the_sandbox_off_and_use_ikhokha():
    values = read(CARDPAY_ENV="production").values
    assert values["IKHOKHA_API_URL"] == "https://api.ikhokha.com/public-api/v1/api"
    assert values["IKHOKHA_API_KEY"] is None and values["IKHOKHA_API_SECRET"] is None
    assert values["SANDBOX_GATEWAY_ENABLED"] is False and values["ALERT_ALLOW_PRIVATE_NETWORKS"] is False
    assert read(CARDPAY_ENV="testing").values["SCHEDULER_ENABLED"] is False


def test_derived_defaults_follow_the_settings_they_come_from():
    values = read(PRODUCTION_URL="https://pay.example.com/", IKHOKHA_API_SECRET="s3cret-value").values
    assert values["PRODUCTION_URL"] == "https://pay.example.com"
    assert values["WEBHOOK_ENDPOINT"] == "https://pay.example.com/webhooks/ikhokha"
    assert values["IKHOKHA_API_URL"] == "https://pay.example.com/sandbox/ikhokha/api"
    assert values["IKHOKHA_WEBHOOK_SECRET"] == "s3cret-value"


@pytest.mark.parametrize("raw, expected", [
    ("true", True), ("TRUE", True), ("yes", True), ("on", True), ("1", True),
    ("false", False), ("No", False), ("off", False), ("0", False),
])
def test_booleans(raw, expected):
    assert read(ENABLE_WEBHOOK_IP_VERIFICATION=raw, WEBHOOK_ALLOWED_IPS="10.0.0.1").values[
        "ENABLE_WEBHOOK_IP_VERIFICATION"] is expected


def test_integers_and_positive_numbers():
    values = read(TRUSTED_PROXY_COUNT=" 2 ", MAIL_PORT="587", WEBHOOK_PROCESSING_THRESHOLD="4500",
                  ERROR_RATE_ALERT_THRESHOLD="2.5").values
    assert values["TRUSTED_PROXY_COUNT"] == 2 and values["MAIL_PORT"] == 587
    assert values["WEBHOOK_PROCESSING_THRESHOLD"] == 4500 and isinstance(values["WEBHOOK_PROCESSING_THRESHOLD"], int)
    assert values["ERROR_RATE_ALERT_THRESHOLD"] == 2.5


def test_urls_emails_ip_lists_and_times():
    values = read(ALERT_SLACK_WEBHOOK="https://hooks.slack.com/services/T0/B0/x",
                  ALERT_EMAIL="ops@example.com, cto@example.com",
                  WEBHOOK_ALLOWED_IPS="196.22.1.10, 41.0.0.0/8,2001:db8::/32, 10.1.2.3/24",
                  IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES="2026-03-01T12:00:00+02:00").values
    assert values["ALERT_SLACK_WEBHOOK"] == "https://hooks.slack.com/services/T0/B0/x"
    assert values["ALERT_EMAIL"] == ["ops@example.com", "cto@example.com"]
    assert values["WEBHOOK_ALLOWED_IPS"] == (
        ipaddress.ip_network("196.22.1.10/32"), ipaddress.ip_network("41.0.0.0/8"),
        ipaddress.ip_network("2001:db8::/32"), ipaddress.ip_network("10.1.2.0/24"))
    assert values["IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES"] == datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    zulu = read(IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES="2026-03-01T10:00:00Z").values
    assert zulu["IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES"] == datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def test_text_and_secrets_are_trimmed():
    values = read(MAIL_SERVER="  smtp.example.com ", IKHOKHA_API_SECRET=" live-secret-value\n").values
    assert values["MAIL_SERVER"] == "smtp.example.com" and values["IKHOKHA_API_SECRET"] == "live-secret-value"


def test_choices_ignore_letter_case():
    values = read(CARDPAY_ENV="Testing", WEBHOOK_SIGNATURE_ALGORITHM="SHA512", CARD_PAYMENT_LOG_LEVEL="DEBUG").values
    assert (values["CARDPAY_ENV"], values["WEBHOOK_SIGNATURE_ALGORITHM"], values["CARD_PAYMENT_LOG_LEVEL"]) == (
        "testing", "sha512", "debug")


@pytest.mark.parametrize("raw, expected", [
    ("postgres://u:p@db:5432/cardpay", "postgresql+psycopg://u:p@db:5432/cardpay"),
    ("postgresql://u:p@db/cardpay", "postgresql+psycopg://u:p@db/cardpay"),
    ("postgresql+psycopg://u@db/cardpay", "postgresql+psycopg://u@db/cardpay"),
    ("sqlite:////var/lib/cardpay/cardpay.sqlite3", "sqlite:////var/lib/cardpay/cardpay.sqlite3"),
])
def test_database_urls_run_on_psycopg_3(raw, expected):
    assert read(DATABASE_URL=raw).values["DATABASE_URL"] == expected


@pytest.mark.parametrize("name, raw, reason", [
    ("MAIL_USE_TLS", "maybe", "expected true or false"),
    ("TRUSTED_PROXY_COUNT", "two", "expected a whole number"),
    ("WEBHOOK_TIMESTAMP_TOLERANCE", "0", "expected a positive number"),
    ("END_TO_END_THRESHOLD", "-10", "expected a positive number"),
    ("UI_UPDATE_THRESHOLD", "nan", "expected a positive number"),
    ("ALERT_WEBHOOK_URL", "hooks.example.com/alert", "expected an http(s) URL"),
    ("ALERT_WEBHOOK_URL", "ftp://example.com/alert", "expected an http(s) URL"),
    ("PRODUCTION_URL", "https://pay.example.com:port", "expected an http(s) URL"),
    ("PRODUCTION_URL", "https://pay example.com", "expected an http(s) URL"),
    ("ALERT_EMAIL", "ops@example.com, not-an-address", "not an email address: 'not-an-address'"),
    ("ALERT_EMAIL", "a@@example.com", "not an email address"),
    ("WEBHOOK_ALLOWED_IPS", "10.0.0.1, 300.1.1.1", "not an IP address or CIDR range: '300.1.1.1'"),
    ("WEBHOOK_ALLOWED_IPS", "10.0.0.0/33", "not an IP address or CIDR range"),
    ("IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES", "2026-03-01T10:00:00", "expected an ISO 8601 time with a zone"),
    ("IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES", "next tuesday", "expected an ISO 8601 time with a zone"),
    ("WEBHOOK_SIGNATURE_ALGORITHM", "md5", "expected one of sha256, sha512 (got 'md5')"),
    ("CARDPAY_ENV", "staging", "expected one of development, testing, production (got 'staging')"),
    ("DATABASE_URL", "mysql://u:p@db/cardpay", "expected a sqlite: or postgresql:// URL"),
])
def test_an_invalid_value_is_one_line_naming_the_setting(name, raw, reason):
    loaded = read(**{name: raw})
    assert len(loaded.errors) == 1
    line = loaded.errors[0]
    assert line.startswith(f"{name}: ") and reason in line and "\n" not in line
    assert loaded.values[name] == config.SETTINGS_BY_NAME[name].env_defaults.get(
        "development", config.SETTINGS_BY_NAME[name].default)  # the default stands, nothing half-parsed


def test_a_database_url_error_never_repeats_the_url():
    loaded = read(DATABASE_URL="mysql://cardpay:hunter2secret@db/cardpay")
    assert "hunter2secret" not in " ".join(loaded.errors)


def test_legacy_vite_names_are_read_and_the_plain_name_wins():
    loaded = read(VITE_IKHOKHA_API_KEY="legacy-app-id", VITE_MAIL_PORT="2525",
                  MAIL_PORT="587", VITE_ENABLE_CARD_PAYMENT_FAST_TRACK="false", VITE_CARDPAY_ENV="production")
    values = loaded.values
    assert values["CARDPAY_ENV"] == "production"
    assert values["IKHOKHA_API_KEY"] == "legacy-app-id"
    assert values["MAIL_PORT"] == 587
    assert values["ENABLE_CARD_PAYMENT_FAST_TRACK"] is False
    assert loaded.sources["IKHOKHA_API_KEY"] == "VITE_IKHOKHA_API_KEY" and loaded.sources["MAIL_PORT"] == "MAIL_PORT"
    assert sorted(loaded.legacy) == ["VITE_CARDPAY_ENV", "VITE_ENABLE_CARD_PAYMENT_FAST_TRACK",
                                     "VITE_IKHOKHA_API_KEY", "VITE_MAIL_PORT"]


def test_an_invalid_legacy_value_is_reported_under_the_legacy_name():
    assert read(VITE_WEBHOOK_TIMESTAMP_TOLERANCE="soon").errors == [
        "VITE_WEBHOOK_TIMESTAMP_TOLERANCE: expected a positive number"]


def test_empty_values_count_as_unset():
    loaded = read(MAIL_PORT="", VITE_MAIL_PORT="2525", ALERT_EMAIL="")
    assert loaded.values["MAIL_PORT"] == 2525 and loaded.values["ALERT_EMAIL"] is None


def test_hint_shows_at_most_the_last_four_characters():
    assert config.hint("0123456789abcdef") == "…cdef"
    assert config.hint("short") == "(set)"
    assert config.hint(None) == "(not set)"


def test_problems_outside_production():
    problems = config.find_problems(read(
        ENABLE_WEBHOOK_IP_VERIFICATION="true", IKHOKHA_WEBHOOK_SECRET_PREVIOUS="old-secret-value",
        TRUSTED_PROXY_COUNT="-1", MAIL_PORT="70000", SANDBOX_GATEWAY_ENABLED="false"))
    assert [config.problem_settings(line) for line in problems] == [
        {"WEBHOOK_ALLOWED_IPS"}, {"IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES"}, {"TRUSTED_PROXY_COUNT"},
        {"IKHOKHA_API_URL"}, {"MAIL_PORT"}]
    assert "every callback would be refused" in problems[0]


def test_production_problems_name_every_missing_setting():
    problems = config.find_problems(read(CARDPAY_ENV="production"))
    assert problems == [
        "SECRET_KEY: required in production",
        "IKHOKHA_API_KEY: required in production",
        "IKHOKHA_API_SECRET: required in production",
        "DATABASE_URL: required in production",
        "ALERT_WEBHOOK_URL, ALERT_EMAIL, ALERT_SLACK_WEBHOOK: production needs at least one alert channel",
        "PRODUCTION_URL: production URLs must use https",
    ]
    assert config.fatal_problems(read(CARDPAY_ENV="production")) == problems


def test_production_refuses_sqlite_sandbox_and_weak_settings():
    problems = config.find_problems(read(
        CARDPAY_ENV="production", SECRET_KEY="too-short", IKHOKHA_API_KEY=config.PUBLISHED_SANDBOX_CREDENTIALS[0],
        IKHOKHA_API_SECRET="live-secret-value", DATABASE_URL="sqlite:////srv/cardpay.sqlite3",
        PRODUCTION_URL="https://pay.example.com", ALERT_WEBHOOK_URL="http://93.184.216.34/hook",
        ENABLE_ENHANCED_WEBHOOK_VALIDATION="false", SANDBOX_GATEWAY_ENABLED="true"))
    assert problems == [
        "DATABASE_URL: production needs PostgreSQL (SQLite is for development)",
        "ALERT_WEBHOOK_URL: production URLs must use https",
        "IKHOKHA_API_KEY: the sandbox credential may not be used in production",
        "ENABLE_ENHANCED_WEBHOOK_VALIDATION: may not be false in production",
        "SANDBOX_GATEWAY_ENABLED: the sandbox gateway may not run in production",
        "SECRET_KEY: shorter than 32 characters",
    ]


def test_outside_production_only_unparseable_values_are_fatal():
    loaded = read(ENABLE_WEBHOOK_IP_VERIFICATION="true", MAIL_PORT="many")
    assert config.fatal_problems(loaded) == ["MAIL_PORT: expected a whole number"]
    with pytest.raises(config.ConfigError, match=r"^cardpay cannot start: MAIL_PORT: expected a whole number$"):
        config.refuse_to_serve(loaded)
    config.refuse_to_serve(read())  # a clean configuration passes


def test_a_template_placeholder_left_in_is_a_problem():
    problems = config.find_problems(read(ALERT_WEBHOOK_URL=f"https://{config.PLACEHOLDER}.example.com/hook",
                                         IKHOKHA_API_SECRET=config.PLACEHOLDER))
    assert problems == [f"IKHOKHA_API_SECRET: still holds the template's {config.PLACEHOLDER} placeholder",
                        f"ALERT_WEBHOOK_URL: still holds the template's {config.PLACEHOLDER} placeholder"]


def test_instance_secret_key_is_created_once_and_shared_by_workers_starting_together(tmp_path):
    instance = tmp_path / "instance"
    barrier, keys = threading.Barrier(12), []

    def worker():
        barrier.wait()
        keys.append(config.instance_secret_key(instance))

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(keys) == 12 and len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no drafts left behind
    assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600
    assert config.instance_secret_key(instance) == keys[0]
