"""Structured JSON logging with a request id, redaction of secrets and card data, and log shipping.

Every record of the ``cardpay`` logger is one JSON line on stderr at CARD_PAYMENT_LOG_LEVEL. Before a
line is written (or shipped) card numbers are masked, ``key=value`` / ``"key": "value"`` pairs whose
key names a secret are redacted, and the configured secrets' own values are replaced wherever they
appear. When LOG_AGGREGATION_ENDPOINT is set, the same lines are also POSTed there as JSON arrays by
a background thread fed through a bounded queue: a full queue drops the record (and counts it in
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
from cardpay.core import ids
from cardpay.core.worker_thread import WorkerThread

# 13-19 digits, optionally split by spaces or dashes: anything that could be a card number.
PAN_PATTERN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
SECRET_KEYS = re.compile(r"(secret|password|sign|token|authorization|cookie|api[_-]?key|cvv|cvc)", re.I)
# "IK-SIGN: abc", "password=abc", '"api_key": "abc"': the key stays, the value goes.
# Tried only where a word (or its quote) starts: from inside a word the same key would match again,
# and every such start re-scanned the word (a 100-character line with "signature" in it took ~86 us).
SECRET_PAIR = re.compile(
    r"""(?<![\w-])(?P<key>["']?[\w-]*(?:secret|password|passwd|token|ik-sign|signature|authorization|api[_-]?key|cvv|cvc)"""
    r"""[\w-]*["']?\s*[:=]\s*)(?P<quote>["']?)(?P<scheme>(?:bearer|basic|token|digest)\s+)?"""
    r"""(?P<value>[^\s"',;&}\]]+)""", re.I)
# "Bearer <credential>" wherever it appears, and cardpay's own access API keys (cpk_...) by their shape,
# so a key is redacted even in a line that does not name a secret (a URL, an error message).
BEARER = re.compile(r"""(?<![\w-])(bearer\s+)(?!\[redacted\])[^\s"',;&}\]]+""", re.I)
ACCESS_API_KEY = re.compile(r"cpk_[A-Za-z0-9_-]{6,}")
# The words SECRET_PAIR needs: a line without any of them (nearly every line) skips that pattern.
_SECRET_WORD = re.compile(r"secret|password|passwd|token|ik-sign|signature|authorization|api[_-]?key|cvv|cvc", re.I)
QUEUE_SIZE = 1000  # records waiting to be shipped; beyond this they are dropped, never waited for
BATCH_SIZE = 100
FLUSH_SECONDS = 2.0
shipper_stats = {"shipped": 0, "dropped": 0, "failed_batches": 0}  # per process, exported on /metrics
_secret_values = set()


def mask_pans(text):
    """Replace anything that looks like a card number with a mask keeping the last 4 digits."""
    def _mask(match):
        digits = re.sub(r"\D", "", match.group(0))
        return "[card ****" + digits[-4:] + "]"
    return PAN_PATTERN.sub(_mask, text)


def redact(text):
    """Mask card numbers and redact secret values (by key name and by known value) in a string."""
    text = mask_pans(text)
    if _SECRET_WORD.search(text):
        text = SECRET_PAIR.sub(lambda m: f"{m.group('key')}{m.group('quote')}{m.group('scheme') or ''}[redacted]",
                               text)
    lowered = text.lower()
    if "bearer" in lowered:
        text = BEARER.sub(lambda m: f"{m.group(1)}[redacted]", text)
    if "cpk_" in lowered:
        text = ACCESS_API_KEY.sub("cpk_[redacted]", text)
    for secret in _secret_values:
        text = text.replace(secret, "[redacted]")
    return text


def scrub(value, key=None):
    """Return a value fit for a log line: secret-named keys redacted, strings redacted, card numbers masked."""
    if key is not None and SECRET_KEYS.search(str(key)):
        return "[redacted]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: scrub(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [scrub(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and PAN_PATTERN.fullmatch(str(value)):
        return mask_pans(str(value))
    return value


_FIXED_FIELDS = ("time", "level", "logger", "message", "request_id", "path", "exception")
_OWN_FIELDS = ("time", "level", "logger")


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
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
            entry["path"] = request.path
        for key, value in getattr(record, "cardpay", {}).items():
            entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # Scrub the values, not the JSON text, so the line always stays valid JSON. Time, level and
        # logger name are cardpay's own words; everything else may carry what a client sent.
        return json.dumps({key: value if key in _OWN_FIELDS else scrub(value, None if key in _FIXED_FIELDS else key)
                           for key, value in entry.items()}, default=str)


class AggregationHandler(logging.Handler):
    """Queue formatted records for a background thread that POSTs them in batches; never blocks."""

    def __init__(self, endpoint, allow_private, timeout):
        super().__init__()
        self.endpoint, self.allow_private, self.timeout = endpoint, allow_private, timeout
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
        from cardpay.core import outbound

        while not self._stopped.is_set():
            batch = self._next_batch()
            if not batch:
                continue
            body = ("[" + ",".join(batch) + "]").encode()
            try:
                outbound.post(self.endpoint, body, {"Content-Type": "application/json"},
                          allow_private=self.allow_private, timeout=self.timeout)
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
        handler = AggregationHandler(endpoint, app.config["ALERT_ALLOW_PRIVATE_NETWORKS"],
                                     app.config["ALERT_SEND_TIMEOUT_SECONDS"])
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)


def init_app(app):
    """Send cardpay's logs to stderr as JSON at CARD_PAYMENT_LOG_LEVEL, with a request id."""
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
    _secret_values.update(str(app.config[s.name]) for s in cardpay_config.SETTINGS
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
