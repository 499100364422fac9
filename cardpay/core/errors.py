"""Error types and the JSON error envelope: {"error": code, "message": sentence}, never a trace."""

import logging

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from cardpay.core import database, log_fields

log = logging.getLogger(__name__)
JSON_PREFIXES = ("/api/", "/webhooks/", "/admin/api/", "/health", "/.netlify/", "/metrics", "/sandbox/ikhokha/api")


class CardpayError(Exception):
    """An error with an HTTP status, a stable code and a human sentence."""

    status = 400
    code = "bad_request"

    def __init__(self, message, code=None, status=None, details=None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}


class NotFound(CardpayError):
    """The thing asked for does not exist."""

    status = 404
    code = "not_found"


class GatewayUnavailable(CardpayError):
    """iKhokha (or the sandbox) could not be reached or answered with a server error."""

    status = 502
    code = "gateway_unavailable"


class GatewayRejected(CardpayError):
    """iKhokha answered but refused the request (bad credentials, bad request)."""

    status = 502
    code = "gateway_rejected"


def error_response(status, code, message):
    """Return the JSON error envelope with a status code."""
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def wants_json():
    """Tell whether the current request is on a JSON path (or asks for JSON)."""
    path = request.path
    return path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == "application/json"


def _page(status, message):
    # A file template is compiled once and cached; a string template would be compiled per error.
    return render_template("error.html", status=status, message=message), status


def init_app(app):
    """Install app-wide handlers that answer every error in the right shape."""

    @app.errorhandler(CardpayError)
    def handle_cardpay_error(exc):
        if wants_json():
            return error_response(exc.status, exc.code, exc.message)
        return _page(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc):
        code = (exc.name or "error").lower().replace(" ", "_")
        if wants_json():
            response = error_response(exc.code or 500, code, exc.description or exc.name)
            original = exc.get_response().headers
            for header in ("Allow", "Retry-After"):
                if header in original:
                    response.headers[header] = original[header]
            return response
        return _page(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def handle_unexpected(exc):
        # The trace goes to the log only; the client gets the envelope below.
        log.exception("unhandled error on %s %s", request.method, log_fields.mask_path(request.path))
        database.rollback_quietly()  # so the next use of this session starts clean
        if wants_json():
            return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")
        return _page(500, "Something went wrong on our side; it has been logged.")
