"""/metrics shows revenue: with METRICS_BEARER_TOKEN it needs the token (or an address in METRICS_ALLOWED_IPS),
and in production it refuses anonymous callers unless one of the two is configured."""

import pytest

import config as cardpay_config
from tests.config_helpers import production_settings

TOKEN = "metrics-scrape-token-0123456789"


def scrape(app, headers=None, ip="192.0.2.10"):
    return app.test_client().get("/metrics", headers=headers or {}, environ_base={"REMOTE_ADDR": ip})


def test_with_a_token_only_the_bearer_may_scrape(app_factory):
    app = app_factory(METRICS_BEARER_TOKEN=TOKEN)
    refused = scrape(app)
    assert refused.status_code == 401 and refused.get_json()["error"] == "unauthorized"
    assert b"cardpay_" not in refused.data
    assert scrape(app, {"Authorization": "Bearer wrong-token"}).status_code == 401
    assert scrape(app, {"Authorization": f"Basic {TOKEN}"}).status_code == 401
    answer = scrape(app, {"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and b"cardpay_database_up" in answer.data


def test_an_allowed_address_scrapes_without_the_token(app_factory):
    app = app_factory(METRICS_BEARER_TOKEN=TOKEN, METRICS_ALLOWED_IPS="10.0.0.0/8, 192.0.2.99")
    assert scrape(app, ip="10.1.2.3").status_code == 200
    assert scrape(app, ip="192.0.2.99").status_code == 200
    assert scrape(app, ip="192.0.2.10").status_code == 401


def test_an_allow_list_without_a_token_refuses_everyone_else(app_factory):
    app = app_factory(METRICS_ALLOWED_IPS="10.0.0.0/8")
    assert scrape(app, ip="10.9.9.9").status_code == 200
    assert scrape(app, ip="192.0.2.10").status_code == 401


@pytest.mark.parametrize("settings, status", [({}, 401), ({"METRICS_BEARER_TOKEN": TOKEN}, 401),
                                              ({"METRICS_ALLOWED_IPS": "192.0.2.10"}, 200)])
def test_production_refuses_anonymous_scrapes(app_factory, settings, status):
    app = app_factory(**settings)
    app.config["CARDPAY_ENV"] = "production"  # the guard reads it per request
    assert scrape(app).status_code == status


def test_outside_production_without_either_setting_metrics_stay_open(app):
    assert scrape(app).status_code == 200


def test_validate_config_warns_when_production_metrics_are_unguarded():
    loaded = cardpay_config.read_settings(production_settings())
    warnings = cardpay_config.find_warnings(loaded)
    assert any(line.startswith("METRICS_BEARER_TOKEN, METRICS_ALLOWED_IPS:") for line in warnings)
    guarded = cardpay_config.read_settings(production_settings(METRICS_BEARER_TOKEN=TOKEN))
    assert not any(line.startswith("METRICS_") for line in cardpay_config.find_warnings(guarded))
    assert cardpay_config.find_warnings(cardpay_config.read_settings({"CARDPAY_ENV": "development"})) == []


def test_validate_config_prints_the_warnings_and_still_passes(flask_cli):
    result = flask_cli(["cardpay", "validate-config"], production_settings())
    assert result.exit_code == 0, result.output
    assert "warning: METRICS_BEARER_TOKEN, METRICS_ALLOWED_IPS: neither is set" in result.stdout
