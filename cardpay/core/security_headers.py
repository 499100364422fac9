"""The headers every response carries: CSP, nosniff, Referrer-Policy, no framing; no-store on token pages.

Pages load only cardpay's own scripts, styles and images (no inline script or style attribute is
used anywhere, so the policy costs nothing) and may not be framed. Forms post only to cardpay, but
browsers also apply form-action to the redirect that follows a submission, and Enroll Now answers
with a 303 to iKhokha's payment page, so iKhokha's https origins are allowed as well. A URL that carries a payment or sign-in
token is never cached and never sent on as a Referer. A header a view already set is left alone.
"""

import re

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'none'; form-action 'self' https://*.ikhokha.com; "
                           "frame-ancestors 'none'")
# The learner URLs whose path holds a payment token or a sign-in token.
TOKEN_PATHS = re.compile(r"^/(payments/[^/]+/|learn/|api/payments/|account/sign-in/)")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def is_token_path(path):
    """Tell whether a request path carries a payment or sign-in token."""
    return bool(TOKEN_PATHS.match(path or ""))


def init_app(app):
    """Add the headers to every response of the app, errors included."""
    from flask import request

    @app.after_request
    def add_security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if is_token_path(request.path):
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "no-referrer"
        return response
