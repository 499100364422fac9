"""Real loopback receivers for outbound HTTP (webhook and Slack channels) and a real SMTP server (aiosmtpd),
for the tests of every package that sends something; their fixtures are in tests/conftest.py."""

import json
import socket
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port():
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HttpReceiver:
    """An HTTP server on loopback that records every POST; can be stopped and started on the same port."""

    def __init__(self, port=None, status=200, headers=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.status, self.headers = status, dict(headers or {})
        self.requests = []
        self._server = None
        self._lock = threading.Lock()

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": json.loads(body) if body else None, "raw": body})
                self.send_response(receiver.status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def bodies(self):
        with self._lock:
            return [r["body"] for r in self.requests]


class SmtpSink:
    """Collects every message an aiosmtpd server receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - the aiosmtpd API
        message = message_from_bytes(envelope.content, policy=policy.default)
        # A text + HTML message (a learner's receipt) is multipart: its body here is the text/plain part.
        body = message.get_body(("plain",)) if message.is_multipart() else message
        self.messages.append({"to": list(envelope.rcpt_tos), "subject": str(message["Subject"]),
                              "fingerprint": str(message["X-Cardpay-Fingerprint"]),
                              "body": body.get_content(), "headers": dict(message.items()),
                              "raw": envelope.content})
        return "250 OK"


def wait_for(predicate, timeout=5.0):
    """Poll until predicate() is true (for servers that record in their own threads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
