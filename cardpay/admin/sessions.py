"""Admin sessions that really end: bound to the account's session_version, the browser, and recent use.

Flask's session is a signed cookie, so the server cannot delete a copy of it. Instead the session
carries the account's session_version at sign-in; logout, a password change, deactivation and a 2FA
reset bump the row's version, after which every copy is refused. The session also records when it
was last used (ADMIN_SESSION_IDLE_MINUTES, on cardpay's clock) and a hash of the User-Agent it was
issued to. Between the password and the code step the session holds only a short-lived marker,
which Flask-Login does not read as a sign-in.
"""

import hashlib

from flask import current_app, request, session
from flask_login import login_user
from sqlalchemy import update

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import AdminUser

VERSION, SEEN, AGENT, PENDING = "admin_sv", "admin_seen", "admin_ua", "admin_pending"
PENDING_SECONDS = 300
# Writing the last-seen time at most this often keeps most responses free of a new cookie.
TOUCH_SECONDS = 30


def _agent():
    return hashlib.sha256(request.headers.get("User-Agent", "").encode("utf-8", "replace")).hexdigest()[:32]


def _now():
    return clock.now().timestamp()


def start(user):
    """Sign an admin in: a fresh session that carries the account's current session_version."""
    session.clear()  # nothing from before sign-in (or from the password step) survives
    login_user(user)
    session[VERSION], session[SEEN], session[AGENT] = user.session_version, _now(), _agent()


def valid(user):
    """Tell whether this request's session still belongs to ``user`` (not revoked, not idle, same browser)."""
    idle = float(current_app.config["ADMIN_SESSION_IDLE_MINUTES"]) * 60
    seen = session.get(SEEN)
    return (session.get(VERSION) == user.session_version and session.get(AGENT) == _agent()
            and isinstance(seen, (int, float)) and _now() - seen < idle)


def touch():
    """Record that the signed-in admin used the session now."""
    now = _now()
    if now - session.get(SEEN, 0) >= TOUCH_SECONDS:
        session[SEEN] = now


def end_everywhere(user_id):
    """Bump the account's session_version: every session issued before now stops working."""
    db.session.execute(update(AdminUser).where(AdminUser.id == user_id)
                       .values(session_version=AdminUser.session_version + 1)
                       .execution_options(synchronize_session=False))


def begin_second_step(user):
    """After a correct password: remember it for PENDING_SECONDS, without signing in."""
    session.clear()
    session[PENDING] = {"id": user.id, "version": user.session_version, "until": _now() + PENDING_SECONDS,
                        "agent": _agent()}


def pending_user():
    """Return the admin whose password was just accepted and who still owes a code, or None."""
    marker = session.get(PENDING)
    if not isinstance(marker, dict) or marker.get("agent") != _agent() or _now() > marker.get("until", 0):
        return None
    user = db.session.get(AdminUser, marker.get("id"))
    if user is None or not user.active or user.session_version != marker.get("version"):
        return None
    return user


def drop_pending():
    """Forget the password step (a wrong code that is throttled, or starting over)."""
    session.pop(PENDING, None)
