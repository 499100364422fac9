"""Request hooks that make sure every callback and checkout request is counted once in ``request-finished``.

Callback requests are those of the ``webhook`` blueprint, checkout is the ``learner.enroll`` endpoint.
Their services publish request-finished themselves (they know whether processing failed inside a
2xx/503 answer); these hooks are the safety net for a request that ended without that, such as an
unexpected exception answered 500 by the app's error handler. Such a fallback event is published
from the response's close callback, after the body has gone to the client, so it never delays an
answer.
"""

from functools import partial

from flask import current_app, g, has_request_context, request

from cardpay import signals
from cardpay.core import clock, events

CHECKOUT_ENDPOINT = "learner.enroll"


def _kind():
    if request.blueprint == "webhook":
        return "callback"
    if request.endpoint == CHECKOUT_ENDPOINT:
        return "checkout"
    return None


def _note_published(sender, **_):
    """Remember that this request's request-finished went out already, so the fallback stays silent."""
    if has_request_context():
        g.cardpay_request_finished_published = True


def _publish(app, **kwargs):
    with app.app_context():
        events.publish(signals.request_finished, **kwargs)


def init_app(app):
    """Time callback and checkout requests and publish request-finished for those no service reported."""
    signals.request_finished.connect(_note_published)

    @app.before_request
    def start_request_timer():
        g.cardpay_request_started_ms = clock.monotonic_ms()

    @app.after_request
    def publish_request_finished(response):
        kind = _kind()
        if kind is None or g.get("cardpay_request_finished_published"):
            return response
        started = g.get("cardpay_request_started_ms", clock.monotonic_ms())
        internal_error = response.status_code >= 500
        response.call_on_close(partial(
            _publish, current_app._get_current_object(), endpoint=kind, status_code=response.status_code,
            duration_ms=round(clock.monotonic_ms() - started, 2), internal_error=internal_error))
        return response
