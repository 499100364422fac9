"""No payment or sign-in token in a log line: cardpay's JSON lines and gunicorn's JSON access log mask token
paths; every line names service, host, pid and version; the shipper sends LOG_AGGREGATION_HEADERS."""

import json
import logging
import os
import socket

import pytest

from cardpay.core import ids, log_fields, logs
from tests.conftest import TEST_API_SECRET, TEST_APP_ID, TEST_SECRET_KEY
from tests.gunicorn_helpers import serving
from tests.receiver_helpers import HttpReceiver, wait_for

TOKEN = ids.payment_token()
TOKEN_PATHS = [f"/payments/{TOKEN}/return", f"/learn/{TOKEN}", f"/api/payments/{TOKEN}/status",
               f"/api/payments/{TOKEN}/ui-ack", f"/account/sign-in/{TOKEN}"]


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.setFormatter(logs.JsonFormatter())
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_the_path_field_never_holds_a_token(app, path):
    lines = _Lines()
    logger = logging.getLogger("cardpay.test")
    logger.addHandler(lines)
    try:
        with app.test_request_context(path):
            app.preprocess_request()
            logger.warning("something happened")
    finally:
        logger.removeHandler(lines)
    (line,) = lines.lines
    entry = json.loads(line)
    assert TOKEN not in line and "[token]" in entry["path"]
    assert entry["service"] == "cardpay" and entry["pid"] == os.getpid() and entry["host"] == socket.gethostname()
    assert entry["version"] == log_fields.VERSION and entry["request_id"]


def test_other_paths_are_logged_as_they_are():
    assert log_fields.mask_path("/courses/python/enroll") == "/courses/python/enroll"
    assert log_fields.mask_path("/payments/abc") == "/payments/[token]"


def test_an_unhandled_error_on_a_token_path_logs_no_token(app, caplog):
    @app.get("/payments/<token>/boom")
    def boom(token):
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="cardpay"):
        assert app.test_client().get(f"/payments/{TOKEN}/boom").status_code == 500
    assert caplog.records and TOKEN not in caplog.text


def test_the_shipper_sends_the_configured_headers(app_factory):
    receiver = HttpReceiver().start()
    try:
        app = app_factory(LOG_AGGREGATION_ENDPOINT=receiver.url,
                          LOG_AGGREGATION_HEADERS="Authorization: Bearer shipper-token-123; X-Scope-OrgID: cardpay")
        with app.app_context():
            logging.getLogger("cardpay.test").warning("shipped with headers")
        assert wait_for(lambda: receiver.requests)
        headers = receiver.requests[0]["headers"]
        assert headers["Authorization"] == "Bearer shipper-token-123" and headers["X-Scope-OrgID"] == "cardpay"
        assert all(record["service"] == "cardpay" for record in receiver.requests[0]["body"])
    finally:
        receiver.stop()
        app_factory()  # an app without LOG_AGGREGATION_ENDPOINT removes the shipping handler


def _raw_get(port, target, request_id):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: {request_id}\r\n"
                     "Connection: close\r\n\r\n".encode())
        while sock.recv(65536):
            pass


def test_gunicorn_writes_a_json_access_log_without_tokens(migrated_database, tmp_path):
    settings = {"CARDPAY_ENV": "testing", "DATABASE_URL": migrated_database, "SECRET_KEY": TEST_SECRET_KEY,
                "IKHOKHA_API_KEY": TEST_APP_ID, "IKHOKHA_API_SECRET": TEST_API_SECRET}
    out = tmp_path / "stdout.log"
    with serving(settings, out, ["--workers", "1"], stderr_to_log=False) as base:
        port = int(base.rsplit(":", 1)[1])
        _raw_get(port, f"/api/payments/{TOKEN}/status?ref={TOKEN}", "req-status-1")
        _raw_get(port, f"/payments/{TOKEN}/return%0d%0a%7B%22forged%22:1%7D", "req-crlf-2")
        assert wait_for(lambda: out.read_text().count('"gunicorn.access"') >= 3, timeout=10)
    text = out.read_text()
    assert TOKEN not in text
    entries = [json.loads(line) for line in text.splitlines() if '"gunicorn.access"' in line]
    assert all(line.startswith("{") for line in text.splitlines() if "forged" in line)  # no forged line
    by_id = {entry["request_id"]: entry for entry in entries}
    status = by_id["req-status-1"]
    assert (status["method"], status["path"], status["status"]) == ("GET", "/api/payments/[token]/status", 404)
    assert status["duration_ms"] >= 0 and status["remote_addr"] == "127.0.0.1"
    assert status["service"] == "cardpay" and status["pid"] != os.getpid() and status["host"] and status["version"]
    # The CR/LF stays inside the one line's JSON string (escaped), so it cannot start a forged line.
    assert by_id["req-crlf-2"]["path"] == '/payments/[token]/return\r\n{"forged":1}'
    assert '\\r\\n{\\"forged\\":1}' in text
    assert not any("forged" in key for entry in entries for key in entry)


def test_the_development_servers_access_log_never_shows_a_payment_token(app):
    import logging

    token = "mCRF9zeDEoZfyy1thNzwYtc_CU4fmxoe2I3AB4oGGzk"
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - [%s] "%s" %s %s',
                               ("127.0.0.1", "05/Dec/2026", f"GET /api/payments/{token}/status HTTP/1.1", "200", "-"),
                               None)
    for log_filter in logging.getLogger("werkzeug").filters:
        log_filter.filter(record)
    assert token not in record.getMessage() and "/api/payments/[token]/status" in record.getMessage()
