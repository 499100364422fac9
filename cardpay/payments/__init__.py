"""The purchase: course pages, Enroll Now, checkout, the return page, status checks (getStatus) and
approvals, the one place that says when a payment may change state."""


def init_app(app):
    """Serve the learner's pages and add seed-demo and simulate-payment."""
    from cardpay.payments import commands, routes  # noqa: F401  (commands registers itself)

    app.register_blueprint(routes.bp)
