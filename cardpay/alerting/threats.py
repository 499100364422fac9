"""Threat detection: bursts of suspicious callbacks from one source become one security alert.

The truth is webhook_events (every delivery, by every worker, with its remote IP and verdict):
when one IP has sent THREAT_BURST_THRESHOLD or more callbacks of one kind within
THREAT_WINDOW_SECONDS, a ``security_threat`` alert with fingerprint ``threat:<kind>:<ip>`` is raised
with what was seen; later confirmations of the same burst count as repeats of that alert.

Counting that window on every callback would make an attack cost more the longer it lasts, so each
process keeps a sliding-window count per (IP, kind) of the suspicious callbacks it handled itself,
and asks the database (``confirm``) only when that count says the burst may have reached the
threshold: not before the local count reaches the threshold divided by the number of web workers
(WEB_CONCURRENCY, which gunicorn.conf.py's on_starting hook sets to the real count: a burst of the
threshold spread over N workers has at least threshold/N on one of them); then when the last
confirmed total plus the local hits since — scaled by how the burst was spread over the workers at
that confirmation — reaches the threshold, or CONFIRM_SECONDS after the last confirmation. Once the
alert is open it is confirmed (counted again) at most once per CONFIRM_SECONDS; ``confirm_pending``
confirms every source with unconfirmed hits at once.

Kinds: ``bad_signature`` (401: missing or wrong IK-APPID / IK-SIGN), ``replay`` (a timestamp outside
the tolerance, or a duplicate of an already received delivery), ``allowlist`` (403: outside
WEBHOOK_ALLOWED_IPS) and ``unknown_paylink`` (a verified callback for a paylink we never created).
"""

import math
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select

from cardpay.alerting import alerts
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import WebhookEvent

KINDS = {
    "bad_signature": "callbacks with a bad or missing signature",
    "replay": "replayed callbacks (stale timestamps or duplicates)",
    "allowlist": "callbacks from outside the IP allowlist",
    "unknown_paylink": "callbacks for unknown paylinks",
}
ROW_LIMIT = 5000  # plenty to pass any sane threshold; bounds the work an attack can cause per confirmation
DETAIL_ROWS = 200  # the newest deliveries an alert's paths, paylinks and event ids are taken from
CONFIRM_SECONDS = 5.0
MAX_SOURCES = 10000  # beyond this, sources whose window emptied are forgotten
_lock = threading.Lock()  # gthread workers share one app between threads


def kind_of(verdict, http_status, duplicate=False, unknown_paylink=False):
    """Return the threat kind of a delivery from its verdict and answer, or None for an ordinary one."""
    verdict = (verdict or "").lower()
    if http_status == 403 or "allow" in verdict or verdict == "ip_not_allowed":
        return "allowlist"
    if "timestamp" in verdict or "replay" in verdict or duplicate:
        return "replay"
    if "paylink" in verdict or unknown_paylink:
        return "unknown_paylink"
    if http_status == 401 or "signature" in verdict or "app_id" in verdict or "appid" in verdict:
        return "bad_signature"
    return None


def classify(event):
    """Return the threat kind a webhook_events row counts towards, or None for an ordinary delivery."""
    return kind_of(event.verdict, event.http_status, event.duplicate_of_id is not None,
                   event.verdict == "accepted" and event.payment_id is None and bool(event.paylink_id))


def _classify_group(group):
    """Return the threat kind of one group of _counts (the same rule as ``classify``)."""
    return kind_of(group.verdict, group.http_status, group.duplicate, group.verdict == "accepted" and group.unpaid)


