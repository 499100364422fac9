"""Keys of the access API: made once, shown once, stored as a sha256 digest, counted on each use.

A key is ``cpk_`` + 32 random bytes (url-safe base64), so a sha256 of it cannot be reversed or
guessed, and a lookup by digest is safe; the compare_digest after it keeps the final comparison
constant-time. Each use is counted with a conditional UPDATE (``WHERE revoked_at IS NULL``), so a
key revoked while a request is under way stops at that request.
"""

import hashlib
import hmac
import secrets

from sqlalchemy import select, update

from cardpay import audit
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import ApiKey

KEY_PREFIX = "cpk_"
SHOWN_CHARS = 12  # "cpk_" and 8 characters: enough to tell keys apart, far too few to use one


class KeyRefused(Exception):
    """A key cannot be made or revoked (a name in use, no such key)."""


def digest(key):
    """Return the sha256 hex digest stored for a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create(name, actor):
    """Make a key called ``name``; return the plain key, which is never stored or shown again."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise KeyRefused("A key's name has 1 to 80 characters.")
    if db.session.execute(select(ApiKey.id).where(ApiKey.name == name)).scalar() is not None:
        raise KeyRefused(f"There is already a key called {name}; revoke it or choose another name.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, key_hash=digest(key), prefix=key[:SHOWN_CHARS], created_at=clock.now(),
                 created_by=actor, use_count=0)
    db.session.add(row)
    db.session.flush()
    audit.record("api_key_created", actor, "api_key", row.id, details={"name": name, "prefix": row.prefix})
    db.session.commit()
    return key


def revoke(name, actor):
    """Revoke the live key called ``name``; return it."""
    row = db.session.execute(select(ApiKey).where(ApiKey.name == name)).scalar()
    if row is None:
        raise KeyRefused(f"No key is called {name}.")
    if row.revoked_at is not None:
        raise KeyRefused(f"The key {name} was already revoked.")
    row.revoked_at = clock.now()
    audit.record("api_key_revoked", actor, "api_key", row.id, details={"name": name, "prefix": row.prefix})
    db.session.commit()
    return row


def all_keys():
    """Return every key (live and revoked), oldest first."""
    return db.session.execute(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).scalars().all()


def authenticate(presented):
    """Return the live ApiKey for a presented key and count the use (committed), or None."""
    if not presented or not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    wanted = digest(presented)
    row = db.session.execute(select(ApiKey).where(ApiKey.key_hash == wanted)).scalar()
    if row is None or not hmac.compare_digest(row.key_hash, wanted):
        db.session.rollback()  # end the read: nothing to write
        return None
    counted = db.session.execute(
        update(ApiKey).where(ApiKey.id == row.id, ApiKey.revoked_at.is_(None))
        .values(use_count=ApiKey.use_count + 1, last_used_at=clock.now())
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return row if counted else None
