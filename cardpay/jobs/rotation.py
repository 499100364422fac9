"""Secret rotation: when each secret was last rotated, the reminder when one is overdue, the steps.

A rotation is recorded in secret_rotations (plus an audit_logs row); a secret with no recorded
rotation counts as overdue, so a new deployment records its starting point with
`flask cardpay rotate-secret`. The reminder is one secret_rotation_due alert per secret, raised
while the secret is older than SECRET_ROTATION_INTERVAL_DAYS and resolved once it is rotated.
"""

from datetime import timedelta

from sqlalchemy import func, select

from cardpay import audit
from cardpay.alerting import alerts
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import SecretRotation

SECRETS = ("IKHOKHA_WEBHOOK_SECRET", "IKHOKHA_API_SECRET", "SECRET_KEY")
ALERT_TYPE = "secret_rotation_due"
PREVIOUS_SECRET_GRACE = timedelta(days=7)


def fingerprint(name):
    """Return the reminder alert's fingerprint for one secret."""
    return f"{ALERT_TYPE}:{name}"


def last_rotations():
    """Return {secret name: when it was last rotated, or None}."""
    rows = db.session.execute(select(SecretRotation.secret_name, func.max(SecretRotation.rotated_at))
                              .group_by(SecretRotation.secret_name)).all()
    db.session.commit()
    found = {name: clock.as_utc(when) for name, when in rows}
    return {name: found.get(name) for name in SECRETS}


def overdue(config, now=None):
    """Return {secret name: last rotation or None} for the secrets older than the interval."""
    now = now or clock.now()
    limit = now - timedelta(days=config["SECRET_ROTATION_INTERVAL_DAYS"])
    return {name: when for name, when in last_rotations().items() if when is None or when < limit}


def record(name, by, note=None):
    """Record a rotation of one secret (and its audit-log row); return the secret_rotations row."""
    if name not in SECRETS:
        raise ValueError(f"unknown secret {name!r}; one of {', '.join(SECRETS)}")
    rotation = SecretRotation(secret_name=name, rotated_at=clock.now(), rotated_by=by, note=note)
    db.session.add(rotation)
    audit.record("secret_rotated", actor=by, target_type="secret", target_id=name,
                 details={"note": note} if note else {})
    db.session.commit()
    return rotation


def check_reminders(config):
    """Raise the reminder of each overdue secret and resolve the others'; return what was done."""
    due = overdue(config)
    interval = config["SECRET_ROTATION_INTERVAL_DAYS"]
    for name in SECRETS:
        if name in due:
            last = due[name]
            since = f"last rotated {clock.iso(last)}" if last else "no rotation recorded"
            alerts.raise_alert(ALERT_TYPE, "warning",
                               f"{name} is due for rotation ({since}; interval {interval} days)",
                               details={"secret": name, "last_rotated_at": clock.iso(last),
                                        "interval_days": interval},
                               fingerprint=fingerprint(name))
        else:
            alerts.resolve_alert(fingerprint(name), actor="secret-rotation")
    db.session.commit()
    return {"due": sorted(due)}


def operator_steps(name, now=None):
    """Return the numbered steps an operator follows to finish rotating one secret."""
    now = now or clock.now()
    if name == "IKHOKHA_WEBHOOK_SECRET":
        expires = clock.iso((now + PREVIOUS_SECRET_GRACE).replace(microsecond=0))
        return [
            "Copy the current IKHOKHA_WEBHOOK_SECRET into IKHOKHA_WEBHOOK_SECRET_PREVIOUS and set "
            f"IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES={expires} (callbacks signed with it verify until then).",
            "Put the new secret in IKHOKHA_WEBHOOK_SECRET (and in iKhokha's dashboard), then restart the web "
            "unit: systemctl restart cardpay-web.",
            "Run `flask cardpay validate-config`: it must report no problems.",
            "Confirm callbacks verify with the new secret: new webhook_events show signature valid, and no "
            "callback_rejected alerts for invalid_signature appear (admin dashboard, audit log).",
            f"After {clock.iso(now + PREVIOUS_SECRET_GRACE)} remove IKHOKHA_WEBHOOK_SECRET_PREVIOUS and its "
            "_EXPIRES, then restart the web unit again.",
        ]
    if name == "IKHOKHA_API_SECRET":
        return [
            "Generate the new Application secret in iKhokha's dashboard.",
            "Put it in IKHOKHA_API_SECRET (and in IKHOKHA_WEBHOOK_SECRET too if callbacks are signed with the "
            "API secret), then restart both units: systemctl restart cardpay-web cardpay-scheduler.",
            "Run `flask cardpay verify-deployment`: checkout and getStatus must work with the new secret.",
        ]
    return [
        "Generate a new key: python -c 'import secrets; print(secrets.token_hex(32))'.",
        "Put it in SECRET_KEY on every host, then restart both units (every admin signs in again).",
        "Sign in to /admin/login to confirm sessions work.",
    ]
