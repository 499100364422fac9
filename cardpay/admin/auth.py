"""Admin accounts: hashed passwords, sign-in with lockout after repeated wrong passwords, all audit-logged.

An account locks for ADMIN_LOCKOUT_MINUTES after ADMIN_MAX_FAILED_LOGINS wrong passwords in a row;
while locked, even the right password is refused. The counter moves with conditional UPDATEs so
parallel guesses cannot slip past the limit.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from cardpay import audit
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import AdminUser

MIN_PASSWORD_LENGTH = 12
# Checked against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("cardpay-no-such-admin")


class LoginRefused(Exception):
    """Sign-in refused; ``message`` is safe to show (it never says whether the email exists)."""

    def __init__(self, message, locked=False):
        super().__init__(message)
        self.message = message
        self.locked = locked


def normalise_email(email):
    """Return the email as stored: trimmed and lower-case."""
    return (email or "").strip().lower()


def create_admin(email, password, actor="cli"):
    """Create an admin account, or set a new password on an existing one (and unlock it)."""
    email = normalise_email(email)
    if "@" not in email:
        raise ValueError("expected an email address")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user = db.session.execute(select(AdminUser).where(AdminUser.email == email)).scalar_one_or_none()
    created = user is None
    if created:
        user = AdminUser(email=email, created_at=clock.now())
        db.session.add(user)
    user.password_hash = generate_password_hash(password)
    user.active, user.failed_logins, user.locked_until = True, 0, None
    db.session.flush()
    audit.record("admin_created" if created else "admin_password_set", actor, "admin_user", user.id,
                 details={"email": email})
    db.session.commit()
    return user, created


def load_user(user_id):
    """Return the active admin with this id, for Flask-Login's user_loader."""
    try:
        user = db.session.get(AdminUser, int(user_id))
    except (TypeError, ValueError):
        return None
    return user if user is not None and user.active else None


def authenticate(email, password, ip=None):
    """Return the admin for a correct email and password; raise LoginRefused otherwise."""
    email = normalise_email(email)
    now = clock.now()
    user = db.session.execute(select(AdminUser).where(AdminUser.email == email)).scalar_one_or_none()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password or "")
        _refuse(email, "unknown_or_inactive_account", ip)
    if user.locked_until is not None and user.locked_until > now:
        _refuse(email, "account_locked", ip, user=user, locked=True)
    if not check_password_hash(user.password_hash, password or ""):
        _count_failure(user, now, ip)
    db.session.execute(update(AdminUser).where(AdminUser.id == user.id)
                       .values(failed_logins=0, locked_until=None, last_login_at=now)
                       .execution_options(synchronize_session=False))
    audit.record("admin_login", email, "admin_user", user.id, ip=ip)
    db.session.commit()
    db.session.refresh(user)
    return user


def _count_failure(user, now, ip):
    """Count one wrong password; lock the account when this one reaches the limit."""
    limit = int(current_app.config["ADMIN_MAX_FAILED_LOGINS"])
    db.session.execute(update(AdminUser).where(AdminUser.id == user.id)
                       .values(failed_logins=AdminUser.failed_logins + 1)
                       .execution_options(synchronize_session=False))
    minutes = current_app.config["ADMIN_LOCKOUT_MINUTES"]
    # The guess that crosses the limit locks and resets the count, so parallel guesses lock once.
    locked = db.session.execute(
        update(AdminUser).where(AdminUser.id == user.id, AdminUser.failed_logins >= limit)
        .values(locked_until=now + timedelta(minutes=minutes), failed_logins=0)
        .execution_options(synchronize_session=False)).rowcount == 1
    if locked:
        audit.record("admin_account_locked", user.email, "admin_user", user.id, outcome="refused",
                     reason=f"{limit} wrong passwords in a row", details={"locked_minutes": minutes}, ip=ip)
        _refuse(user.email, "wrong_password", ip, user=user, locked=True)
    _refuse(user.email, "wrong_password", ip, user=user)


def _refuse(email, why, ip, user=None, locked=False):
    """Audit-log a refused sign-in, commit the counters, and raise."""
    audit.record("admin_login_failed", email or "(blank)", "admin_user", user.id if user else None,
                 outcome="refused", reason=why, ip=ip)
    db.session.commit()
    if locked:
        raise LoginRefused("Too many wrong passwords: this account is locked for a while. "
                           "Try again later or ask another admin to reset it.", locked=True)
    raise LoginRefused("Wrong email or password.")
