"""Each channel passes its own ecosystem's validator: Slack's Block Kit models, the email package's parser,
and the Standard Webhooks reference implementation for a signed alert webhook."""

import base64
import json

from slack_sdk.models.blocks import Block
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from cardpay.alerting import alerts, outbox
from cardpay.core.extensions import db

SECRET = "whsec_" + base64.b64encode(b"cardpay-alert-webhook-test-key!!").decode()


def _raise(app, message):
    with app.app_context():
        alerts.raise_alert("security_threat", "critical", message, {"note": message}, fingerprint="fit:1")
        db.session.commit()
        outbox.deliver_due()


def test_attacker_text_reaches_slack_escaped_and_within_block_kit_limits(alert_app, slack_receiver):
    _raise(alert_app, "<!channel> <https://evil.example|click> & " + "x" * 5000)
    [body] = slack_receiver.bodies
    assert "<!channel>" not in json.dumps(body) and "&lt;!channel&gt;" in body["text"]
    assert len(body["text"]) <= 3000
    for block in body["blocks"]:
        Block.parse(block).validate_json()  # raises SlackObjectFormationError past a limit


def test_alert_email_carries_date_message_id_and_auto_submitted(alert_app, smtp_server):
    _raise(alert_app, "a stage is slow")
    [message] = smtp_server.messages
    headers = {name.lower(): value for name, value in message["headers"].items()}
    assert headers["auto-submitted"] == "auto-generated"
    assert headers["message-id"].startswith("<") and headers["date"]


def test_a_signed_alert_webhook_verifies_with_the_reference_implementation(app_factory, webhook_receiver):
    app = app_factory(ALERT_WEBHOOK_URL=webhook_receiver.url, ALERT_WEBHOOK_SECRET=SECRET)
    _raise(app, "signed")
    [request] = webhook_receiver.requests
    headers = {name.lower(): value for name, value in request["headers"].items()}
    Webhook(SECRET).verify(request["raw"], headers)  # the bytes as received
    try:
        Webhook(SECRET).verify(b'{"tampered": true}', headers)
    except WebhookVerificationError:
        pass
    else:
        raise AssertionError("a tampered body verified")
