"""Routes of the learner blueprint: catalogue, course page, Enroll Now, the return page and its API.

Views stay thin: services/checkout does the buying, services/journey the waiting, services/detection
the getStatus fallback. The payment token in a URL is the capability; a browser also remembers the
tokens it paid with (in its session), so Enroll Now on an open course can lead back to it, and only
those (or the learner signed in by email, cardpay.learners) may reuse a pending payment.
"""

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from marshmallow import ValidationError

from cardpay.core import clock
from cardpay.core.extensions import csrf
from cardpay.core.rate_limits import from_setting, limiter, token_key
from cardpay.learners import identity
from cardpay.learners import routes as account
from cardpay.payments import checkout, return_page, status_checks
from cardpay.payments.schemas import EnrollSchema

bp = Blueprint("learner", __name__, template_folder="templates")
SESSION_TOKENS = "payment_tokens"
REMEMBERED = 20


def _remember(token):
    tokens = [t for t in session.get(SESSION_TOKENS, []) if t != token]
    session[SESSION_TOKENS] = (tokens + [token])[-REMEMBERED:]


@bp.get("/")
def catalogue():
    """The courses on sale."""
    return render_template("learner/catalogue.html", courses=checkout.active_courses())


@bp.get("/courses/<slug>")
def course_page(slug):
    """One course, with the Enroll Now form."""
    return render_template("learner/course.html", course=checkout.course_on_sale(slug), errors={}, form={})


@bp.post("/courses/<slug>/enroll")
@limiter.limit(from_setting("ENROLL_RATE_LIMIT"), scope="enroll")
def enroll(slug):
    """Enroll Now: create the payment, then send the browser to iKhokha's card page (303)."""
    started = clock.monotonic_ms()
    response = _enroll(slug)  # an exception is counted by monitoring's request hooks, answered 500 by core
    checkout.report_request(response[1] if isinstance(response, tuple) else response.status_code, started)
    return response


def _enroll(slug):
    course = checkout.course_on_sale(slug)
    try:
        form = EnrollSchema().load(request.form.to_dict())
    except ValidationError as exc:
        errors = {key: " ".join(value) if isinstance(value, list) else str(value) for key, value in exc.messages.items()}
        return render_template("learner/course.html", course=course, errors=errors, form=request.form), 400
    owner = (session.get(SESSION_TOKENS, []), identity.current_learner_id())
    result = checkout.start_checkout(current_app.config, course, form["email"], form["name"], owner)
    if result.outcome == "gateway_down":
        return render_template("learner/gateway_down.html", course=result.course, message=result.message), 503
    if result.outcome == "already_active":
        if result.payment is not None and result.payment.token in owner[0]:
            return redirect(url_for("learner.return_page", token=result.payment.token), code=303)
        if owner[1] is not None and owner[1] == result.enrollment.learner_id:
            return redirect(url_for("learner.course_room", token=course.slug), code=303)
        # The same words for every address: this page must not confirm who owns which course.
        return render_template("learner/already_enrolled.html", course=result.course), 200
    _remember(result.payment.token)
    return redirect(result.paylink_url, code=303)


@bp.get("/payments/<token>/return", endpoint="return_page")
def show_return_page(token):
    """Where iKhokha sends the learner back: "confirming", then access as soon as it is granted."""
    payment = return_page.payment_by_token(token)
    return_page.record_arrival(payment)
    _remember(payment.token)
    outcome = request.args.get("outcome")
    zone = current_app.config["DISPLAY_TIMEZONE"]
    response = current_app.make_response(render_template(
        "learner/return.html", payment=payment, course=payment.enrollment.course, learner=payment.enrollment.learner,
        state=return_page.page_state(payment, outcome), receipt=return_page.receipt_of(payment, zone) or {}))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/learn/<token>")
def course_room(token):
    """The course itself, opened by the payment that granted access (/learn/<token>) or by the learner signed
    in by email (/learn/<slug>): in the business's own platform when it has an access_url, here otherwise."""
    payment = return_page.find_by_token(token)
    if payment is None:
        return account.open_course(token)
    if return_page.page_state(payment) != "granted":
        return redirect(url_for("learner.return_page", token=token), code=303)
    if payment.enrollment.course.access_url:
        return redirect(payment.enrollment.course.access_url, code=303)
    return render_template("learner/course_room.html", course=payment.enrollment.course,
                           learner=payment.enrollment.learner)


@bp.get("/api/payments/<token>/status")
@limiter.limit(from_setting("STATUS_RATE_LIMIT_PER_TOKEN"), key_func=token_key, scope="status-token")
@limiter.limit(from_setting("STATUS_RATE_LIMIT_PER_IP"), scope="status-ip")
def payment_status(token):
    """The status JSON the return page polls; asks getStatus itself when the callback is late."""
    payment = return_page.payment_by_token(token)
    status_checks.check(payment, current_app.config)
    response = jsonify(return_page.status_of(payment))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/payments/<token>/ui-ack")
@csrf.exempt  # the unguessable payment token is the capability; there is no session state to forge
def ui_ack(token):
    """The page reports that it shows access: closes the ui_update and end_to_end timings."""
    return jsonify(return_page.acknowledge(return_page.payment_by_token(token)))
