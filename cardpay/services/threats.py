"""Threat detection: bursts of suspicious callbacks from one source become one security alert.

Counted from webhook_events (every delivery is recorded there with its remote IP and verdict, by
every worker), over the last THREAT_WINDOW_SECONDS: when one IP has sent THREAT_BURST_THRESHOLD or
more callbacks of one kind, a ``security_threat`` alert with fingerprint ``threat:<kind>:<ip>`` is
raised with what was seen. Further hits from the same burst count as repeats of that alert.

Kinds: ``bad_signature`` (401: missing or wrong IK-APPID / IK-SIGN), ``replay`` (a timestamp outside
the tolerance, or a duplicate of an already received delivery), ``allowlist`` (403: outside
WEBHOOK_ALLOWED_IPS) and ``unknown_paylink`` (a verified callback for a paylink we never created).
"""

from collections import Counter
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select

from cardpay import clock
from cardpay.extensions import db
from cardpay.models import WebhookEvent
from cardpay.services import alerts

KINDS = {
    "bad_signature": "callbacks with a bad or missing signature",
    "replay": "replayed callbacks (stale timestamps or duplicates)",
    "allowlist": "callbacks from outside the IP allowlist",
    "unknown_paylink": "callbacks for unknown paylinks",
}
ROW_LIMIT = 5000  # plenty to pass any sane threshold; bounds the work an attack can cause per callback


def classify(event):
    """Return the threat kind a webhook_events row counts towards, or None for an ordinary delivery."""
    verdict = (event.verdict or "").lower()
    if event.http_status == 403 or "allow" in verdict or verdict == "ip_not_allowed":
        return "allowlist"
    if "timestamp" in verdict or "replay" in verdict or event.duplicate_of_id is not None:
        return "replay"
    if "paylink" in verdict or (verdict == "accepted" and event.payment_id is None and event.paylink_id):
        return "unknown_paylink"
    if event.http_status == 401 or "signature" in verdict or "app_id" in verdict or "appid" in verdict:
        return "bad_signature"
    return None


def check_source(remote_ip, event_id=None):
    """Count recent suspicious callbacks from one IP and raise an alert per kind over the threshold.

    With ``event_id`` (the delivery that triggered the check) nothing is counted unless that delivery
    is itself suspicious, so the gateway's ordinary callbacks cost one primary-key read each.
    """
    config = current_app.config
    if not remote_ip or not config["ENABLE_CARD_PAYMENT_THREAT_DETECTION"]:
        return []
    if event_id is not None:
        event = db.session.get(WebhookEvent, event_id)
        if event is not None and classify(event) is None:
            return []
    window, threshold = config["THREAT_WINDOW_SECONDS"], config["THREAT_BURST_THRESHOLD"]
    cutoff = clock.now() - timedelta(seconds=window)
    events = db.session.execute(
        select(WebhookEvent).where(WebhookEvent.remote_ip == remote_ip, WebhookEvent.received_at >= cutoff,
                                   or_(WebhookEvent.verdict != "accepted", WebhookEvent.duplicate_of_id.isnot(None),
                                       WebhookEvent.payment_id.is_(None)))
        .order_by(WebhookEvent.received_at.desc()).limit(ROW_LIMIT)).scalars().all()
    by_kind = {}
    for event in events:
        kind = classify(event)
        if kind:
            by_kind.setdefault(kind, []).append(event)
    raised = []
    for kind, seen in sorted(by_kind.items()):
        if len(seen) < threshold:
            continue
        raised.append(alerts.raise_alert(
            "security_threat", "critical",
            f"{len(seen)} {KINDS[kind]} from {remote_ip} in the last {window} s",
            _details(remote_ip, kind, seen, window, threshold), fingerprint=f"threat:{kind}:{remote_ip}"))
    return raised


def _details(remote_ip, kind, seen, window, threshold):
    """Describe what was seen, without secrets: the stored rows are already redacted and masked."""
    return {
        "ip": remote_ip, "kind": kind, "count": len(seen), "threshold": threshold, "window_seconds": window,
        "verdicts": dict(Counter(e.verdict for e in seen)),
        "http_statuses": {str(k): v for k, v in Counter(e.http_status for e in seen).items()},
        "paths": sorted({e.path for e in seen})[:5],
        "paylink_ids": sorted({e.paylink_id for e in seen if e.paylink_id})[:10],
        "first_seen": clock.iso(min(e.received_at for e in seen)),
        "last_seen": clock.iso(max(e.received_at for e in seen)),
        "recent_event_ids": [e.id for e in seen[:10]],
    }
