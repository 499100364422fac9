"""At most once per interval per process: the monitoring checks that must not run on every request.

The marks live in the app (one per worker process), read from the monotonic clock, so a fresh
app starts unthrottled and two apps in one process behave like two workers.
"""

import threading

from flask import current_app

from cardpay.core import clock

_lock = threading.Lock()  # gthread workers share one app between threads


def due(name, seconds):
    """Tell whether ``name`` may run now, and if so note that it runs; False within ``seconds`` of the last run."""
    marks = current_app.extensions.setdefault("cardpay_throttle", {})
    now = clock.monotonic_ms()
    with _lock:
        last = marks.get(name)
        if last is not None and now - last < seconds * 1000.0:
            return False
        marks[name] = now
        return True
