"""`flask cardpay test-alerts` reports each channel."""


from sqlalchemy import select

from cardpay.core.extensions import db
from cardpay.models import AlertDelivery


def test_test_alerts_reports_every_channel(alert_app, webhook_receiver, slack_receiver, smtp_server):
    result = alert_app.test_cli_runner().invoke(args=["cardpay", "test-alerts"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["webhook", "slack", "email"]
    assert all(line.endswith("delivered") for line in lines[:3])
    assert lines[3] == "3 of 3 channels delivered"
    assert webhook_receiver.bodies[0]["type"] == "test" and slack_receiver.bodies[0]["text"].startswith("[TEST]")
    assert smtp_server.messages[0]["subject"].startswith("[cardpay] [TEST]")
    # The Slack URL is a secret: it is neither printed nor stored.
    assert "/hook" not in result.output
    with alert_app.app_context():
        assert all("/hook" not in t for t in db.session.execute(select(AlertDelivery.target)).scalars())


def test_test_alerts_exits_1_when_a_channel_fails(alert_app, webhook_receiver):
    webhook_receiver.stop()
    result = alert_app.test_cli_runner().invoke(args=["cardpay", "test-alerts"])
    assert result.exit_code == 1
    webhook_line = result.output.splitlines()[0]
    assert webhook_line.startswith("webhook") and "FAILED: could not reach 127.0.0.1:" in webhook_line
    assert "2 of 3 channels delivered" in result.output


def test_test_alerts_without_channels_says_so(app):
    result = app.test_cli_runner().invoke(args=["cardpay", "test-alerts"])
    assert result.exit_code == 1 and "no alert channel is configured" in result.output
