"""Fixtures for the alerting tests: an app whose alert channels point at the loopback receivers."""

import pytest


@pytest.fixture
def channel_settings(webhook_receiver, slack_receiver, smtp_server):
    """Settings that point all three alert channels at the loopback receivers."""
    return {"ALERT_WEBHOOK_URL": webhook_receiver.url, "ALERT_SLACK_WEBHOOK": slack_receiver.url,
            "ALERT_EMAIL": "ops@example.com", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port,
            "MAIL_DEFAULT_SENDER": "cardpay@example.com"}


@pytest.fixture
def alert_app(app_factory, channel_settings):
    """An app whose alerts go to the three loopback channels."""
    return app_factory(**channel_settings)
