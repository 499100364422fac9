"""Routes of the webhook blueprint: iKhokha's payment callback, at its URL and the legacy Netlify alias.

The view only reads the request (bounded body, raw path, client address) and hands it to
services/callbacks; it is exempt from CSRF because the caller is a server proving itself with IK-SIGN.
"""

from urllib.parse import quote, urlsplit

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import ClientDisconnected

from cardpay.callbacks import intake
from cardpay.callbacks.verify import MAX_BODY_BYTES, Delivery
from cardpay.core import client_ip, clock
from cardpay.core.extensions import csrf

bp = Blueprint("webhook", __name__)
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def raw_path(environ):
    """Return the request path exactly as the client sent it (not percent-decoded, no query string)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if raw.lower().startswith(("http://", "https://")):
        raw = urlsplit(raw).path  # an absolute request target
    raw = raw.split("?", 1)[0].split("#", 1)[0]
    if not raw.startswith("/"):
        raw = quote((environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1", "replace"),
                    safe=_PATH_SAFE)
    # WSGI carries the path's bytes as latin-1; the gateway signed the text those bytes spell.
    return raw.encode("latin-1", "replace").decode("utf-8", "surrogateescape")


def _read_body():
    """Return (body or None when over the limit, size in bytes); never reads more than limit + 1."""
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return None, length
    try:
        data = request.stream.read(MAX_BODY_BYTES + 1)
    except ClientDisconnected:
        data = b""
    if len(data) > MAX_BODY_BYTES:
        return None, length or len(data)
    return data, len(data)


@bp.post("/webhooks/ikhokha")
@bp.post("/.netlify/functions/ikhokha-webhook")
@csrf.exempt
def ikhokha_callback():
    """Receive an iKhokha payment callback: 200 once recorded, 4xx when refused, 503 to ask for a retry."""
    started_ms = clock.monotonic_ms()
    body, size = _read_body()
    remote = client_ip.of_request()
    delivery = Delivery(raw_body=body, body_size=size, headers=request.headers, path=raw_path(request.environ),
                        remote_ip=remote)
    answer = intake.publish(intake.receive(delivery, started_ms))
    response = jsonify(answer.body)
    response.status_code = answer.status
    if answer.status == 503:
        response.headers["Retry-After"] = "5"
    if answer.retry_after:
        response.headers["Retry-After"] = str(answer.retry_after)
    return response
