"""The admin blueprint: sign-in (password, then a TOTP code when ADMIN_REQUIRE_2FA), sign-out, and the
guard that keeps every other /admin URL for signed-in admins with a still-valid session (sessions.py).

The guard is a before_request hook on the whole blueprint rather than a decorator per view, so a
view added later cannot be left open by accident: pages redirect to the login form, /admin/api
answers 401 in the JSON envelope. Views live in dashboard.py, pages.py and api.py.
"""

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from cardpay import audit
from cardpay.admin import auth, presenting, sessions
from cardpay.admin.forms import CodeForm, EmptyForm, LoginForm
from cardpay.core import client_ip
from cardpay.core.errors import error_response
from cardpay.core.extensions import db, login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static")
for _name, _filter in presenting.FILTERS.items():
    bp.add_app_template_filter(_filter, "admin_" + _name)
PUBLIC_ENDPOINTS = {"admin.login", "admin.login_code", "admin.static"}
MAX_PAGE = 100_000
# A ?next= target is followed only when it is this plain: no control characters, spaces or backslashes
# (CR/LF would end up in the Location header; browsers read a backslash as a slash).
_UNSAFE_IN_NEXT = frozenset(chr(c) for c in range(0x21)) | {"\\", chr(0x7F)}


@bp.record_once
def _set_up_login(state):
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Sign in to see the admin pages."
    login_manager.user_loader(auth.load_user)


@bp.before_request
def require_admin():
    """Refuse anonymous users everywhere except the login forms and the static assets."""
    if current_user.is_authenticated:
        sessions.touch()
        return None
    if "_user_id" in session:
        session.clear()  # revoked, idle or from another browser: nothing of it is kept
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.path.startswith("/admin/api/"):
        return error_response(401, "login_required", "Sign in at /admin/login to use the admin API.")
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("admin.login", next=target))


@bp.before_request
def check_parameters():
    """Refuse NUL bytes in any parameter and a ?page= outside 1..MAX_PAGE with 400 (after the sign-in guard)."""
    fields = list(request.args.lists()) + (list(request.form.lists()) if request.method == "POST" else [])
    if any("\x00" in key or any("\x00" in value for value in values) for key, values in fields):
        abort(400, description="A parameter holds a NUL byte.")
    page = request.args.get("page")
    if page is not None and not (page.isascii() and page.isdigit() and 1 <= int(page) <= MAX_PAGE):
        abort(400, description=f"page must be a whole number from 1 to {MAX_PAGE}.")


@bp.after_request
def harden(response):
    """Admin responses are never cached (the headers every page gets come from core/security_headers)."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def _admin_globals():
    return {"logout_form": EmptyForm()}


def _safe_next(target):
    """Follow ?next= only to an admin page on this site (no open redirect, no header injection)."""
    target = target or ""
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not parts.path.startswith("/admin/") or target.startswith("//")
            or any(c in _UNSAFE_IN_NEXT for c in target)):
        return url_for("admin.dashboard")
    return target


def actor():
    """The signed-in admin's email, as written into the audit log."""
    return current_user.email


def act(action, target_id, back, form=None):
    """Run an admin action with the posted reason and come back to the page it was started from."""
    from cardpay.admin.actions import ActionRefused
    from cardpay.admin.forms import ReasonForm

    form = form or ReasonForm()
    if not form.validate_on_submit():
        flash("Say why (at least 3 characters): every action goes into the audit log.", "error")
        return redirect(back)
    try:
        message = action(target_id, actor(), form.reason.data.strip())
    except ActionRefused as refused:
        flash(str(refused), "error")
    else:
        flash(message, "ok")
    return redirect(back)


def _refused(template, form, refused):
    """Render a refused sign-in step: 401, or 429 with Retry-After when throttled."""
    status = 429 if refused.retry_after else 401
    response = current_app.make_response((render_template(template, form=form, error=refused.message), status))
    if refused.retry_after:
        response.headers["Retry-After"] = str(refused.retry_after)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; after a correct password sign in, or ask for the code when 2FA is required."""
    form = LoginForm()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    error, status = None, 200
    if form.validate_on_submit():
        ip = client_ip.of_request()
        try:
            user = auth.check_password(form.email.data, form.password.data, ip=ip)
        except auth.LoginRefused as refused:
            form.email.data = None  # not echoed, so the page is the same whichever address was typed
            return _refused("admin/login.html", form, refused)
        target = _safe_next(request.args.get("next"))
        if current_app.config["ADMIN_REQUIRE_2FA"]:
            if not user.totp_secret:
                error, status = ("Two-factor sign-in is required but not set up for this account: ask an "
                                 "operator to run flask cardpay admin reset-2fa for it."), 403
            else:
                sessions.begin_second_step(user)
                return redirect(url_for("admin.login_code", next=target))
        else:
            auth.signed_in(user, ip)
            sessions.start(user)
            return redirect(target)
    elif request.method == "POST":
        error, status = "Enter your email and password.", 400
    return render_template("admin/login.html", form=form, error=error), status


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step: a TOTP or recovery code; only a valid one turns the password step into a session."""
    user = sessions.pending_user()
    if user is None:
        sessions.drop_pending()
        return redirect(url_for("admin.login"))
    form = CodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        ip = client_ip.of_request()
        try:
            how = auth.check_code(user, form.code.data, ip=ip)
        except auth.LoginRefused as refused:
            if refused.retry_after:
                sessions.drop_pending()
            return _refused("admin/login_code.html", form, refused)
        auth.signed_in(user, ip, how)
        sessions.start(user)
        return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        error, status = "Enter the code from your authenticator app.", 400
    return render_template("admin/login_code.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    """Sign out everywhere (a POST with its CSRF token, so another site cannot sign an admin out)."""
    if EmptyForm().validate_on_submit():
        audit.record("admin_logout", actor(), "admin_user", current_user.id, ip=client_ip.of_request())
        sessions.end_everywhere(current_user.id)  # a copy of this session cookie stops working too
        db.session.commit()
        logout_user()
        session.clear()
        flash("Signed out.", "info")
    return redirect(url_for("admin.login"))


from cardpay.admin import api, callbacks, courses, dashboard, outbox, pages, payment_pages  # noqa: E402,F401  (register their views on bp)