def received_kind(event_id, outcome, status):
    """Return the threat kind of an accepted callback; reads its row only when it may be an unknown paylink."""
    if outcome == "duplicate":
        return "replay"
    # An unknown paylink ends in manual review (SUCCESS) or is ignored (FAILURE, reported as processed).
    if event_id is None or not (outcome == "manual_review" or (outcome == "processed" and status == "FAILURE")):
        return None
    if not current_app.config["ENABLE_CARD_PAYMENT_THREAT_DETECTION"]:
        return None
    row = db.session.execute(select(WebhookEvent.verdict, WebhookEvent.http_status, WebhookEvent.duplicate_of_id,
                                    WebhookEvent.payment_id, WebhookEvent.paylink_id)
                             .where(WebhookEvent.id == event_id)).one_or_none()
    return classify(row) if row is not None else None


@dataclass
class _Source:
    """What one process knows about one (IP, kind)."""

    hits: deque = field(default_factory=lambda: deque(maxlen=ROW_LIMIT))  # app-clock times, oldest first
    unconfirmed: int = 0
    confirmed_ms: float = None  # monotonic time of the last confirmation
    confirmed_at: datetime = None  # app-clock time of it: its total is void once out of the window
    total: int = 0  # every worker's count at the last confirmation
    spread: float = 1.0  # total / this process's count at the last confirmation
    alerted: bool = False


def _sources():
    return current_app.extensions.setdefault("cardpay_threat_sources", {})


def _forget_stale(sources, cutoff):
    if len(sources) > MAX_SOURCES:
        for key in [k for k, s in sources.items() if not s.hits or s.hits[-1] < cutoff]:
            del sources[key]


def trigger(threshold, workers):
    """Return the local count at which a worker first confirms: a burst of ``threshold`` spread over
    ``workers`` processes puts at least this many on one of them (pigeonhole)."""
    return max(1, math.ceil(threshold / max(1, int(workers))))


def _due(source, threshold, cutoff):
    if len(source.hits) < trigger(threshold, current_app.config["WEB_CONCURRENCY"]):
        return False
    if source.confirmed_at is None or source.confirmed_at < cutoff:
        return True
    if clock.monotonic_ms() - source.confirmed_ms >= CONFIRM_SECONDS * 1000.0:
        return True
    return not source.alerted and source.total + source.unconfirmed * source.spread >= threshold


def observe(remote_ip, kind):
    """Count one suspicious callback of ``kind`` from ``remote_ip``; confirm it when due. Return a raised alert."""
    config = current_app.config
    if not remote_ip or kind is None or not config["ENABLE_CARD_PAYMENT_THREAT_DETECTION"]:
        return None
    now = clock.now()
    cutoff = now - timedelta(seconds=config["THREAT_WINDOW_SECONDS"])
    with _lock:
        sources = _sources()
        source = sources.get((remote_ip, kind))
        if source is None:
            _forget_stale(sources, cutoff)
            source = sources[(remote_ip, kind)] = _Source()
        while source.hits and source.hits[0] < cutoff:
            source.hits.popleft()
        source.hits.append(now)
        source.unconfirmed += 1
        if not _due(source, config["THREAT_BURST_THRESHOLD"], cutoff):
            return None
        source.confirmed_ms = clock.monotonic_ms()  # other threads of this worker wait for this confirmation
    return confirm(remote_ip, kind)


def _suspicious(remote_ip, cutoff):
    """Every worker's newest suspicious deliveries from one IP within the window (light columns only)."""
    return (select(WebhookEvent.id, WebhookEvent.received_at, WebhookEvent.path, WebhookEvent.verdict,
                   WebhookEvent.http_status, WebhookEvent.duplicate_of_id, WebhookEvent.payment_id,
                   WebhookEvent.paylink_id)
            .where(WebhookEvent.remote_ip == remote_ip, WebhookEvent.received_at >= cutoff,
                   or_(WebhookEvent.verdict != "accepted", WebhookEvent.duplicate_of_id.isnot(None),
                       WebhookEvent.payment_id.is_(None)))
            .order_by(WebhookEvent.received_at.desc()))


