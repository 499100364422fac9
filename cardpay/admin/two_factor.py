"""TOTP second factor (RFC 6238 via pyotp: SHA-1, 6 digits, 30-second steps) and single-use recovery codes.

A code is accepted for the current step or one step either side (clock drift), and only for a step
later than the last one accepted: a conditional UPDATE on totp_last_step makes a replayed or
concurrently submitted code fail on SQLite and PostgreSQL alike. Recovery codes are stored as SHA-256
hashes (each has 80 random bits, so a slow hash adds nothing) and are removed when used.
"""

import base64
import hashlib
import hmac
import re
import secrets

import pyotp
from sqlalchemy import or_, update

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import AdminUser

ISSUER = "cardpay"
STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
_CODE = re.compile(r"^\d{6}$")


def provisioning_uri(email, secret):
    """Return the otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def _normalise(code):
    return re.sub(r"[\s-]", "", code or "").lower()


def _hash(code):
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _recovery_code():
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits, 16 characters
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def enrol(user):
    """Give an admin a new TOTP secret and recovery codes; return (otpauth URI, codes shown once)."""
    codes = [_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    user.recovery_codes = [_hash(code) for code in codes]
    return provisioning_uri(user.email, user.totp_secret), codes


def verify(user, code):
    """Accept a TOTP code or an unused recovery code once; return "totp", "recovery_code" or None."""
    code = (code or "").strip()
    if not user.totp_secret:
        return None
    if _CODE.match(code):
        return "totp" if _accept_totp(user, code) else None
    return "recovery_code" if _use_recovery_code(user, code) else None


def _accept_totp(user, code):
    totp = pyotp.TOTP(user.totp_secret)
    now_step = int(clock.now().timestamp()) // STEP_SECONDS
    matched = [step for step in (now_step - 1, now_step, now_step + 1)
               if hmac.compare_digest(totp.generate_otp(step), code)]
    if not matched:
        return False
    step = max(matched)
    # Only a step later than the last accepted one: a code (or an earlier one) is never accepted twice.
    moved = db.session.execute(
        update(AdminUser).where(AdminUser.id == user.id,
                                or_(AdminUser.totp_last_step.is_(None), AdminUser.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return moved


def _use_recovery_code(user, code):
    hashes = list(user.recovery_codes or [])
    wanted = _hash(code)
    if not _normalise(code) or not any(hmac.compare_digest(wanted, h) for h in hashes):
        return False
    remaining = [h for h in hashes if not hmac.compare_digest(wanted, h)]
    # The version guard makes two parallel uses of one code succeed once; using a recovery code
    # (a lost phone, most likely) also ends the account's other sessions.
    used = db.session.execute(
        update(AdminUser).where(AdminUser.id == user.id, AdminUser.session_version == user.session_version)
        .values(recovery_codes=remaining, session_version=AdminUser.session_version + 1)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return used
