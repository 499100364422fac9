"""gunicorn's access log as JSON lines (gunicorn.conf.py's logconfig_dict names JsonAccessFormatter).

One object per request: time, level, logger, message, request_id (the X-Request-ID cardpay answered
with), method, path (token masked, no query string), status, duration_ms, bytes, remote_addr,
user_agent, plus service, host, pid and version. json.dumps escapes control characters, so a path
holding CR/LF (sent as %0d%0a) cannot split the line or forge another one.
"""

import json
import logging
import time
from collections.abc import Mapping

from cardpay.core import log_fields


def _unquoted(value):
    # gunicorn's SafeAtoms put a backslash before every double quote (for its text format).
    return value.replace('\\"', '"') if isinstance(value, str) else value


def _number(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class JsonAccessFormatter(logging.Formatter):
    """Format a gunicorn.access record (its args are gunicorn's atoms) as one JSON line."""

    converter = time.gmtime

    def format(self, record):
        atoms = record.args if isinstance(record.args, Mapping) else {}
        method = _unquoted(atoms.get("m")) or "-"
        path = log_fields.mask_path(_unquoted(atoms.get("U")) or "")
        status = _number(atoms.get("s"))
        duration = atoms.get("D")
        request_id = _unquoted(atoms.get("{x-request-id}o"))
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": "info",
            "logger": "gunicorn.access",
            "message": f"{method} {path} {status}",
            "request_id": request_id if request_id not in (None, "-") else None,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(duration / 1000.0, 3) if isinstance(duration, (int, float)) else None,
            "bytes": _number(atoms.get("B")),
            "remote_addr": _unquoted(atoms.get("h")),
            "user_agent": _unquoted(atoms.get("a")),
            **log_fields.identity(),
        }
        if not isinstance(record.args, Mapping):  # not an access record: keep its message
            entry["message"] = record.getMessage()
        return json.dumps(entry, default=str)
