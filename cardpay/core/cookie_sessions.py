"""Flask's signed-cookie sessions, without their per-request cost for a request that has no session.

Flask builds the cookie signer (an itsdangerous serializer with its key derivation) on every
request before it looks for the cookie, and works out every cookie attribute before it finds that an
empty session has nothing to save (it then only adds ``Vary: Cookie``, as this does). Most of
cardpay's traffic is iKhokha's callbacks and the status API, which send no cookie and touch no
session: for them both steps are skipped. A request with a session cookie, or one that puts
something in its session, is handled by Flask exactly as before.
"""

from flask.sessions import SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    """Flask's session interface, short-circuited for requests that bring no session and make none."""

    def open_session(self, app, request):
        """Return a fresh empty session when the request carries no session cookie; otherwise read it."""
        # No Cookie header at all is the common case (callbacks, the status API): no need to parse one.
        if app.secret_key and ("HTTP_COOKIE" not in request.environ
                               or not request.cookies.get(self.get_cookie_name(app))):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        """For a session that stayed empty and unmodified, only say the answer varies by cookie (what Flask
        does for it, after working out every cookie attribute first); otherwise save as Flask does."""
        if not session and not session.modified:
            response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_app(app):
    """Use these sessions for the app."""
    app.session_interface = CookieSessions()
