"""The learner's access (SPEC §12): receipts, sign-in links by email, my courses, /learn/<slug>."""


def init_app(app):
    """Serve the account pages, listen for granted access, and add the learner_email outbox channel."""
    from cardpay.core import display
    from cardpay.learners import delivery, routes

    app.register_blueprint(routes.bp)
    app.add_template_filter(lambda moment: display.when(moment, app.config["DISPLAY_TIMEZONE"]) if moment else "",
                            "when")
    delivery.connect()
