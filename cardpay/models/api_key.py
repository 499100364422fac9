"""Keys of the access API (SPEC §14): only a key's sha256 digest is stored, never the key."""

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models.types import UTCDateTime


class ApiKey(db.Model):
    """A named bearer key for the access API; usable until revoked."""

    __tablename__ = "api_keys"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80), nullable=False, unique=True)
    key_hash = db.Column(db.String(128), nullable=False, unique=True)  # sha256 hex of the key
    prefix = db.Column(db.String(12), nullable=False)  # the key's first characters, to tell keys apart
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    created_by = db.Column(db.String(254), nullable=False, default="system")
    revoked_at = db.Column(UTCDateTime)
    last_used_at = db.Column(UTCDateTime)
    use_count = db.Column(db.Integer, nullable=False, default=0)
