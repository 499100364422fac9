"""The access API (SPEC §14): a learning platform asks which courses a learner may open.

``GET /api/v1/enrollments?email=<email>[&course=<slug>]`` with ``Authorization: Bearer <key>``.
A missing, unknown or revoked key is 401 before anything is read. The key is never logged: a
refusal is logged with the caller's address only, and core.logs redacts an Authorization header
and any cpk_ key wherever a line might carry one.
"""

import logging

from flask import Blueprint, jsonify, request
from marshmallow import ValidationError
from sqlalchemy import select

from cardpay.core import client_ip, clock
from cardpay.core.errors import error_response
from cardpay.core.extensions import db
from cardpay.integrations import api_keys
from cardpay.integrations.schemas import EnrollmentQuerySchema
from cardpay.models import Course, Enrollment, Learner

bp = Blueprint("integrations", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)
INVALID_KEY = "Send a valid access API key as Authorization: Bearer <key> (flask cardpay api-key create NAME)."


def _presented_key():
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else None


@bp.before_request
def require_key():
    """Refuse every access API request without a live key (401 in the JSON envelope)."""
    key = api_keys.authenticate(_presented_key())
    if key is None:
        log.warning("access api: refused a request without a valid key",
                    extra={"cardpay": {"remote_ip": client_ip.of_request()}})
        response = error_response(401, "invalid_api_key", INVALID_KEY)
        response.headers["WWW-Authenticate"] = 'Bearer realm="cardpay access API"'
        return response
    request.environ["cardpay.api_key_name"] = key.name
    return None


def enrollment_json(enrollment):
    """Return one enrollment as the access API tells it."""
    return {"course": {"slug": enrollment.course.slug, "title": enrollment.course.title},
            "status": enrollment.status,
            "access_granted_at": clock.iso(enrollment.access_granted_at),
            "revoked_at": clock.iso(enrollment.revoked_at)}


@bp.get("/enrollments")
def enrollments():
    """A learner's enrollments, optionally for one course (by slug)."""
    try:
        query = EnrollmentQuerySchema().load(request.args.to_dict())
    except ValidationError as exc:
        _field, messages = next(iter(exc.messages.items()))
        return error_response(400, "invalid_request", messages[0] if isinstance(messages, list) else str(messages))
    statement = (select(Enrollment).join(Learner, Enrollment.learner_id == Learner.id)
                 .join(Course, Enrollment.course_id == Course.id)
                 .where(Learner.email == query["email"]).order_by(Course.slug))
    if "course" in query:
        statement = statement.where(Course.slug == query["course"])
    rows = db.session.execute(statement).unique().scalars().all()
    log.info("access api: enrollments asked", extra={"cardpay": {
        "key_name": request.environ.get("cardpay.api_key_name"), "found": len(rows)}})
    response = jsonify({"enrollments": [enrollment_json(row) for row in rows]})
    response.headers["Cache-Control"] = "no-store"
    return response
