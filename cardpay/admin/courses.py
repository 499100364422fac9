"""Admin pages for the catalogue: list, create and edit courses (SPEC §13).

The views read the form and show what happened; cardpay.catalogue.courses checks the values,
writes the change and its audit row (course_created / course_updated with what changed).
"""

from flask import flash, redirect, render_template, request, url_for

from cardpay.admin.forms import CourseForm, EmptyForm
from cardpay.admin.routes import actor, bp
from cardpay.catalogue import courses as catalogue
from cardpay.catalogue.values import price_text, rands
from cardpay.core.extensions import db
from cardpay.models import Course


def _values(form):
    return {"slug": form.slug.data, "title": form.title.data, "description": form.description.data,
            "price": form.price.data, "access_url": form.access_url.data, "active": bool(form.active.data)}


def _form_errors(form):
    # Only the CSRF token is checked by WTForms itself; everything else by the catalogue.
    return {"_": "The form expired; reload the page and try again."} if form.errors else {}


@bp.get("/courses")
def courses():
    """Every course with its price, whether it is on sale, and where it lives."""
    return render_template("admin/courses.html", courses=catalogue.all_courses(), rands=rands, form=EmptyForm())


@bp.route("/courses/new", methods=["GET", "POST"])
def new_course():
    """Create a course."""
    form = CourseForm()
    errors = {}
    if request.method == "POST":
        errors = _form_errors(form) if not form.validate_on_submit() else {}
        if not errors:
            try:
                course = catalogue.create(_values(form), actor())
            except catalogue.CourseInvalid as invalid:
                errors = invalid.messages
            else:
                flash(f"Created {course.title} ({rands(course.price_cents)}).", "ok")
                return redirect(url_for("admin.courses"))
    return render_template("admin/course_form.html", form=form, course=None, errors=errors), 400 if errors else 200


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
def edit_course(course_id):
    """Edit a course's title, description, price, access URL and whether it is on sale (the slug stays)."""
    course = db.get_or_404(Course, course_id)
    form = CourseForm()
    errors = {}
    if request.method == "GET":
        form.slug.data, form.title.data, form.description.data = course.slug, course.title, course.description
        form.price.data, form.access_url.data = price_text(course.price_cents), course.access_url or ""
        form.active.data = course.active
    else:
        errors = _form_errors(form) if not form.validate_on_submit() else {}
        if not errors:
            try:
                course, changes = catalogue.update(course.id, _values(form), actor())
            except catalogue.CourseInvalid as invalid:
                errors = invalid.messages
            else:
                flash(f"Saved {course.title}: " + (", ".join(_named(changes)) if changes else "nothing changed") + ".",
                      "ok" if changes else "info")
                return redirect(url_for("admin.courses"))
    return render_template("admin/course_form.html", form=form, course=course, errors=errors), 400 if errors else 200


@bp.post("/courses/<int:course_id>/delete")
def delete_course(course_id):
    """Delete a course nobody ever paid for; one with payments stays (deactivate it)."""
    if not EmptyForm().validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for("admin.courses"))
    try:
        slug = catalogue.delete(course_id, actor())
    except catalogue.CourseRefused as refused:
        flash(str(refused), "error")
    else:
        flash(f"Deleted {slug}.", "ok")
    return redirect(url_for("admin.courses"))


def _named(changes):
    names = {"price_cents": "price", "access_url": "access URL"}
    return [names.get(name, name) for name in changes]
