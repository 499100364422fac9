"""Sign-in links: a token with 256 random bits (core/ids) of which only the sha256 is stored; single use,
valid LEARNER_LINK_MINUTES. A link is made when its email is sent, never earlier, so no outbox row holds
a usable token."""

import hashlib
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from cardpay.core import clock, ids
from cardpay.core.extensions import db
from cardpay.models import SignInLink

MAX_TOKEN_LENGTH = 100


def _hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(learner_id, purpose):
    """Create and commit a sign-in link for a learner; return its token (shown once, in an email)."""
    token, now = ids.sign_in_token(), clock.now()
    minutes = float(current_app.config["LEARNER_LINK_MINUTES"])
    db.session.add(SignInLink(learner_id=learner_id, token_hash=_hash(token), purpose=purpose, created_at=now,
                              expires_at=now + timedelta(minutes=minutes)))
    db.session.commit()
    return token


def redeem(token):
    """Use a link once: return (learner_id, None), or (None, "unknown" / "used" / "expired")."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None, "unknown"
    digest, now = _hash(token), clock.now()
    link = db.session.execute(select(SignInLink).where(SignInLink.token_hash == digest)).scalar()
    if link is None:
        db.session.commit()
        return None, "unknown"
    # The conditional UPDATE is the single use: two tabs opening one link sign in once.
    won = db.session.execute(
        update(SignInLink).where(SignInLink.id == link.id, SignInLink.used_at.is_(None), SignInLink.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    if won:
        return link.learner_id, None
    db.session.refresh(link)
    return None, ("used" if link.used_at is not None else "expired")
