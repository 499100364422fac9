"""Fixtures for the iKhokha tests: the sandbox gateway served alone, and loopback receivers."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cardpay.ikhokha.sandbox import create_sandbox_app, state_of
from tests.conftest import TEST_API_SECRET, TEST_APP_ID, LiveServer


@pytest.fixture
def sandbox():
    """The sandbox gateway on its own loopback port (what `flask cardpay sandbox-gateway` serves)."""
    servers = []

    def start(callback_delay=0.0):
        app = create_sandbox_app(TEST_APP_ID, TEST_API_SECRET, callback_delay)
        server = LiveServer(app).start()
        server.app, server.state = app, state_of(app)
        server.api = server.url + "/sandbox/ikhokha/api"
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.state.stopping.set()
        server.stop()


class Receiver:
    """A loopback HTTP server that records what it is sent and answers with scripted statuses."""

    def __init__(self, statuses=(200,), mode="answer", delay=0.0):
        self.requests = []
        self.statuses = list(statuses)
        self.mode = mode  # answer, hang (never answers in time) or drop (closes without answering)
        self.delay = delay
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.arrived:
                    receiver.requests.append({"method": self.command, "path": self.path,
                                              "headers": dict(self.headers), "body": body})
                    receiver.arrived.notify_all()
                if receiver.mode == "hang":
                    threading.Event().wait(receiver.delay)
                    return
                if receiver.mode == "drop":
                    self.close_connection = True
                    return
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                payload = json.dumps({"ok": status < 400}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count, timeout=5.0):
        """Wait until ``count`` requests arrived; return them."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout)
        return list(self.requests)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    """Start loopback receivers: receiver(statuses=(503, 200)) or receiver(mode="hang", delay=1)."""
    started = []

    def start(**options):
        started.append(Receiver(**options))
        return started[-1]

    yield start
    for item in started:
        item.stop()
