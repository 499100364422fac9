"""The admin JSON API under /admin/api: the dashboard's numbers and the admin lists, read-only.

Same session and guard as the pages (401 envelope without one); actions stay on the CSRF-protected
forms, so a stolen read-only link cannot change anything. Unknown filter values and pages are 400s
(queries.choice, routes.check_parameters), as /openapi.json documents.
"""

from flask import jsonify, request

from cardpay.admin import figures, queries
from cardpay.admin.routes import bp
from cardpay.admin.schemas import AdminPaymentSchema, AlertSchema, AuditLogSchema, ManualReviewSchema, SummarySchema


def _page(query, schema, key):
    rows, page, has_next = queries.paged(query)
    return jsonify({key: schema(many=True).dump(rows), "page": page, "has_next": has_next})


@bp.get("/api/metrics/summary")
def api_summary():
    """Every dashboard figure and the success criteria for ?window=1h|24h|7d."""
    window = figures.parse_window(request.args.get("window"))
    return jsonify(SummarySchema().dump(figures.summary(window)))


@bp.get("/api/alerts")
def api_alerts():
    """Open alerts (?status=resolved for the resolved ones), optionally one ?severity."""
    resolved = queries.choice("status", queries.ALERT_STATES, "open") == "resolved"
    severity = queries.choice("severity", queries.SEVERITIES)
    return _page(queries.alerts(resolved, severity), AlertSchema, "alerts")


@bp.get("/api/manual-reviews")
def api_reviews():
    """Open manual-review items (?status=decided for the decided ones)."""
    return _page(queries.reviews(queries.choice("status", queries.REVIEW_STATES, "open")), ManualReviewSchema, "items")


@bp.get("/api/payments")
def api_payments():
    """Payments, searchable with ?q= (email, paylink ID, reference), ?status=, ?from= and ?to= (YYYY-MM-DD)."""
    query = queries.payments(**queries.payment_filters())
    return _page(query, AdminPaymentSchema, "payments")


@bp.get("/api/audit-logs")
def api_audit_logs():
    """Audit entries, filterable with ?actor=, ?action=, ?target=type[:id], ?outcome=."""
    return _page(queries.audit_log(**queries.audit_filters()), AuditLogSchema, "entries")
