"""The admin blueprint: sign-in, and the guard that keeps every other /admin URL for signed-in admins.

The guard is a before_request hook on the whole blueprint rather than a decorator per view, so a
view added later cannot be left open by accident: pages redirect to the login form, /admin/api
answers 401 in the JSON envelope. Views live in dashboard.py, pages.py and api.py.
"""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from cardpay import audit
from cardpay.admin import auth
from cardpay.admin.forms import EmptyForm, LoginForm
from cardpay.core import client_ip
from cardpay.core.errors import error_response
from cardpay.core.extensions import db, login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static")
PUBLIC_ENDPOINTS = {"admin.login", "admin.static"}
# Only cardpay's own assets: no inline script, no CDN, no framing.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@bp.record_once
def _set_up_login(state):
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Sign in to see the admin pages."
    login_manager.user_loader(auth.load_user)


@bp.before_request
def require_admin():
    """Refuse anonymous users everywhere except the login form and the static assets."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if request.path.startswith("/admin/api/"):
        return error_response(401, "login_required", "Sign in at /admin/login to use the admin API.")
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("admin.login", next=target))


@bp.after_request
def harden(response):
    """Admin responses are never cached, framed or allowed to load anything from elsewhere."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.context_processor
def _admin_globals():
    return {"logout_form": EmptyForm()}


def _safe_next(target):
    """Follow ?next= only to an admin page on this site (no open redirect)."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin/") or target.startswith("//"):
        return url_for("admin.dashboard")
    return target


def actor():
    """The signed-in admin's email, as written into the audit log."""
    return current_user.email


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in on a correct email and password."""
    form = LoginForm()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    error, status = None, 200
    if form.validate_on_submit():
        try:
            user = auth.authenticate(form.email.data, form.password.data, ip=client_ip.of_request())
        except auth.LoginRefused as refused:
            error, status = refused.message, 429 if refused.locked else 401
        else:
            session.clear()  # nothing from before sign-in survives into the admin session
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        error, status = "Enter your email and password.", 400
    return render_template("admin/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    """Sign out (a POST with its CSRF token, so another site cannot sign an admin out)."""
    if EmptyForm().validate_on_submit():
        audit.record("admin_logout", actor(), "admin_user", current_user.id, ip=client_ip.of_request())
        db.session.commit()
        logout_user()
        session.clear()
        flash("Signed out.", "info")
    return redirect(url_for("admin.login"))


from cardpay.admin import api, courses, dashboard, pages  # noqa: E402,F401  (register their views on bp)
