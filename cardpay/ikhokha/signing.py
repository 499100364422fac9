"""iKhokha's request signature, in one place: used by the client, the callback verifier and the sandbox.

IK-SIGN is the hex HMAC of escape(urlPath + body) under the application secret, where urlPath is
the path only (no host, no query) and escape puts a backslash before \\, " and ' and turns NUL
into \\0 (what iKhokha's Node sample does with its jsStringEscape).
"""

import hashlib
import hmac
import json
import math

DIGESTS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


def escape(text):
    """Escape a payload exactly as iKhokha's sample code does before signing it."""
    return (text.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'").replace("\x00", "\\0"))


def _text(body):
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="surrogateescape")
    return body


def sign(secret, path, body="", algorithm="sha256"):
    """Return the hex signature of path + body under a secret."""
    payload = escape(path + _text(body)).encode("utf-8", errors="surrogateescape")
    return hmac.new(secret.encode("utf-8"), payload, DIGESTS[algorithm]).hexdigest()


def signature_matches(signature, secrets, path, body, algorithm="sha256"):
    """Tell whether a signature is valid for path + body under any of the given secrets (constant-time)."""
    if not signature:
        return False
    given = signature.strip().lower().encode("ascii", errors="replace")
    matched = False
    for secret in secrets:
        if secret:
            expected = sign(secret, path, body, algorithm).encode("ascii")
            matched |= hmac.compare_digest(given, expected)
    return matched


def _js_number(value):
    if isinstance(value, bool) or not isinstance(value, float):
        return None
    if math.isnan(value) or math.isinf(value):
        return "null"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:  # JavaScript writes 1e-7 and 1e+21 where Python writes 1e-07 and 1e+21
        mantissa, exponent = text.split("e")
        sign_char = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}e{sign_char}{int(exponent.lstrip('+-'))}"
    return text


def js_stringify(value):
    """Serialise a parsed JSON value the way JavaScript's JSON.stringify does (compact)."""
    if isinstance(value, dict):
        items = (json.dumps(str(k), ensure_ascii=False) + ":" + js_stringify(v) for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(js_stringify(v) for v in value) + "]"
    number = _js_number(value)
    if number is not None:
        return number
    return json.dumps(value, ensure_ascii=False)
