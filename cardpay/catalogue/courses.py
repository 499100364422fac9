"""The course service: create, update, deactivate and delete courses, each change audit-logged.

Every function takes raw values (a form, a file row), checks them with values.CourseSchema, writes
in one transaction with its audit row and commits. A price change touches only ``courses``: a
payment carries its own amount, so a paylink already issued keeps the price it was issued at. A
course that has ever had a payment is never deleted (deactivate it instead): payments and the
audit trail point at it.
"""

from marshmallow import ValidationError
from sqlalchemy import exists, select

from cardpay import audit
from cardpay.catalogue import values as course_values
from cardpay.core.extensions import db
from cardpay.models import Course, Enrollment, Payment

EDITABLE = ("title", "description", "price_cents", "currency", "active", "access_url")


class CourseInvalid(Exception):
    """The values do not make a course; ``messages`` says why, one sentence per field."""

    def __init__(self, messages):
        super().__init__("; ".join(f"{key}: {value}" for key, value in messages.items()))
        self.messages = messages


class CourseRefused(Exception):
    """The change is not allowed (for example deleting a course that has payments)."""


def all_courses():
    """Return every course, active ones first, then by title."""
    return db.session.execute(select(Course).order_by(Course.active.desc(), Course.title)).scalars().all()


def by_slug(slug):
    """Return the course with this slug, or None."""
    return db.session.execute(select(Course).where(Course.slug == slug)).scalar()


def check(values, slug_taken_by=None):
    """Return the columns of a course from raw values; raise CourseInvalid naming each bad field."""
    try:
        columns = course_values.load(values)
    except ValidationError as exc:
        raise CourseInvalid(course_values.first_messages(exc)) from None
    owner = by_slug(columns["slug"])
    if owner is not None and owner.id != slug_taken_by:
        raise CourseInvalid({"slug": f"Another course already uses the slug {columns['slug']}."})
    return columns


def changes_between(course, columns):
    """Return {column: [old, new]} for each editable column ``columns`` would change."""
    return {name: [getattr(course, name), columns[name]] for name in EDITABLE
            if name in columns and getattr(course, name) != columns[name]}


def apply_new(columns):
    """Add a new course to the session (no commit) and return it."""
    course = Course(**{name: columns[name] for name in ("slug", *EDITABLE)})
    db.session.add(course)
    db.session.flush()
    return course


def apply_changes(course, changes):
    """Set the changed columns on a course (no commit)."""
    for name, (_old, new) in changes.items():
        setattr(course, name, new)
    db.session.flush()


def create(values, actor):
    """Create a course from raw values, audit-logged as course_created; return it."""
    columns = check(values)
    course = apply_new(columns)
    audit.record("course_created", actor, "course", course.id,
                 details={"slug": course.slug, **{name: columns[name] for name in EDITABLE}})
    db.session.commit()
    return course


def update(course_id, values, actor):
    """Change a course from raw values (the slug stays); return (course, changes). No change writes nothing."""
    course = db.get_or_404(Course, course_id)
    columns = check({**values, "slug": course.slug}, slug_taken_by=course.id)
    changes = changes_between(course, columns)
    if changes:
        apply_changes(course, changes)
        audit.record("course_updated", actor, "course", course.id, details={"slug": course.slug,
                                                                            "changes": changes})
        db.session.commit()
    return course, changes


def deactivate(course_id, actor):
    """Take a course off sale (it stays, with its payments); return it."""
    course = db.get_or_404(Course, course_id)
    if course.active:
        course.active = False
        audit.record("course_updated", actor, "course", course.id,
                     details={"slug": course.slug, "changes": {"active": [True, False]}})
        db.session.commit()
    return course


def has_payments(course_id):
    """Tell whether anyone ever started paying for this course."""
    return db.session.execute(select(exists().where(Payment.enrollment_id == Enrollment.id,
                                                    Enrollment.course_id == course_id))).scalar()


def delete(course_id, actor):
    """Delete a course nobody ever paid for; raise CourseRefused when it has payments."""
    course = db.get_or_404(Course, course_id)
    if has_payments(course.id):
        raise CourseRefused(f"{course.title} has payments, so it stays on record: deactivate it instead.")
    db.session.execute(db.delete(Enrollment).where(Enrollment.course_id == course.id))
    audit.record("course_deleted", actor, "course", course.id, details={"slug": course.slug, "title": course.title})
    db.session.delete(course)
    db.session.commit()
    return course.slug
