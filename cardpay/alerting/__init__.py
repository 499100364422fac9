"""Alerting: alert identity and dedup, conditions, threat detection, the outbox and its channels, test-alerts."""


def init_app(app):
    """Connect the alerting receivers and add the test-alerts command."""
    from cardpay.alerting import commands, receivers  # noqa: F401  (commands registers itself)

    receivers.connect()
