"""The monitoring dashboard: every figure of services/criteria for a window, charts, queue and alerts."""

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from cardpay.admin import figures, queries
from cardpay.admin.forms import ReasonForm
from cardpay.admin.routes import bp
from cardpay.core.extensions import db
from cardpay.models import FastTrackApproval


@bp.get("/")
def index():
    """The admin home is the dashboard."""
    return redirect(url_for("admin.dashboard"))


@bp.get("/card-payment-monitoring")
def dashboard():
    """Show the monitoring dashboard for ?window=1h|24h|7d."""
    window = figures.parse_window(request.args.get("window"))
    summary = figures.summary(window)
    approvals = db.session.execute(
        select(FastTrackApproval).order_by(FastTrackApproval.created_at.desc(), FastTrackApproval.id.desc())
        .limit(10)).scalars().all()
    queue = db.session.execute(queries.reviews("open").limit(10)).scalars().all()
    return render_template("admin/dashboard.html", summary=summary, windows=list(figures.WINDOWS),
                           approvals=approvals, queue=queue, form=ReasonForm())
