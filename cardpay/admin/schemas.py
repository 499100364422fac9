"""Marshmallow schemas of the admin JSON API (/admin/api/*): what it returns, and what /openapi.json documents."""

from marshmallow import Schema, fields

Nullable = {"allow_none": True}


class ErrorSchema(Schema):
    """The JSON error envelope of every JSON path."""

    error = fields.String(required=True, metadata={"description": "stable error code"})
    message = fields.String(required=True, metadata={"description": "a human sentence"})


class PaymentCountsSchema(Schema):
    """Payments in the window, by outcome."""

    attempted = fields.Integer(metadata={"description": "payments created in the window"})
    succeeded = fields.Integer()
    failed = fields.Integer()
    abandoned = fields.Integer(metadata={"description": "never paid, older than STALE_PAYMENT_MINUTES"})
    in_progress = fields.Integer(metadata={"description": "not paid yet, younger than STALE_PAYMENT_MINUTES"})
    manual_review = fields.Integer()
    success_rate = fields.Float(**Nullable, metadata={"description": "succeeded / (succeeded + failed), percent"})
    revenue_cents = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                metadata={"description": "succeeded amounts per currency"})


class StageSchema(Schema):
    """Processing time of one stage against its threshold."""

    operation = fields.String()
    count = fields.Integer()
    avg_ms = fields.Float(**Nullable)
    p50_ms = fields.Float(**Nullable)
    p95_ms = fields.Float(**Nullable)
    p99_ms = fields.Float(**Nullable)
    max_ms = fields.Float(**Nullable)
    threshold_ms = fields.Float()
    exceeded = fields.Integer(metadata={"description": "timings over their threshold"})
    failed = fields.Integer()
    within_threshold = fields.Boolean()


class UiUpdateSchema(Schema):
    """Approvals acknowledged by the return page over approvals whose learner opened it."""

    opened = fields.Integer()
    acknowledged = fields.Integer()
    rate = fields.Float(**Nullable)


class ErrorRateSchema(Schema):
    """Callback and checkout requests ending in a 5xx or an internal failure."""

    errors = fields.Integer()
    requests = fields.Integer()
    rate = fields.Float(**Nullable)


class AlertSchema(Schema):
    """An alert."""

    id = fields.Integer()
    alert_type = fields.String(data_key="type")
    severity = fields.String()
    message = fields.String()
    fingerprint = fields.String()
    occurrences = fields.Integer()
    details = fields.Dict()
    resolved = fields.Boolean()
    resolved_by = fields.String(**Nullable)
    resolved_at = fields.AwareDateTime(**Nullable)
    timestamp = fields.AwareDateTime(data_key="raised_at")


class OpenAlertSchema(Schema):
    """An open alert as listed in the summary."""

    id = fields.Integer()
    type = fields.String()
    severity = fields.String()
    message = fields.String()
    fingerprint = fields.String()
    occurrences = fields.Integer()
    raised_at = fields.String()


class AlertsSummarySchema(Schema):
    """Open alerts by severity, and how many were raised in the window."""

    open = fields.Dict(keys=fields.String(), values=fields.Integer())
    open_total = fields.Integer()
    raised_in_window = fields.Integer()
    open_alerts = fields.List(fields.Nested(OpenAlertSchema))


class ChannelSchema(Schema):
    """Whether one configured alert channel is delivering."""

    channel = fields.String()
    delivered = fields.Integer()
    failed = fields.Integer()
    retrying = fields.Integer()
    stalled = fields.Integer()
    last_attempt_status = fields.String(**Nullable)
    delivering = fields.Boolean()


class CriterionSchema(Schema):
    """One success criterion of SPEC §8."""

    check = fields.String()
    value = fields.Float(**Nullable)
    shown = fields.String()
    target = fields.String()
    status = fields.String(metadata={"enum": ["PASS", "FAIL", "N/A"]})


class SeriesSchema(Schema):
    """Chart data: bucket start times and per-bucket figures."""

    bucket_seconds = fields.Integer()
    times = fields.List(fields.String())
    payments = fields.Dict(keys=fields.String(), values=fields.List(fields.Integer()))
    stage_avg_ms = fields.Dict(keys=fields.String(), values=fields.List(fields.Float(**Nullable)))
    error_rate_pct = fields.List(fields.Float(**Nullable))


class SummarySchema(Schema):
    """GET /admin/api/metrics/summary: everything the dashboard shows for a window."""

    window = fields.String()
    from_ = fields.String(data_key="from")
    to = fields.String()
    payments = fields.Nested(PaymentCountsSchema)
    stages = fields.List(fields.Nested(StageSchema))
    ui_update = fields.Nested(UiUpdateSchema)
    error_rate = fields.Nested(ErrorRateSchema)
    alerts = fields.Nested(AlertsSummarySchema)
    channels = fields.List(fields.Nested(ChannelSchema))
    review_queue = fields.Integer()
    series = fields.Nested(SeriesSchema)
    criteria = fields.List(fields.Nested(CriterionSchema))
    healthy = fields.Boolean(metadata={"description": "no criterion failed"})


class ManualReviewSchema(Schema):
    """A manual-review item."""

    id = fields.Integer()
    payment_id = fields.Integer(**Nullable)
    paylink_id = fields.String(**Nullable)
    reason = fields.String()
    details = fields.Dict()
    status = fields.String(metadata={"enum": ["open", "approved", "rejected"]})
    resolved_by = fields.String(**Nullable)
    resolution_note = fields.String(**Nullable)
    created_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(**Nullable)


class AdminPaymentSchema(Schema):
    """A payment as an operator sees it."""

    id = fields.Integer()
    reference = fields.String(attribute="external_transaction_id",
                              metadata={"description": "our externalTransactionID"})
    paylink_id = fields.String(**Nullable)
    learner_email = fields.String(attribute="enrollment.learner.email")
    course = fields.String(attribute="enrollment.course.slug")
    amount_cents = fields.Integer()
    currency = fields.String()
    status = fields.String()
    enrollment_status = fields.String(attribute="enrollment.status")
    created_at = fields.AwareDateTime()
    succeeded_at = fields.AwareDateTime(**Nullable)
    access_granted_at = fields.AwareDateTime(**Nullable)


class AuditLogSchema(Schema):
    """One audit-log entry."""

    id = fields.Integer()
    timestamp = fields.AwareDateTime()
    actor = fields.String()
    action = fields.String()
    target_type = fields.String(**Nullable)
    target_id = fields.String(**Nullable)
    outcome = fields.String()
    reason = fields.String(**Nullable)
    ip = fields.String(**Nullable)
    details = fields.Dict()


class ListSchema(Schema):
    """A page of a list endpoint."""

    page = fields.Integer()
    has_next = fields.Boolean()
