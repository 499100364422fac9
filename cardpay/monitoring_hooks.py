"""Request hooks that publish ``request-finished`` for callback and checkout requests (the error rate's input).

Callback requests are those of the ``webhook`` blueprint, checkout is the ``learner.enroll`` endpoint.
The event is published from the response's close callback, after the body has gone to the client, so
recording it never delays a callback's answer. A view that handled an internal processing failure
but still answers below 500 sets ``g.cardpay_internal_error = True`` to have it counted as an error.
"""

from functools import partial

from flask import current_app, g, request

from cardpay import clock, events, signals

CHECKOUT_ENDPOINT = "learner.enroll"


def _kind():
    if request.blueprint == "webhook":
        return "callback"
    if request.endpoint == CHECKOUT_ENDPOINT:
        return "checkout"
    return None


def _publish(app, **kwargs):
    with app.app_context():
        events.publish(signals.request_finished, **kwargs)


def init_app(app):
    """Time callback and checkout requests and publish request-finished once each is answered."""

    @app.before_request
    def start_request_timer():
        g.cardpay_request_started_ms = clock.monotonic_ms()

    @app.after_request
    def publish_request_finished(response):
        kind = _kind()
        if kind is None:
            return response
        started = g.get("cardpay_request_started_ms", clock.monotonic_ms())
        internal_error = response.status_code >= 500 or bool(g.get("cardpay_internal_error", False))
        response.call_on_close(partial(
            _publish, current_app._get_current_object(), endpoint=kind, status_code=response.status_code,
            duration_ms=round(clock.monotonic_ms() - started, 2), internal_error=internal_error))
        return response
