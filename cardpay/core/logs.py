"""Structured JSON logging with a request id, redaction of secrets and card data, and log shipping.

Every record of the ``cardpay`` logger is one JSON line on stderr at CARD_PAYMENT_LOG_LEVEL. Before a
line is written (or shipped) its values pass through cardpay.core.redaction's log strength: card-like
numbers masked, secret-named pairs and the configured secrets' own values redacted, the token of a
token URL masked in ``path``; every line carries service, host, pid and version (core/log_fields). When
LOG_AGGREGATION_ENDPOINT is set, the same lines are also POSTed there as JSON arrays (with the
LOG_AGGREGATION_HEADERS, e.g. the shipper's Authorization) by a background thread fed through a
bounded queue: a full queue drops the record (and counts it in
``shipper_stats``) rather than ever making a request wait.
"""

import json
import logging
import queue
import re
import sys
import threading
import time

from flask import g, has_request_context, request

import config as cardpay_config
from cardpay.core import ids, log_fields, outbound, redaction
from cardpay.core.worker_thread import WorkerThread

QUEUE_SIZE = 1000  # records waiting to be shipped; beyond this they are dropped, never waited for
BATCH_SIZE = 100
FLUSH_SECONDS = 2.0
shipper_stats = {"shipped": 0, "dropped": 0, "failed_batches": 0}  # per process, exported on /metrics


_FIXED_FIELDS = ("time", "level", "logger", "message", "request_id", "path", "exception")
_OWN_FIELDS = ("time", "level", "logger", "service", "host", "pid", "version")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, and extras, all scrubbed."""

    converter = time.gmtime  # the "Z" in the time field must be true

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(log_fields.identity())
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
            entry["path"] = log_fields.mask_path(request.path)  # a token in a URL never reaches a log
        for key, value in getattr(record, "cardpay", {}).items():
            if key not in _OWN_FIELDS:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # Scrub the values, not the JSON text, so the line always stays valid JSON. Time, level and
        # logger name are cardpay's own words; everything else may carry what a client sent.
        return json.dumps({key: value if key in _OWN_FIELDS else redaction.for_log(value, None if key in _FIXED_FIELDS else key)
                           for key, value in entry.items()}, default=str)


class AggregationHandler(logging.Handler):
    """Queue formatted records for a background thread that POSTs them in batches; never blocks."""

    def __init__(self, endpoint, allow_private, timeout, headers=None):
        super().__init__()
        self.endpoint, self.allow_private, self.timeout = endpoint, allow_private, timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.queue = queue.Queue(maxsize=QUEUE_SIZE)
        self._worker = WorkerThread(self._run, "cardpay-log-shipper")
        self._stopped = threading.Event()

    def emit(self, record):
        """Format a record now (in the caller's context) and queue it, or count it as dropped."""
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - a bad record must not break the caller
            shipper_stats["dropped"] += 1
            return
        self._worker.ensure_running()
        try:
            self.queue.put_nowait(line)
        except queue.Full:
            shipper_stats["dropped"] += 1

    def _run(self):
        while not self._stopped.is_set():
            batch = self._next_batch()
            if not batch:
                continue
            body = ("[" + ",".join(batch) + "]").encode()
            try:
                outbound.post(self.endpoint, body, self.headers, allow_private=self.allow_private,
                              timeout=self.timeout)
                shipper_stats["shipped"] += len(batch)
            except Exception:  # noqa: BLE001 - nowhere to log it without feeding this same queue
                shipper_stats["failed_batches"] += 1
                shipper_stats["dropped"] += len(batch)

    def _next_batch(self):
        try:
            batch = [self.queue.get(timeout=FLUSH_SECONDS)]
        except queue.Empty:
            return []
        while len(batch) < BATCH_SIZE:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def close(self):
        """Stop the shipping thread (records still queued are dropped)."""
        self._stopped.set()
        super().close()


def _configure_shipping(logger, app):
    for handler in [h for h in logger.handlers if isinstance(h, AggregationHandler)]:
        logger.removeHandler(handler)
        handler.close()
    endpoint = app.config.get("LOG_AGGREGATION_ENDPOINT")
    if endpoint:
        try:
            headers = cardpay_config.parse_header_pairs(app.config.get("LOG_AGGREGATION_HEADERS"))
        except ValueError:  # validate-config reports it (and production refuses to start)
            headers = {}
        handler = AggregationHandler(endpoint, app.config["ALERT_ALLOW_PRIVATE_NETWORKS"],
                                     app.config["ALERT_SEND_TIMEOUT_SECONDS"], headers)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)


# A token URL anywhere in a line (the development server writes whole request lines).
_TOKEN_ANYWHERE = re.compile(r"(/(?:payments|learn|api/payments|account/sign-in)/)[^/\s?\"]+", re.I)


class TokenPathFilter(logging.Filter):
    """Mask the token of token URLs in another library's log lines (the development server's access log)."""

    def filter(self, record):
        """Rewrite the record's message arguments in place; never drop a record."""
        if record.args:
            record.args = tuple(_TOKEN_ANYWHERE.sub(r"\1[token]", arg) if isinstance(arg, str) else arg
                                for arg in (record.args if isinstance(record.args, tuple) else (record.args,)))
        elif isinstance(record.msg, str):
            record.msg = _TOKEN_ANYWHERE.sub(r"\1[token]", record.msg)
        return True


def init_app(app):
    """Send cardpay's logs to stderr as JSON at CARD_PAYMENT_LOG_LEVEL, with a request id."""
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, TokenPathFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(TokenPathFilter())
    level = getattr(logging, app.config["CARD_PAYMENT_LOG_LEVEL"].upper(), logging.INFO)
    logger = logging.getLogger("cardpay")
    if not any(isinstance(h.formatter, JsonFormatter) and not isinstance(h, AggregationHandler)
               for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
    # Short values ("true", a 4-digit PIN) would redact ordinary words; real secrets are long.
    redaction.remember_secrets(str(app.config[s.name]) for s in cardpay_config.SETTINGS
                               if s.kind == "secret" and app.config.get(s.name) and len(str(app.config[s.name])) >= 8)
    _configure_shipping(logger, app)

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", incoming) else ids.request_id()

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-ID"] = getattr(g, "request_id", "")
        return response
