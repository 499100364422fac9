"""The catalogue and who buys from it: courses, learners, enrollments."""

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models.types import UTCDateTime

ENROLLMENT_STATUSES = ("pending_payment", "active", "revoked")


class Course(db.Model):
    """A course on sale: price in cents, ZAR by default."""

    __tablename__ = "courses"
    id = db.Column(db.Integer, primary_key=True)
    slug = db.Column(db.String(120), nullable=False, unique=True)
    title = db.Column(db.String(200), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    price_cents = db.Column(db.Integer, nullable=False)
    currency = db.Column(db.String(3), nullable=False, default="ZAR")
    active = db.Column(db.Boolean, nullable=False, default=True)
    # The course in the business's own learning platform (https); access then sends the learner there.
    access_url = db.Column(db.String(1000))
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)


class Learner(db.Model):
    """Someone who pays for a course, identified by email."""

    __tablename__ = "learners"
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)


class Enrollment(db.Model):
    """A learner's place on a course; access is on while status is active."""

    __tablename__ = "enrollments"
    __table_args__ = (db.UniqueConstraint("learner_id", "course_id"),)
    id = db.Column(db.Integer, primary_key=True)
    learner_id = db.Column(db.Integer, db.ForeignKey("learners.id"), nullable=False)
    course_id = db.Column(db.Integer, db.ForeignKey("courses.id"), nullable=False)
    status = db.Column(db.String(20), nullable=False, default="pending_payment")
    access_granted_at = db.Column(UTCDateTime)
    revoked_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)

    learner = db.relationship("Learner", lazy="joined")
    course = db.relationship("Course", lazy="joined")
