"""The outbox: delivering alert_deliveries rows (alerts, learner emails, access events), with leases, retries,
backoff and jitter; ``enqueue`` adds a message of any registered channel.

``deliver_due`` runs in the scheduled job every few seconds (never on a request). Each due row is
claimed with a conditional UPDATE that sets a lease (claimed_until, claimed_by) and commits before
anything is sent, so two workers or two schedulers never send the same row; a row is only ever sent
while its status is pending (or its sender died and the lease ran out), so a delivered row is never
sent again. A failure schedules the next attempt with exponential backoff and jitter; a channel that
keeps failing raises a ``channel_delivery_failed`` alert (sent to the other channels only), which
resolves itself once the channel delivers again.
"""

import logging
import random
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from cardpay.alerting import alerts, channels, conditions
from cardpay.core import clock, ids
from cardpay.core.extensions import db
from cardpay.models import AlertDelivery

log = logging.getLogger(__name__)
CHANNEL_ALERT = "channel_delivery_failed"
def lease_seconds():
    """Return how long a claim holds: longer than any one send can take."""
    return 3 * current_app.config["ALERT_SEND_TIMEOUT_SECONDS"] + 30


def backoff_seconds(attempts):
    """Return the delay before attempt ``attempts + 1``: doubling from the base, capped, with jitter."""
    config = current_app.config
    ceiling = min(config["ALERT_RETRY_MAX_SECONDS"], config["ALERT_RETRY_BASE_SECONDS"] * 2 ** (attempts - 1))
    # "Equal jitter": at least half the delay, so retries spread out without ever bunching at zero.
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def enqueue(channel, payload, kind="message", ordering_key=None):
    """Add one message for ``channel`` to the outbox in the caller's transaction; the outbox job sends it.

    Messages sharing an ``ordering_key`` (say, one enrollment's access events) go out in the order they
    were queued: a later one waits while an earlier one is still pending.
    """
    now = clock.now()
    row = AlertDelivery(channel=channel, target=channels.describe(current_app.config, channel, payload), kind=kind,
                        payload=payload, status="pending", attempts=0, next_attempt_at=now, created_at=now,
                        ordering_key=ordering_key)
    db.session.add(row)
    return row


def deliver_due(limit=50):
    """Re-check time-based alerts, then claim and send up to ``limit`` due notifications; return counts."""
    _evaluate_conditions()
    summary = {"claimed": 0, "delivered": 0, "failed": 0}
    for delivery_id, kind, alert_id, channel, ordering_key in _due_rows(limit):
        # A resolve notice waits for its firing notice on the same channel, so no one hears "resolved" first.
        if kind == "resolved" and _firing_undelivered(alert_id, channel):
            continue
        if ordering_key is not None and _earlier_undelivered(delivery_id, ordering_key):
            continue
        if not _claim(delivery_id):
            continue
        summary["claimed"] += 1
        summary["delivered" if _attempt(delivery_id) else "failed"] += 1
    return summary


def _evaluate_conditions():
    # Traffic may have stopped: the error rate and quiet threshold alerts must still clear on their own.
    try:
        conditions.evaluate_error_rate()
        alerts.resolve_quiet()
        db.session.commit()
    except Exception:  # noqa: BLE001 - delivering what is queued matters more
        db.session.rollback()
        log.exception("could not re-evaluate alert conditions")


def _due_rows(limit):
    """Return due rows, oldest first, so notifications of one alert go out in the order they were made."""
    rows = db.session.execute(
        select(AlertDelivery.id, AlertDelivery.kind, AlertDelivery.alert_id, AlertDelivery.channel,
               AlertDelivery.ordering_key)
        .where(_claimable(clock.now())).order_by(AlertDelivery.id).limit(limit)).all()
    db.session.commit()
    return rows


def _earlier_undelivered(delivery_id, ordering_key):
    found = db.session.execute(select(AlertDelivery.id).where(
        AlertDelivery.ordering_key == ordering_key, AlertDelivery.id < delivery_id,
        AlertDelivery.status.in_(("pending", "sending")))).first()
    db.session.commit()
    return found is not None


def _firing_undelivered(alert_id, channel):
    found = db.session.execute(select(AlertDelivery.id).where(
        AlertDelivery.alert_id == alert_id, AlertDelivery.channel == channel,
        AlertDelivery.kind.in_(("firing", "repeat")), AlertDelivery.status.in_(("pending", "sending")))).first()
    db.session.commit()
    return found is not None


