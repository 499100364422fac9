"""Messages built by cardpay.core.mail carry the anti-spam headers and arrive intact at a real SMTP server."""

import smtplib
import socket
import threading
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cardpay.core import mail

SENDER = "cardpay <alerts@pay.example.com>"


class Sink:
    """Keeps every envelope an aiosmtpd server is handed."""

    def __init__(self):
        self.envelopes = []
        self.logins = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - the aiosmtpd API
        with self.lock:
            self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data == (b"ops", b"s3cret")
        if ok:
            self.logins.append(auth_data.login)
        return AuthResult(success=ok)

    def received(self, index=0):
        return message_from_bytes(self.envelopes[index].content, policy=policy.default)


def free_port():
    # aiosmtpd's Controller connects to its own port to check it started, so port 0 cannot work.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), authenticator=sink.authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        sink.port = controller.port
        yield sink
    finally:
        controller.stop()


def test_message_arrives_with_headers_and_both_parts(smtp):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    message = mail.build(SENDER, ["ops@example.com", "Lead <lead@example.com>"], "Payment R499.00 stuck",
                         "Plain body\n", html="<p>HTML body</p>")
    assert mail.send(message, "127.0.0.1", smtp.port) == {}

    envelope = smtp.envelopes[0]
    assert envelope.mail_from == "alerts@pay.example.com"
    assert sorted(envelope.rcpt_tos) == ["lead@example.com", "ops@example.com"]
    got = smtp.received()
    assert got["Subject"] == "Payment R499.00 stuck"
    assert got["Auto-Submitted"] == "auto-generated"
    assert got["From"] == SENDER
    sent_at = parsedate_to_datetime(got["Date"])
    assert sent_at.utcoffset() == timedelta(0)
    assert before <= sent_at <= datetime.now(timezone.utc)
    assert got["Message-ID"].startswith("<") and got["Message-ID"].endswith("@pay.example.com>")
    assert got.get_content_type() == "multipart/alternative"
    assert got.get_body(("plain",)).get_content().splitlines() == ["Plain body"]  # CRLF on the wire
    assert got.get_body(("html",)).get_content().strip() == "<p>HTML body</p>"


def test_text_only_and_no_auto_submitted(smtp):
    message = mail.build(SENDER, "ops@example.com", "hi", "just text", auto_submitted=False)
    mail.send(message, "127.0.0.1", smtp.port)
    got = smtp.received()
    assert got.get_content_type() == "text/plain"
    assert got["Auto-Submitted"] is None
    assert got.get_content().strip() == "just text"


def test_login_when_username_given(smtp):
    mail.send(mail.build(SENDER, "ops@example.com", "s", "t"), "127.0.0.1", smtp.port,
              username="ops", password="s3cret")
    assert smtp.logins == [b"ops"] and len(smtp.envelopes) == 1


def test_use_tls_insists_on_starttls(smtp):
    # The test server offers no STARTTLS: the message must not go out in the clear.
    with pytest.raises(smtplib.SMTPNotSupportedError, match="STARTTLS"):
        mail.send(mail.build(SENDER, "ops@example.com", "s", "t"), "127.0.0.1", smtp.port, use_tls=True)
    assert smtp.envelopes == []


def test_long_subject_capped_and_not_folded(smtp):
    subject = "[cardpay] " + "word " * 100
    message = mail.build(SENDER, "ops@example.com", subject + "\nBcc: evil@example.com", "t")
    raw = message.as_bytes()
    subject_line = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert len(subject_line) == len("Subject: ") + mail.SUBJECT_MAX
    mail.send(message, "127.0.0.1", smtp.port)
    assert smtp.received()["Subject"] == " ".join(subject.split())[:200]
    assert smtp.envelopes[0].rcpt_tos == ["ops@example.com"]


def test_given_now_and_extra_headers():
    now = datetime(2026, 12, 5, 14, 3, tzinfo=timezone(timedelta(hours=2)))
    message = mail.build(SENDER, "ops@example.com", "s", "t", now=now,
                         headers={"X-Cardpay-Fingerprint": "threshold:x", "Auto-Submitted": "auto-replied"})
    assert message["Date"] == "Sat, 05 Dec 2026 12:03:00 +0000"
    assert message["X-Cardpay-Fingerprint"] == "threshold:x"
    assert message.get_all("Auto-Submitted") == ["auto-replied"]
    naive = mail.build(SENDER, "ops@example.com", "s", "t", now=datetime(2026, 12, 5, 12, 3))
    assert naive["Date"] == "Sat, 05 Dec 2026 12:03:00 +0000"


def test_header_injection_refused():
    with pytest.raises(ValueError):
        mail.build(SENDER, "ops@example.com", "s", "t", headers={"X-Note": "a\r\nBcc: evil@example.com"})


def test_recipients_required():
    with pytest.raises(ValueError):
        mail.build(SENDER, [], "s", "t")

