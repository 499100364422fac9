"""Structured JSON logging with a request id, and redaction of secrets and card data."""

import json
import logging
import re
import sys

from flask import g, has_request_context, request

from cardpay import ids

# 13-19 digits, optionally split by spaces or dashes: anything that could be a card number.
PAN_PATTERN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
SECRET_KEYS = re.compile(r"(secret|password|sign|token|authorization|cookie|api[_-]?key|cvv|cvc)", re.I)


def mask_pans(text):
    """Replace anything that looks like a card number with a mask keeping the last 4 digits."""
    def _mask(match):
        digits = re.sub(r"\D", "", match.group(0))
        return "[card ****" + digits[-4:] + "]"
    return PAN_PATTERN.sub(_mask, text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and extras."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_pans(record.getMessage()),
        }
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
            entry["path"] = request.path
        for key, value in getattr(record, "cardpay", {}).items():
            entry[key] = "[redacted]" if SECRET_KEYS.search(key) else value
        if record.exc_info:
            entry["exception"] = mask_pans(self.formatException(record.exc_info))
        return mask_pans(json.dumps(entry, default=str))


def init_app(app):
    """Send cardpay's logs to stderr as JSON at CARD_PAYMENT_LOG_LEVEL, with a request id."""
    level = getattr(logging, app.config["CARD_PAYMENT_LOG_LEVEL"].upper(), logging.INFO)
    logger = logging.getLogger("cardpay")
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", incoming) else ids.request_id()

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-ID"] = getattr(g, "request_id", "")
        return response