def _claimable(now):
    return and_(AlertDelivery.status.in_(("pending", "sending")), AlertDelivery.next_attempt_at <= now,
                or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < now))


def _claim(delivery_id):
    """Take the lease on one row; tell whether this worker won it."""
    now = clock.now()
    won = db.session.execute(
        update(AlertDelivery).where(AlertDelivery.id == delivery_id, _claimable(now))
        .values(status="sending", claimed_by=ids.process_id(), claimed_until=now + timedelta(seconds=lease_seconds()))
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return won


def _attempt(delivery_id):
    """Send one claimed row and record the result; tell whether it was delivered."""
    row = db.session.get(AlertDelivery, delivery_id)
    channel, payload, alert_type = row.channel, row.payload, (row.payload or {}).get("type")
    db.session.commit()  # hold no transaction (and on SQLite no write lock) while talking to the network
    try:
        channels.send(current_app.config, channel, payload, delivery_id=delivery_id)
    except channels.ChannelError as exc:
        attempts = _record_failure(delivery_id, str(exc))
        log.warning("alert delivery %s to %s failed (attempt %s): %s", delivery_id, channel, attempts, exc)
        if alert_type != CHANNEL_ALERT and attempts >= current_app.config["ALERT_CHANNEL_FAILURE_ATTEMPTS"]:
            _raise_channel_alert(channel, str(exc), attempts)
        return False
    _record_success(delivery_id)
    _resolve_channel_alert(channel)
    return True


def _mine(delivery_id):
    return and_(AlertDelivery.id == delivery_id, AlertDelivery.claimed_by == ids.process_id(),
                AlertDelivery.status == "sending")


def _record_success(delivery_id):
    now = clock.now()
    db.session.execute(update(AlertDelivery).where(_mine(delivery_id)).values(
        status="delivered", delivered_at=now, attempts=AlertDelivery.attempts + 1, claimed_until=None,
        last_error=None).execution_options(synchronize_session=False))
    db.session.commit()


def _record_failure(delivery_id, error):
    row = db.session.get(AlertDelivery, delivery_id)
    db.session.refresh(row)
    attempts = row.attempts + 1
    gave_up = attempts >= current_app.config["ALERT_DELIVERY_MAX_ATTEMPTS"]
    db.session.execute(update(AlertDelivery).where(_mine(delivery_id)).values(
        status="failed" if gave_up else "pending", attempts=attempts, last_error=error[:1000],
        claimed_until=None, next_attempt_at=clock.now() + timedelta(seconds=backoff_seconds(attempts)))
        .execution_options(synchronize_session=False))
    db.session.commit()
    return attempts


def _raise_channel_alert(channel, error, attempts):
    try:
        alerts.raise_alert(
            CHANNEL_ALERT, "critical", f"alert channel {channel} is failing: {error}",
            {"channel": channel, "target": channels.describe(current_app.config, channel), "last_error": error,
             "attempts": attempts, "exclude_channels": [channel]},
            fingerprint=f"{CHANNEL_ALERT}:{channel}")
        db.session.commit()
    except Exception:  # noqa: BLE001
        db.session.rollback()
        log.exception("could not raise the channel alert for %s", channel)


def _resolve_channel_alert(channel):
    alerts.resolve_alert(f"{CHANNEL_ALERT}:{channel}", "delivery-recovered")  # a no-op when none is open
    db.session.commit()


def send_test():
    """Send a test notification through every configured channel now; return (channel, target, error)."""
    config, now, results = current_app.config, clock.now(), []
    for channel in channels.configured(config):
        body = alerts.notification("test", "test", "info", f"test alert from cardpay to the {channel} channel",
                                   "cardpay-test-alert", details={"channel": channel}, when=now)
        row = AlertDelivery(channel=channel, target=channels.describe(config, channel), kind="test", payload=body,
                            status="sending", attempts=0, next_attempt_at=now, created_at=now,
                            claimed_by=ids.process_id(), claimed_until=now + timedelta(seconds=lease_seconds()))
        db.session.add(row)
        db.session.commit()
        error = None
        try:
            channels.send(config, channel, body, delivery_id=row.id)
        except channels.ChannelError as exc:
            error = str(exc)
        # A test is reported on the console, not retried: it is either delivered or failed.
        db.session.execute(update(AlertDelivery).where(_mine(row.id)).values(
            status="failed" if error else "delivered", attempts=1, last_error=error, claimed_until=None,
            delivered_at=None if error else clock.now()).execution_options(synchronize_session=False))
        db.session.commit()
        results.append((channel, row.target, error))
    return results
