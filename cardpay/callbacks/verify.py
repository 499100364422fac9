"""The checks a callback must pass, in SPEC §5's order: size, JSON, IP, app id, signature, timestamp, schema.

Nothing here touches the database: a delivery is judged from its bytes, headers, path and address,
and either comes out Verified or raises Rejected with the HTTP status and error code to answer.
"""

import hmac
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime

from marshmallow import ValidationError

from cardpay.callbacks.schemas import CallbackSchema
from cardpay.core import client_ip
from cardpay.ikhokha import signing

MAX_BODY_BYTES = 65536
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_SCHEMA = CallbackSchema()  # built once: building one copies its fields, and load() keeps no state


@dataclass
class Delivery:
    """One callback request as received: raw body (None when oversized), headers, raw path, peer."""

    raw_body: bytes
    body_size: int
    headers: object  # case-insensitive mapping with .get() (werkzeug Headers)
    path: str  # exactly as received, not percent-decoded, no query string
    remote_ip: str  # the client address after TRUSTED_PROXY_COUNT


@dataclass
class Verified:
    """A delivery that passed every check, with its parsed body and the schema-loaded fields."""

    payload: dict
    paylink_id: str
    status: str  # SUCCESS or FAILURE
    external_id: str  # externalTransactionID as sent, or None
    signature_valid: bool  # None when signature checks are switched off


class Rejected(Exception):
    """A delivery that failed a check: the status and error code to answer, and what was learnt."""

    def __init__(self, status, code, message, payload=None, signature_valid=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.payload, self.signature_valid = payload, signature_valid


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


# A \uD800-\uDFFF escape may spell a lone surrogate: text no database (and no UTF-8) can hold.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_body(raw):
    """Parse a body as strict JSON (no NaN or Infinity) of valid Unicode text, or raise Rejected with a 400."""
    try:
        payload = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        if _SURROGATE_ESCAPE.search(raw):  # rare: only then re-encode the whole payload to find out
            json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return payload
    except UnicodeEncodeError:
        raise Rejected(400, "invalid_json", "The body holds text that is not valid Unicode.") from None
    except (ValueError, RecursionError):
        raise Rejected(400, "invalid_json", "The body is not valid JSON.") from None


def previous_secret(config, now):
    """Return the previous callback secret while it is still accepted, else None."""
    secret = config.get("IKHOKHA_WEBHOOK_SECRET_PREVIOUS")
    expires = config.get("IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES")
    return secret if secret and expires is not None and now < expires else None


def _signature_ok(delivery, payload, config, now):
    signature = delivery.headers.get("IK-SIGN")
    if not signature:
        raise Rejected(401, "missing_signature", "The IK-SIGN header is missing.", payload, False)
    secrets = [config.get("IKHOKHA_WEBHOOK_SECRET"), previous_secret(config, now)]
    algorithm = config["WEBHOOK_SIGNATURE_ALGORITHM"]
    if signing.signature_matches(signature, secrets, delivery.path, delivery.raw_body, algorithm):
        return True
    try:  # some iKhokha integrations sign JSON.stringify(body) rather than the bytes they send
        compact = signing.js_stringify(payload)
    except RecursionError:
        compact = None
    if compact is not None and signing.signature_matches(signature, secrets, delivery.path, compact, algorithm):
        return True
    raise Rejected(401, "invalid_signature", "The IK-SIGN signature does not match.", payload, False)


def _app_id_ok(delivery, payload, config):
    given, ours = delivery.headers.get("IK-APPID"), config.get("IKHOKHA_API_KEY")
    if not given:
        raise Rejected(401, "missing_app_id", "The IK-APPID header is missing.", payload)
    if not ours or not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), ours.encode("utf-8")):
        raise Rejected(401, "invalid_app_id", "The IK-APPID header does not name this application.", payload)


def parse_timestamp(value):
    """Return Unix seconds for a timestamp (seconds, integer or decimal, or ISO 8601 with a zone)."""
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            value = float(text)
        else:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                raise ValueError("an ISO 8601 timestamp needs a zone")
            return parsed.timestamp()
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    raise ValueError("not a timestamp")


def _timestamps_ok(delivery, payload, config, now, signature_valid):
    found = [delivery.headers.get("IK-TIMESTAMP")]
    if isinstance(payload, dict):
        found.append(payload.get("timestamp"))
    tolerance = float(config["WEBHOOK_TIMESTAMP_TOLERANCE"])
    for value in (v for v in found if v not in (None, "")):
        try:
            seconds = parse_timestamp(value)
        except (ValueError, OverflowError):
            raise Rejected(400, "invalid_timestamp", "The timestamp does not parse.", payload,
                           signature_valid) from None
        drift = seconds - now.timestamp()
        if not abs(drift) <= tolerance:
            when = "in the future" if drift > 0 else "too old"
            raise Rejected(401, "timestamp_out_of_tolerance",
                           f"The timestamp is {when} (more than {tolerance:g} seconds from now).", payload,
                           signature_valid)


def verify(delivery, config, now):
    """Run every check in order; return Verified or raise Rejected."""
    if delivery.raw_body is None or len(delivery.raw_body) > MAX_BODY_BYTES:
        raise Rejected(413, "payload_too_large", f"The body is larger than {MAX_BODY_BYTES} bytes.")
    payload = parse_body(delivery.raw_body)
    if config["ENABLE_WEBHOOK_IP_VERIFICATION"] and not client_ip.is_allowed(
            delivery.remote_ip, config.get("WEBHOOK_ALLOWED_IPS")):
        raise Rejected(403, "ip_not_allowed", "Callbacks are not accepted from this address.", payload)
    signature_valid = None
    if config["ENABLE_ENHANCED_WEBHOOK_VALIDATION"]:
        _app_id_ok(delivery, payload, config)
        signature_valid = _signature_ok(delivery, payload, config, now)
    _timestamps_ok(delivery, payload, config, now, signature_valid)
    try:
        fields = _SCHEMA.load(payload)
    except ValidationError as exc:
        names = ", ".join(sorted("body" if k == "_schema" else str(k) for k in exc.messages))
        raise Rejected(400, "invalid_payload", f"The callback body is not a valid callback ({names}).",
                       payload, signature_valid) from None
    return Verified(payload, fields["paylinkID"], fields["status"], fields.get("externalTransactionID"),
                    signature_valid)
