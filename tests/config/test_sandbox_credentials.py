"""Development credentials are generated per install into instance/, shared by cardpay and its sandbox;
the values earlier releases published are accepted nowhere. A server without CARDPAY_ENV says so."""

import json
import logging

import config
from cardpay import create_app
from cardpay.core.extensions import db
from cardpay.ikhokha import signing


def test_each_install_generates_its_own_sandbox_credentials_once(tmp_path):
    first, _ = config.build_config(tmp_path / "a", environ={"CARDPAY_ENV": "development"})
    again, _ = config.build_config(tmp_path / "a", environ={"CARDPAY_ENV": "development"})
    other, _ = config.build_config(tmp_path / "b", environ={"CARDPAY_ENV": "development"})
    assert (first["IKHOKHA_API_KEY"], first["IKHOKHA_API_SECRET"]) == (again["IKHOKHA_API_KEY"],
                                                                       again["IKHOKHA_API_SECRET"])
    assert first["IKHOKHA_API_SECRET"] != other["IKHOKHA_API_SECRET"]
    assert first["IKHOKHA_API_KEY"] == first["SANDBOX_APP_ID"] and first["IKHOKHA_WEBHOOK_SECRET"] == first[
        "SANDBOX_SECRET"] == first["IKHOKHA_API_SECRET"]
    assert first["IKHOKHA_API_SECRET"] not in config.PUBLISHED_SANDBOX_CREDENTIALS
    assert len(first["IKHOKHA_API_SECRET"]) >= 40
    assert oct((tmp_path / "a" / "sandbox_credentials").stat().st_mode & 0o777) == "0o600"


def test_a_callback_signed_with_the_published_secret_is_refused(app_factory):
    app = app_factory(SANDBOX_APP_ID=None, SANDBOX_SECRET=None)  # credentials from the install's instance/
    body = json.dumps({"paylinkID": "PL1", "status": "SUCCESS", "externalTransactionID": "cp_x"}).encode()
    old_app_id, old_secret = config.PUBLISHED_SANDBOX_CREDENTIALS
    headers = {"Content-Type": "application/json", "IK-APPID": old_app_id,
               "IK-SIGN": signing.sign(old_secret, "/webhooks/ikhokha", body)}
    assert app.test_client().post("/webhooks/ikhokha", data=body, headers=headers).status_code == 401
    signed = {"Content-Type": "application/json", "IK-APPID": app.config["IKHOKHA_API_KEY"],
              "IK-SIGN": signing.sign(app.config["SANDBOX_SECRET"], "/sandbox/ikhokha/api/getStatus/PL1", b"")}
    assert app.test_client().get("/sandbox/ikhokha/api/getStatus/PL1", headers=signed).status_code != 401


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_serving_without_cardpay_env_warns_loudly(monkeypatch, migrated_database):
    for name in ("CARDPAY_ENV", "VITE_CARDPAY_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "load_dotenv_files", lambda *args, **kwargs: None)  # no developer's .env
    seen = _Records()
    logging.getLogger("cardpay").addHandler(seen)
    try:
        app = create_app({"DATABASE_URL": migrated_database, "SECRET_KEY": "k" * 40, "SANDBOX_APP_ID": "a",
                          "SANDBOX_SECRET": "s" * 40})
    finally:
        logging.getLogger("cardpay").removeHandler(seen)
    (warning,) = [r for r in seen.records if "CARDPAY_ENV is not set" in r.getMessage()]
    assert warning.levelno == logging.WARNING and warning.cardpay["environment"] == "development"
    assert "sandbox gateway mounted" in warning.getMessage()
    assert app.test_client().get("/health").get_json()["environment"] == "development"
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_health_reports_the_environment(client):
    assert client.get("/health").get_json()["environment"] == "testing"
