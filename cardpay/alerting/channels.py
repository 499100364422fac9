"""Alert channels: which are configured, and how one notification is written to each.

Channel names are stable (they are stored in alert_deliveries.channel): ``webhook``, ``slack`` and
``email`` carry every alert; ``manual_webhook`` and ``manual_email`` carry manual-intervention notices
as well. URLs are looked up in the configuration when a notification is sent, never stored, because a
Slack incoming-webhook URL is itself a secret; the outbox keeps only a masked description.
"""

import json
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from urllib.parse import urlsplit

from cardpay.core import outbound

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


def configured(config, alert_type=None):
    """Return the channels that should carry an alert of this type (all configured ones when None)."""
    names = ALERT_CHANNELS + (MANUAL_CHANNELS if alert_type in (None, MANUAL_TYPE) else ())
    return [name for name in names if config.get(CHANNEL_SETTINGS[name])]


def describe(config, channel):
    """Return a description of a channel's target that is safe to store and print (no URL path)."""
    value = config.get(CHANNEL_SETTINGS[channel])
    if not value:
        return "(not configured)"
    if channel.endswith("email"):
        return ", ".join(value)
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}/…"


def send(config, channel, payload, delivery_id=None):
    """Send one notification payload through a channel; raise ChannelError when it did not go out."""
    target = config.get(CHANNEL_SETTINGS.get(channel, ""), None)
    if not target:
        raise ChannelError(f"channel {channel} is no longer configured")
    try:
        if channel.endswith("email"):
            _send_email(config, target, payload)
        else:
            body = slack_body(payload) if channel == "slack" else payload
            headers = {"Content-Type": "application/json", "User-Agent": "cardpay-alerts"}
            if delivery_id is not None:
                headers["X-Cardpay-Delivery"] = str(delivery_id)  # lets a receiver drop an at-least-once repeat
            outbound.post(target, json.dumps(body, default=str).encode(), headers,
                      allow_private=config["ALERT_ALLOW_PRIVATE_NETWORKS"],
                      timeout=config["ALERT_SEND_TIMEOUT_SECONDS"])
    except (outbound.UnsafeURL, outbound.SendFailed) as exc:
        raise ChannelError(str(exc)) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"SMTP: {type(exc).__name__}: {exc}") from None


def headline(payload):
    """Return the one-line summary of a notification: state, severity, type and message."""
    state = {"resolved": "RESOLVED", "test": "TEST", "repeat": "STILL FIRING"}.get(payload["status"], "FIRING")
    return f"[{state}] {payload['severity'].upper()} {payload['type']}: {payload['message']}"


def slack_body(payload):
    """Return a Slack incoming-webhook body: ``text`` for notifications plus Block Kit ``blocks``."""
    details = json.dumps(payload.get("details") or {}, indent=1, default=str)
    fields = [("Type", payload["type"]), ("Severity", payload["severity"]),
              ("Fingerprint", payload["fingerprint"]), ("Occurrences", payload.get("occurrences", 1))]
    return {
        "text": headline(payload),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline(payload)}*"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"}
                                           for name, value in fields]},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{details[:2500]}```"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"cardpay · {payload['timestamp']}"}]},
        ],
    }


def _send_email(config, recipients, payload):
    # Python folds a long Subject before its first word, which mail readers show as a leading space;
    # RFC 5322 allows lines up to 998 characters, and subjects are capped at 200.
    message = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    message["Subject"] = ("[cardpay] " + headline(payload))[:200]
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = ", ".join(recipients)
    message["X-Cardpay-Fingerprint"] = payload["fingerprint"]
    lines = [headline(payload), "",
             f"type:        {payload['type']}",
             f"severity:    {payload['severity']}",
             f"fingerprint: {payload['fingerprint']}",
             f"occurrences: {payload.get('occurrences', 1)}",
             f"time:        {payload['timestamp']}", "",
             json.dumps(payload.get("details") or {}, indent=2, default=str)]
    message.set_content("\n".join(lines))
    timeout = config["ALERT_SEND_TIMEOUT_SECONDS"]
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message, to_addrs=list(recipients))
