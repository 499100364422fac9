"""The numbers operators judge cardpay by, over a window (1h / 24h / 7d), and the success criteria of SPEC §8.

One ``summary(window)`` feeds the dashboard, ``GET /admin/api/metrics/summary`` and
``flask cardpay verify-deployment`` alike. Every figure is an SQL aggregate; stage times and request
counts are read from the per-minute and per-hour rollups plus the raw rows not yet rolled up
(services/rollup_reads), so a week costs about as much as an hour. Stage percentiles come from the
rollups' duration histograms, within services/histograms.RELATIVE_ERROR of the exact value.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, case, func, or_, select

import config as cardpay_config
from cardpay.admin import series
from cardpay.alerting import channels as alert_channels
from cardpay.core import clock
from cardpay.core.errors import CardpayError
from cardpay.core.extensions import db
from cardpay.models import AlertDelivery, CardPaymentAlert, ManualIntervention, Payment
from cardpay.models.monitoring import SEVERITIES, STAGES
from cardpay.monitoring import error_rate as error_rates
from cardpay.monitoring import histograms, rollup_reads
from cardpay.monitoring.rollups import bucket_sql

WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
PERCENTILES = (50, 95, 99)
OUTBOX_STALL = timedelta(minutes=5)  # a due delivery untouched this long means nothing is sending


def parse_window(value):
    """Return a known window name, or raise a 400 naming the allowed ones."""
    value = (value or "1h").strip()
    if value not in WINDOWS:
        raise CardpayError(f"window must be one of {', '.join(WINDOWS)}", code="invalid_window")
    return value


def _rate(part, whole):
    return round(100.0 * part / whole, 2) if whole else None


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


PAYMENT_FIGURES = ("attempted", "succeeded", "failed", "abandoned", "in_progress", "manual_review")
CHARTED = PAYMENT_FIGURES[:3]  # counted per chart bucket of the creation, success or failure time


def payments(start, now, size):
    """Payments attempted, succeeded, failed, abandoned, in review, and revenue in the window; and per chart bucket.

    One scan of the window's payments, grouped by the chart buckets (``size`` seconds from ``start``)
    of their creation, success and failure and by currency: the figures are the sums of the groups,
    and {attempted, succeeded, failed: {bucket index: count}} feeds the chart (series)."""
    stale = now - timedelta(minutes=current_app.config["STALE_PAYMENT_MINUTES"])
    unpaid = Payment.status.in_(("created", "pending"))
    created = Payment.created_at >= start
    paid = and_(Payment.status == "succeeded", Payment.succeeded_at >= start)
    keys = (bucket_sql(Payment.created_at, start, size), bucket_sql(Payment.succeeded_at, start, size),
            bucket_sql(Payment.failed_at, start, size), Payment.currency)
    rows = db.session.execute(select(
        *keys, _count(created), _count(paid), _count(and_(Payment.status == "failed", Payment.failed_at >= start)),
        _count(and_(unpaid, created, Payment.created_at < stale)),
        _count(and_(unpaid, created, Payment.created_at >= stale)),
        _count(and_(Payment.status == "manual_review", created)),
        func.coalesce(func.sum(case((paid, Payment.amount_cents), else_=0)), 0),
    ).where(or_(created, Payment.succeeded_at >= start, Payment.failed_at >= start)).group_by(*keys))
    figures, buckets, revenue = dict.fromkeys(PAYMENT_FIGURES, 0), {name: {} for name in CHARTED}, {}
    for *at, currency, attempted, succeeded, failed, abandoned, in_progress, review, cents in rows:
        counts = (attempted, succeeded, failed, abandoned, in_progress, review)
        for name, n in zip(PAYMENT_FIGURES, counts):
            figures[name] += int(n)
        for name, index, n in zip(CHARTED, at, counts):
            if n:  # a bucket is only meaningful (and only non-negative) for the rows it counts
                buckets[name][int(index)] = buckets[name].get(int(index), 0) + int(n)
        if succeeded:
            revenue[currency] = revenue.get(currency, 0) + int(cents)
    figures["success_rate"] = _rate(figures["succeeded"], figures["succeeded"] + figures["failed"])
    figures["revenue_cents"] = revenue
    return figures, buckets


def stages(reads):
    """Per stage: count, avg, p50/p95/p99 (nearest rank, from the duration histogram), max, exceeded, threshold."""
    stats = {}
    for op, t in reads.stage_totals().items():
        stats[op] = {"count": t["count"], "avg_ms": round(t["sum_ms"] / t["count"], 1), "max_ms": round(t["max_ms"], 1),
                     "exceeded": t["exceeded"], "failed": t["failures"],
                     **{f"p{p}_ms": round(histograms.percentile(t["bins"], p, t["min_ms"], t["max_ms"]), 1)
                        for p in PERCENTILES}}
    result = []
    for op in STAGES:
        entry = {"operation": op, "count": 0, "avg_ms": None, "max_ms": None, "exceeded": 0, "failed": 0,
                 **{f"p{p}_ms": None for p in PERCENTILES}}
        entry.update(stats.get(op, {}))
        entry["threshold_ms"] = current_app.config[cardpay_config.THRESHOLD_SETTINGS[op]]
        entry["within_threshold"] = entry["avg_ms"] is None or entry["avg_ms"] <= entry["threshold_ms"]
        result.append(entry)
    return result


def ui_update(start, now):
    """Approvals acknowledged by the return page / approvals whose learner opened the return page."""
    # An approval younger than the end-to-end threshold may still be on its way to the page.
    settled = now - timedelta(milliseconds=current_app.config["END_TO_END_THRESHOLD"])
    acked = Payment.ui_acked_at.isnot(None)
    row = db.session.execute(select(
        _count(or_(acked, and_(Payment.access_granted_at < settled, Payment.return_page_at < settled))),
        _count(acked),
    ).where(Payment.access_granted_at >= start, Payment.return_page_at.isnot(None))).one()
    opened, acknowledged = int(row[0]), int(row[1])
    return {"opened": opened, "acknowledged": acknowledged, "rate": _rate(acknowledged, opened)}


def alerts(start):
    """Open alerts by severity, the newest open ones, and how many were raised in the window."""
    open_counts = dict(db.session.execute(
        select(CardPaymentAlert.severity, func.count()).where(CardPaymentAlert.resolved.is_(False))
        .group_by(CardPaymentAlert.severity)).all())
    raised = db.session.execute(select(func.count()).where(CardPaymentAlert.timestamp >= start)).scalar()
    newest = db.session.execute(
        select(CardPaymentAlert).where(CardPaymentAlert.resolved.is_(False))
        .order_by(CardPaymentAlert.timestamp.desc()).limit(20)).scalars().all()
    return {"open": {s: int(open_counts.get(s, 0)) for s in SEVERITIES}, "open_total": sum(open_counts.values()),
            "raised_in_window": int(raised),
            "open_alerts": [{"id": a.id, "type": a.alert_type, "severity": a.severity, "message": a.message,
                             "fingerprint": a.fingerprint, "occurrences": a.occurrences,
                             "raised_at": clock.iso(a.timestamp)} for a in newest]}


def channels(start, now):
    """For each configured alert channel: delivered and failing counts, and whether it is delivering."""
    configured = alert_channels.configured(current_app.config)
    if not configured:
        return []
    d = AlertDelivery
    stalled = and_(d.status == "pending", d.next_attempt_at < now - OUTBOX_STALL)
    counts = {row[0]: row[1:] for row in db.session.execute(
        select(d.channel, _count(d.status == "delivered"), _count(d.status == "failed"),
               _count(and_(d.status == "pending", d.attempts > 0)), _count(stalled))
        .where(d.channel.in_(configured), d.created_at >= start).group_by(d.channel)).all()}
    latest = select(d.channel.label("channel"), d.status.label("status"),
                    func.row_number().over(partition_by=d.channel, order_by=d.id.desc()).label("rn")
                    ).where(d.channel.in_(configured), d.attempts > 0).subquery()
    last_status = dict(db.session.execute(select(latest.c.channel, latest.c.status).where(latest.c.rn == 1)).all())
    result = []
    for name in configured:
        delivered, failed, retrying, stuck = (int(v) for v in counts.get(name, (0, 0, 0, 0)))
        last = last_status.get(name)
        delivering = last in (None, "delivered") and not stuck
        result.append({"channel": name, "delivered": delivered, "failed": failed, "retrying": retrying,
                       "stalled": stuck, "last_attempt_status": last, "delivering": delivering})
    return result


def review_queue_size():
    """How many manual-review items wait for a person."""
    return int(db.session.execute(
        select(func.count()).where(ManualIntervention.status == "open")).scalar())


def error_rate(reads):
    """Callback and checkout requests that ended in a 5xx or an internal failure, over all such requests."""
    sums = reads.metric_totals((error_rates.TOTAL, error_rates.ERRORS))
    errors, total = sums[error_rates.ERRORS], sums[error_rates.TOTAL]
    return {"errors": int(errors), "requests": int(total), "rate": _rate(errors, total)}


def summary(window="1h"):
    """Every dashboard figure for the window, with the success criteria evaluated on them."""
    window = parse_window(window)
    now = clock.now()
    start = now - WINDOWS[window]
    reads = rollup_reads.Window(start, now, series.BUCKET_SECONDS[window])
    payment_figures, payment_buckets = payments(start, now, reads.size)
    result = {
        "window": window, "from": clock.iso(start), "to": clock.iso(now),
        "payments": payment_figures, "stages": stages(reads), "ui_update": ui_update(start, now),
        "error_rate": error_rate(reads), "alerts": alerts(start), "channels": channels(start, now),
        "review_queue": review_queue_size(), "series": series.series(reads, payment_buckets),
    }
    result["criteria"] = evaluate(result)
    result["healthy"] = all(c["status"] != "FAIL" for c in result["criteria"])
    return result


def _criterion(name, value, target, passed, shown, empty="no data"):
    status = "N/A" if value is None else ("PASS" if passed else "FAIL")
    return {"check": name, "value": value, "shown": shown if value is not None else empty,
            "target": target, "status": status}


def _pct(value):
    return None if value is None else f"{value:.2f}%"


def evaluate(result):
    """The success criteria of SPEC §8, each PASS, FAIL, or N/A when the window holds no data for it."""
    success = result["payments"]["success_rate"]
    end_to_end = next(s for s in result["stages"] if s["operation"] == "end_to_end")["avg_ms"]
    ui_rate = result["ui_update"]["rate"]
    err = result["error_rate"]["rate"]
    critical = result["alerts"]["open"]["critical"]
    failing = [c["channel"] for c in result["channels"] if not c["delivering"]]
    # No channel configured is N/A here; validate-config is where a production setup is refused for it.
    channel_value = len(failing) if result["channels"] else None
    return [
        _criterion("card payment success rate", success, "> 95%", success is not None and success > 95,
                   _pct(success)),
        _criterion("average processing time (end to end)", end_to_end, "< 10 s",
                   end_to_end is not None and end_to_end < 10000,
                   None if end_to_end is None else f"{end_to_end / 1000:.2f} s"),
        _criterion("UI update success rate", ui_rate, "> 98%", ui_rate is not None and ui_rate > 98, _pct(ui_rate)),
        _criterion("error rate", err, "< 5%", err is not None and err < 5, _pct(err)),
        _criterion("critical alerts open", critical, "0", critical == 0, str(critical)),
        _criterion("alert channels delivering", channel_value, "all configured",
                   not failing, "all delivering" if not failing else "failing: " + ", ".join(failing),
                   empty="no channel configured"),
    ]
