"""How a learner gets back in without a password: emailed sign-in links, stored hashed."""

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models.types import UTCDateTime


class SignInLink(db.Model):
    """One emailed sign-in link: only the sha256 of its token, single use, until expires_at."""

    __tablename__ = "learner_sign_in_links"
    id = db.Column(db.Integer, primary_key=True)
    learner_id = db.Column(db.Integer, db.ForeignKey("learners.id"), nullable=False, index=True)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    purpose = db.Column(db.String(20), nullable=False)  # receipt or sign_in
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)
    used_at = db.Column(UTCDateTime)