def _counts(remote_ip, kind, cutoff):
    """Count one kind among the newest ROW_LIMIT suspicious deliveries, in the database.

    Returns (count, verdicts, http statuses, first seen, last seen). The rows are grouped by what
    ``classify`` looks at, so a confirmation reads a handful of groups instead of up to ROW_LIMIT rows:
    it runs on a request, and under attack fetching and classifying those rows stalled the worker ~0.1 s.
    """
    recent = _suspicious(remote_ip, cutoff).limit(ROW_LIMIT).subquery()
    unpaid = and_(recent.c.payment_id.is_(None), func.coalesce(recent.c.paylink_id, "") != "")
    groups = db.session.execute(
        select(recent.c.verdict, recent.c.http_status, recent.c.duplicate_of_id.isnot(None).label("duplicate"),
               unpaid.label("unpaid"), func.count().label("count"), func.min(recent.c.received_at).label("first"),
               func.max(recent.c.received_at).label("last"))
        .group_by(recent.c.verdict, recent.c.http_status, recent.c.duplicate_of_id.isnot(None), unpaid)).all()
    mine = [group for group in groups if _classify_group(group) == kind]
    verdicts, statuses = Counter(), Counter()
    for group in mine:
        verdicts[group.verdict] += group.count
        statuses[str(group.http_status)] += group.count
    if not mine:
        return 0, verdicts, statuses, None, None
    return (sum(g.count for g in mine), verdicts, statuses, min(clock.as_utc(g.first) for g in mine),
            max(clock.as_utc(g.last) for g in mine))


def confirm(remote_ip, kind):
    """Count one IP's recent callbacks of one kind across workers; raise (or repeat) the alert when over the threshold."""
    config = current_app.config
    window, threshold = config["THREAT_WINDOW_SECONDS"], config["THREAT_BURST_THRESHOLD"]
    now = clock.now()
    cutoff = now - timedelta(seconds=window)
    counted = _counts(remote_ip, kind, cutoff)
    seen = counted[0]
    with _lock:
        source = _sources().setdefault((remote_ip, kind), _Source())
        source.spread = max(1.0, seen / max(1, len(source.hits)))
        source.total, source.unconfirmed, source.alerted = seen, 0, seen >= threshold
        source.confirmed_at, source.confirmed_ms = now, clock.monotonic_ms()
    if seen < threshold:
        return None
    return alerts.raise_alert(
        "security_threat", "critical", f"{seen} {KINDS[kind]} from {remote_ip} in the last {window} s",
        _details(remote_ip, kind, counted, cutoff, window, threshold), fingerprint=f"threat:{kind}:{remote_ip}")


def confirm_pending():
    """Confirm every source of this process with unconfirmed hits now, and commit; return the alert ids touched."""
    if not current_app.config["ENABLE_CARD_PAYMENT_THREAT_DETECTION"]:
        return []
    with _lock:
        keys = sorted(key for key, source in _sources().items() if source.unconfirmed)
    touched = [alert.id for alert in (confirm(ip, kind) for ip, kind in keys) if alert is not None]
    db.session.commit()
    return touched


def _details(remote_ip, kind, counted, cutoff, window, threshold):
    """Describe what was seen, without secrets: the stored rows are already redacted and masked.

    Counts, verdicts, statuses and times cover the whole burst; paths, paylinks and event ids come
    from its newest DETAIL_ROWS suspicious deliveries.
    """
    count, verdicts, statuses, first_seen, last_seen = counted
    newest = [row for row in db.session.execute(_suspicious(remote_ip, cutoff).limit(DETAIL_ROWS)).all()
              if classify(row) == kind]
    return {
        "ip": remote_ip, "kind": kind, "count": count, "threshold": threshold, "window_seconds": window,
        "verdicts": dict(verdicts), "http_statuses": dict(statuses),
        "paths": sorted({e.path for e in newest})[:5],
        "paylink_ids": sorted({e.paylink_id for e in newest if e.paylink_id})[:10],
        "first_seen": clock.iso(first_seen), "last_seen": clock.iso(last_seen),
        "recent_event_ids": [e.id for e in newest[:10]],
    }
