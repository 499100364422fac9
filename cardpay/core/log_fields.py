"""Fields every log line carries (service, host, pid, version) and the masking of tokens in logged paths.

A payment token (or an emailed sign-in token) in a URL is the capability to see a payment and open a
course, so no log line may hold one: cardpay's JSON lines and gunicorn's access log both log paths
through ``mask_path``. Stdlib only, so gunicorn's master can load it for its access-log formatter.
The version is the release's REVISION file (written by the deploy) or "dev".
"""

import os
import re
import socket
from pathlib import Path

SERVICE = "cardpay"
MASK = "[token]"
# The URLs whose path segment after these prefixes is a payment or sign-in token.
TOKEN_IN_PATH = re.compile(r"^(/(?:payments|learn|api/payments|account/sign-in)/)[^/]+", re.I)
_ROOT = Path(__file__).resolve().parents[2]


def _read_version():
    try:
        text = (_ROOT / "REVISION").read_text(encoding="utf-8").strip()
    except OSError:
        return "dev"
    return re.sub(r"[^A-Za-z0-9._+-]", "", text)[:64] or "dev"


VERSION = _read_version()
HOST = socket.gethostname()


def identity():
    """Return service, host, pid and version (pid read now: gunicorn workers are forked after import)."""
    return {"service": SERVICE, "host": HOST, "pid": os.getpid(), "version": VERSION}


def mask_path(path):
    """Return a request path with the token of a token URL replaced by [token]; other paths unchanged."""
    if not path:
        return path
    return TOKEN_IN_PATH.sub(lambda m: m.group(1) + MASK, str(path), count=1)


def mask_query(query):
    """Return a query string with every value masked (names kept): a query may carry a token too."""
    if not query:
        return ""
    return "&".join(part.split("=", 1)[0] + ("=" + MASK if "=" in part else "") for part in str(query).split("&"))
