"""Outbox channels: which are configured, and how one message is written to each.

Alerts use the built-in channels below; other packages register theirs (``register``): a learner's
receipt email, an access event for the business's own platform. They all share one outbox.

Channel names are stable (they are stored in alert_deliveries.channel): ``webhook``, ``slack`` and
``email`` carry every alert; ``manual_webhook`` and ``manual_email`` carry manual-intervention notices
as well. URLs are looked up in the configuration when a notification is sent, never stored, because a
Slack incoming-webhook URL is itself a secret; the outbox keeps only a masked description.
"""

import json
import smtplib
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from cardpay.alerting import slack
from cardpay.alerting.slack import headline
from cardpay.core import mail, outbound, standard_webhooks

CHANNEL_SETTINGS = {
    "webhook": "ALERT_WEBHOOK_URL",
    "slack": "ALERT_SLACK_WEBHOOK",
    "email": "ALERT_EMAIL",
    "manual_webhook": "MANUAL_INTERVENTION_WEBHOOK",
    "manual_email": "MANUAL_INTERVENTION_EMAIL",
}
ALERT_CHANNELS = ("webhook", "slack", "email")
MANUAL_CHANNELS = ("manual_webhook", "manual_email")
MANUAL_TYPE = "manual_intervention"


class ChannelError(Exception):
    """A notification that could not be handed to its channel."""


@dataclass(frozen=True)
class Channel:
    """A kind of delivery another package adds to the outbox (a learner's email, an access event)."""

    send: Callable  # (config, payload, delivery_id) -> None; raises ChannelError when it did not go out
    describe: Callable  # (config, payload) -> a description of the target that is safe to store and print


_REGISTERED = {}


def register(name, send, describe):
    """Add a channel to the outbox: its rows are claimed, retried and backed off like alerts' (one outbox)."""
    _REGISTERED[name] = Channel(send, describe)


def known():
    """Return every channel name: the built-in ones, then the registered ones."""
    return list(CHANNEL_SETTINGS) + sorted(_REGISTERED)


def configured(config, alert_type=None):
    """Return the channels that should carry an alert of this type (all configured ones when None)."""
    names = ALERT_CHANNELS + (MANUAL_CHANNELS if alert_type in (None, MANUAL_TYPE) else ())
    return [name for name in names if config.get(CHANNEL_SETTINGS[name])]


def describe(config, channel, payload=None):
    """Return a description of a channel's target that is safe to store and print (no URL path)."""
    if channel in _REGISTERED:
        return _REGISTERED[channel].describe(config, payload)
    value = config.get(CHANNEL_SETTINGS[channel])
    if not value:
        return "(not configured)"
    if channel.endswith("email"):
        return ", ".join(value)
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}/…"


def send(config, channel, payload, delivery_id=None):
    """Send one notification payload through a channel; raise ChannelError when it did not go out."""
    if channel in _REGISTERED:
        return _REGISTERED[channel].send(config, payload, delivery_id)
    target = config.get(CHANNEL_SETTINGS.get(channel, ""), None)
    if not target:
        raise ChannelError(f"channel {channel} is no longer configured")
    try:
        if channel.endswith("email"):
            _send_email(config, target, payload)
        else:
            body = slack.body(payload) if channel == "slack" else payload
            raw = json.dumps(body, default=str).encode()
            headers = {"Content-Type": "application/json", "User-Agent": "cardpay-alerts"}
            if delivery_id is not None:
                headers["X-Cardpay-Delivery"] = str(delivery_id)  # lets a receiver drop an at-least-once repeat
            secret = config.get("ALERT_WEBHOOK_SECRET")
            if channel in ("webhook", "manual_webhook") and secret:
                # Standard Webhooks: the id is the outbox row's, so every retry carries the same one.
                message_id = f"msg_alert_{delivery_id}" if delivery_id is not None else standard_webhooks.new_message_id()
                headers.update(standard_webhooks.headers(secret, message_id, int(time.time()), raw))
            outbound.post(target, raw, headers,
                      allow_private=config["ALERT_ALLOW_PRIVATE_NETWORKS"],
                      timeout=config["ALERT_SEND_TIMEOUT_SECONDS"])
    except (outbound.UnsafeURL, outbound.SendFailed) as exc:
        raise ChannelError(str(exc)) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"SMTP: {type(exc).__name__}: {exc}") from None


def _send_email(config, recipients, payload):
    lines = [headline(payload), "",
             f"type:        {payload['type']}",
             f"severity:    {payload['severity']}",
             f"fingerprint: {payload['fingerprint']}",
             f"occurrences: {payload.get('occurrences', 1)}",
             f"time:        {payload['timestamp']}", "",
             json.dumps(payload.get("details") or {}, indent=2, default=str)]
    # Date, Message-ID and Auto-Submitted come from core/mail: spam filters score mail without them.
    message = mail.build(config["MAIL_DEFAULT_SENDER"], recipients, "[cardpay] " + headline(payload), "\n".join(lines),
                         headers={"X-Cardpay-Fingerprint": payload["fingerprint"]})
    mail.send(message, config["MAIL_SERVER"], config["MAIL_PORT"], config.get("MAIL_USERNAME"),
              config.get("MAIL_PASSWORD"), config["MAIL_USE_TLS"], config["ALERT_SEND_TIMEOUT_SECONDS"])
