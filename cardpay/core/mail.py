"""Building and sending RFC 5322 email that spam filters accept.

Every message gets the headers filters look for: Date, a Message-ID on the sender's own
domain, and ``Auto-Submitted: auto-generated`` (RFC 3834) so auto-responders do not answer
it. Lines may run to RFC 5322's 998 characters, so a long Subject is not folded before its
first word (which mail readers show as a leading space). This module is a leaf: it imports
nothing from cardpay.
"""

import smtplib
import ssl
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

SUBJECT_MAX = 200
POLICY = policy.SMTP.clone(max_line_length=998)


def _domain(sender):
    # make_msgid() without a domain asks DNS for this host's name, which is slow and names a
    # machine rather than the sending domain; filters like the two to match.
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def _one_line(text):
    # A Subject built from alert text may hold newlines, which headers must not carry.
    return " ".join(str(text).split())


def _date(now):
    now = now or datetime.now(timezone.utc)
    # A naive time is taken as UTC, the project's rule for every stored timestamp.
    now = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
    return format_datetime(now)


def build(sender, recipients, subject, text, html=None, auto_submitted=True, headers=None,
          now=None) -> EmailMessage:
    """Return a ready-to-send message with text (and optional HTML) parts and anti-spam headers."""
    if isinstance(recipients, str):
        recipients = [recipients]
    if not recipients:
        raise ValueError("a message needs at least one recipient")
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = _one_line(subject)[:SUBJECT_MAX]
    message["Date"] = _date(now)
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    if auto_submitted:
        message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        # A caller's header replaces ours of the same name rather than duplicating it.
        del message[name]
        message[name] = str(value)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(message, server, port, username=None, password=None, use_tls=False, timeout=10):
    """Send a message over SMTP (STARTTLS when use_tls, login when username); return refused recipients."""
    with smtplib.SMTP(server, port, timeout=timeout) as smtp:
        if use_tls:
            # Verified TLS: an alert mail must not be readable by whoever sits on the path.
            smtp.starttls(context=ssl.create_default_context())
        if username:
            smtp.login(username, password or "")
        return smtp.send_message(message)
