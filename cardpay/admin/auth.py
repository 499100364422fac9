"""Admin accounts: hashed passwords, sign-in with throttling and an optional second factor, all audit-logged.

Failed sign-ins are throttled per (email, client address) and per address (admin/throttle.py), never
per account, so a stranger cannot lock an operator out. Every refusal reads the same and costs the
same password hash whether or not the email has an account. Passwords follow admin/passwords.py;
setting one ends the account's existing sessions (admin/sessions.py).
"""

import functools

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from cardpay import audit
from cardpay.admin import passwords, sessions, throttle, two_factor
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import AdminUser

MIN_PASSWORD_LENGTH = passwords.MIN_PASSWORD_LENGTH
REFUSED = "Wrong email or password."
THROTTLED = "Too many failed sign-ins from here. Wait a few minutes and try again."
WRONG_CODE = "That code is not valid (or was already used). Enter the current code from your app."


@functools.cache
def _dummy_hash():
    """Return the hash a sign-in for an unknown email is checked against, so it costs as long as a wrong
    password. Made on first use, not at import: it costs ~0.1 s that every process start would pay (only
    a process's first such refusal takes longer)."""
    return generate_password_hash("cardpay-no-such-admin")


class LoginRefused(Exception):
    """Sign-in refused; ``message`` is safe to show (it never says whether the email exists)."""

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def normalise_email(email):
    """Return the email as stored: trimmed and lower-case."""
    return (email or "").strip().lower()


def find(email):
    """Return the admin with this email, or None."""
    return db.session.execute(select(AdminUser).where(AdminUser.email == normalise_email(email))).scalar_one_or_none()


def create_admin(email, password, actor="cli"):
    """Create an admin account, or set a new password on an existing one (ending its sessions)."""
    email = normalise_email(email)
    if "@" not in email:
        raise ValueError("expected an email address")
    reason = passwords.problem(password)
    if reason:
        raise ValueError(reason)
    user = find(email)
    created = user is None
    if created:
        user = AdminUser(email=email, created_at=clock.now())
        db.session.add(user)
    else:
        user.session_version = (user.session_version or 0) + 1
    user.password_hash = generate_password_hash(password)
    user.password_changed_at = clock.now()
    user.active, user.failed_logins, user.locked_until = True, 0, None
    db.session.flush()
    audit.record("admin_created" if created else "admin_password_set", actor, "admin_user", user.id,
                 details={"email": email})
    db.session.commit()
    return user, created


def reset_two_factor(email, actor="cli", action="admin_2fa_reset"):
    """Give an admin a new TOTP secret and recovery codes, ending its sessions; return (uri, codes)."""
    user = find(email)
    if user is None:
        raise ValueError(f"no admin {normalise_email(email)}")
    uri, codes = two_factor.enrol(user)
    user.session_version = (user.session_version or 0) + 1
    audit.record(action, actor, "admin_user", user.id, details={"email": user.email})
    db.session.commit()
    return uri, codes


def deactivate(email, actor="cli"):
    """Stop an admin from signing in and end every session it has."""
    user = find(email)
    if user is None:
        raise ValueError(f"no admin {normalise_email(email)}")
    user.active = False
    user.session_version = (user.session_version or 0) + 1
    audit.record("admin_deactivated", actor, "admin_user", user.id, details={"email": user.email})
    db.session.commit()
    return user


def load_user(user_id):
    """Return the active admin whose session this is and is still valid, for Flask-Login's user_loader."""
    try:
        user = db.session.get(AdminUser, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.active or not sessions.valid(user):
        return None
    return user


def check_password(email, password, ip=None):
    """Return the admin for a correct email and password; raise LoginRefused otherwise."""
    email = normalise_email(email)
    try:
        throttle.check(email, ip)
    except throttle.Throttled as exc:
        # Checked before the account is looked up, so known and unknown emails get the same answer.
        _refuse(email, "throttled", ip, retry_after=exc.retry_after)
    user = find(email)
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password or "")
        _refuse(email, "unknown_or_inactive_account", ip, count=True)
    if not check_password_hash(user.password_hash, password or ""):
        _refuse(email, "wrong_password", ip, user=user, count=True)
    return user


def check_code(user, code, ip=None):
    """Accept the second factor for an admin whose password was just checked; raise LoginRefused otherwise."""
    try:
        throttle.check(user.email, ip)
    except throttle.Throttled as exc:
        _refuse(user.email, "throttled", ip, user=user, retry_after=exc.retry_after, message=THROTTLED)
    how = two_factor.verify(user, code)
    if how is None:
        _refuse(user.email, "wrong_code", ip, user=user, count=True, message=WRONG_CODE)
    db.session.refresh(user)
    return how


def signed_in(user, ip=None, how="password"):
    """Record a complete sign-in."""
    throttle.succeeded(user.email, ip)
    db.session.execute(update(AdminUser).where(AdminUser.id == user.id).values(last_login_at=clock.now())
                       .execution_options(synchronize_session=False))
    audit.record("admin_login", user.email, "admin_user", user.id, ip=ip, details={"second_factor": how})
    db.session.commit()
    db.session.refresh(user)


def _refuse(email, why, ip, user=None, count=False, retry_after=None, message=None):
    """Audit-log a refused sign-in, count it against the throttle, and raise."""
    if count:
        throttle.failed(email, ip)
    audit.record("admin_login_failed", email or "(blank)", "admin_user", user.id if user else None,
                 outcome="refused", reason=why, ip=ip)
    db.session.commit()
    if retry_after is not None:
        raise LoginRefused(message or THROTTLED, retry_after=retry_after)
    raise LoginRefused(message or REFUSED)
