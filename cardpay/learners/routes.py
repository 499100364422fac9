"""The account pages (blueprint "account"): sign-in by email link, my courses, sign-out, /learn/<slug>
(reached through the learner blueprint's /learn/<...>), and the development mailbox.

POST /account/sign-in answers one page whatever the address, so it tells no one which emails have
courses; it is rate-limited per client address and per typed address (429 with Retry-After).
"""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from cardpay.core import client_ip, rate_limits
from cardpay.core.extensions import db
from cardpay.learners import access, delivery, identity, links, mailbox
from cardpay.learners.schemas import SignInSchema

bp = Blueprint("account", __name__, template_folder="templates")
PER_IP = (20, 15 * 60)  # sign-in requests per client address per 15 minutes
PER_EMAIL = (5, 60 * 60)  # sign-in emails asked for one address per hour


def _no_store(response):
    response = current_app.make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/account/sign-in")
def sign_in_form():
    """The form that asks for an email address."""
    return render_template("account/sign_in.html", error=None, email="")


def _throttled(email):
    limits = ((rate_limits.item(*PER_IP), "learner-sign-in-ip", client_ip.of_request() or "-"),
              (rate_limits.item(*PER_EMAIL), "learner-sign-in-email", email))
    for limit, *keys in limits:
        if rate_limits.exceeded(limit, *keys):
            return rate_limits.retry_after(limit, *keys)
    for limit, *keys in limits:
        rate_limits.hit(limit, *keys)
    return None


@bp.post("/account/sign-in")
def sign_in_request():
    """Email a sign-in link when the address has a learner; the same page either way."""
    try:
        email = SignInSchema().load(request.form.to_dict())["email"]
    except ValidationError:
        return render_template("account/sign_in.html", error="Enter a valid email address, like name@example.com.",
                               email=request.form.get("email", "")[:254]), 400
    wait = _throttled(email)
    if wait is not None:
        return rate_limits.too_many(wait, "Too many sign-in requests: wait a little and try again.")
    learner = access.learner_by_email(email)
    if learner is not None:
        delivery.request_sign_in(learner)
    db.session.commit()
    return render_template("account/sign_in_sent.html")


@bp.get("/account/sign-in/<token>")
def open_link(token):
    """Open an emailed link: sign this browser in and go to my courses (303), or say why not (400/410)."""
    learner_id, problem = links.redeem(token)
    if learner_id is None:
        status = 400 if problem == "unknown" else 410
        return _no_store((render_template("account/link_problem.html", problem=problem), status))
    identity.sign_in(learner_id)
    return _no_store(redirect(url_for("account.my_courses"), code=303))


@bp.get("/account/courses")
def my_courses():
    """The signed-in learner's courses with access, each with its link."""
    learner = access.learner(identity.current_learner_id())
    if learner is None:
        identity.sign_out()
        return redirect(url_for("account.sign_in_form"), code=303)
    return _no_store(render_template("account/courses.html", learner=learner,
                                     enrollments=access.courses_with_access(learner.id)))


@bp.post("/account/sign-out")
def sign_out():
    """End this browser's learner session."""
    identity.sign_out()
    return redirect(url_for("account.sign_in_form"), code=303)


def open_course(slug):
    """GET /learn/<slug>: the course for a signed-in learner with access (303 to sign in otherwise, 403 without)."""
    learner = access.learner(identity.current_learner_id())
    if learner is None:
        return redirect(url_for("account.sign_in_form"), code=303)
    course, enrollment = access.enrollment_for(learner.id, slug)
    if course is None:
        abort(404)
    if enrollment is None or enrollment.status != "active":
        return _no_store((render_template("account/no_access.html", course=course), 403))
    if course.access_url:
        return redirect(course.access_url, code=303)
    return _no_store(render_template("learner/course_room.html", course=course, learner=learner))


@bp.get("/sandbox/mailbox")
def dev_mailbox():
    """Development only (the sandbox gateway on): the newest learner emails in the outbox."""
    if not current_app.config["SANDBOX_GATEWAY_ENABLED"]:
        abort(404)
    config = current_app.config
    shown = [_shown(message) for message in mailbox.messages(lambda payload: delivery.render(config, payload))]
    return _no_store(render_template("account/mailbox.html", messages=shown))


def _shown(message):
    if isinstance(message, Exception):
        return {"error": str(message)}
    return {"to": message["To"], "subject": message["Subject"], "date": message["Date"],
            "text": message.get_body(("plain",)).get_content()}
