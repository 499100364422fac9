"""validate-config in production: alert, log and event URLs must be public https URLs, the sender an address;
problem lines never show a secret URL's path. Offline: literal IPs and 'localhost' only."""

import pytest

import config
from tests.config_helpers import production_settings

SLACK_PATH = "/services/T000/B000/s3cretSlackPathZq7"


def problems(**settings):
    return config.find_problems(config.read_settings(production_settings(**settings)))


@pytest.mark.parametrize("name", config.PUBLIC_URL_SETTINGS)
@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://2130706433/hook", "https://localhost/hook",
                                 "https://10.1.2.3/hook", "https://169.254.169.254/latest", "https://[::1]/hook",
                                 "https://[2002:7f00:1::]/hook"])
def test_private_or_loopback_destinations_are_problems_in_production(name, url):
    found = [line for line in problems(**{name: url}) if line.startswith(f"{name}:")]
    assert len(found) == 1 and "is not a public address" in found[0], found


def test_a_public_literal_address_passes_and_allow_private_networks_is_honoured():
    assert problems(ALERT_WEBHOOK_URL="https://93.184.216.34/hook") == []
    assert problems(ALERT_WEBHOOK_URL="https://127.0.0.1/hook", ALERT_ALLOW_PRIVATE_NETWORKS="true") == []


def test_the_slack_url_path_is_never_printed():
    found = problems(ALERT_SLACK_WEBHOOK="https://127.0.0.1" + SLACK_PATH)
    (line,) = [p for p in found if p.startswith("ALERT_SLACK_WEBHOOK:")]
    assert line.startswith("ALERT_SLACK_WEBHOOK: https://127.0.0.1 is not a public address")
    assert "s3cret" not in " ".join(found) and "/services" not in " ".join(found)


@pytest.mark.parametrize("sender", ["not an address", "@example.com", "ops@", "a b@example.com"])
def test_a_sender_that_is_not_an_address_is_a_problem(sender):
    assert "MAIL_DEFAULT_SENDER: not an email address (expected a@b.example or Name <a@b.example>)" in problems(
        MAIL_DEFAULT_SENDER=sender)


@pytest.mark.parametrize("sender", ["alerts@example.com", "Cardpay Alerts <alerts@example.com>"])
def test_a_real_sender_passes(sender):
    assert problems(MAIL_DEFAULT_SENDER=sender) == []


def test_email_settings_must_be_addresses():
    loaded = config.read_settings(production_settings(ALERT_EMAIL="ops@example.com, not an address"))
    assert any(line.startswith("ALERT_EMAIL: not an email address") for line in config.find_problems(loaded))


def test_rate_limit_and_shipper_header_settings_are_checked():
    found = problems(ENROLL_RATE_LIMIT="lots", LOG_AGGREGATION_HEADERS="Authorization Bearer abc")
    assert "ENROLL_RATE_LIMIT: expected limits such as 10/minute;50/hour" in found
    assert any(line.startswith("LOG_AGGREGATION_HEADERS: expected") for line in found)
    assert "abc" not in " ".join(found)
