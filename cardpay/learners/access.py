"""What a learner may open: their enrollments with access, and one course by slug."""

from sqlalchemy import select

from cardpay.core.extensions import db
from cardpay.models import Course, Enrollment, Learner


def learner(learner_id):
    """Return a learner by id, or None."""
    return db.session.get(Learner, learner_id) if learner_id is not None else None


def learner_by_email(email):
    """Return the learner with this (tidied) email, or None."""
    return db.session.execute(select(Learner).where(Learner.email == email)).scalar()


def courses_with_access(learner_id):
    """Return the learner's active enrollments, by course title."""
    return db.session.execute(
        select(Enrollment).join(Course, Enrollment.course_id == Course.id)
        .where(Enrollment.learner_id == learner_id, Enrollment.status == "active").order_by(Course.title)
    ).scalars().all()


def enrollment_for(learner_id, slug):
    """Return (course, enrollment or None) for a learner and a course slug; course is None when unknown."""
    course = db.session.execute(select(Course).where(Course.slug == slug)).scalar()
    if course is None:
        return None, None
    enrollment = db.session.execute(select(Enrollment).where(
        Enrollment.learner_id == learner_id, Enrollment.course_id == course.id)).scalar()
    return course, enrollment
