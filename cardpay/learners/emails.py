"""The learner's two emails, as text and HTML: the receipt (on every grant of access) and a sign-in link.

Built with core/mail (Date, Message-ID, Auto-Submitted). The Message-ID is derived from the outbox row,
so a retry of one delivery carries the same id and a mail reader recognises the copy.
"""

from email.utils import parseaddr

from markupsafe import escape

from cardpay.core import display, mail

RECEIPT, SIGN_IN = "receipt", "sign_in"


def message_id(config, delivery_id):
    """Return the Message-ID of one outbox row's email: the same on every retry."""
    domain = parseaddr(config["MAIL_DEFAULT_SENDER"])[1].rpartition("@")[2] or "localhost"
    return f"<cardpay-learner-{delivery_id}@{domain}>"


def _link_lines(config, link):
    minutes = int(float(config["LEARNER_LINK_MINUTES"]))
    return (f"Open your course (this link works once, for {minutes} minutes):\n{link}\n\n"
            f"Later, from any device, ask for a new link at {config['PRODUCTION_URL']}/account/sign-in")


def receipt(config, facts, link, delivery_id=None):
    """Return the receipt email: course, amount as shown (R499.00), reference, date, a one-time sign-in link.

    ``facts``: to, name, course_title, amount_cents, currency, reference, paid_at (UTC datetime).
    """
    amount = display.money(facts["amount_cents"], facts["currency"])
    when = display.when(facts["paid_at"], config["DISPLAY_TIMEZONE"])
    text = (f"Hello {facts['name']},\n\n"
            f"Thank you for your payment. You now have access to {facts['course_title']}.\n\n"
            f"Course:     {facts['course_title']}\n"
            f"Amount:     {amount}\n"
            f"Reference:  {facts['reference']}\n"
            f"Date:       {when}\n\n"
            f"{_link_lines(config, link)}\n\n"
            "Keep this email as your receipt.\n")
    html = (f"<p>Hello {escape(facts['name'])},</p>"
            f"<p>Thank you for your payment. You now have access to <strong>{escape(facts['course_title'])}"
            "</strong>.</p><table>"
            f"<tr><th align=\"left\">Course</th><td>{escape(facts['course_title'])}</td></tr>"
            f"<tr><th align=\"left\">Amount</th><td>{escape(amount)}</td></tr>"
            f"<tr><th align=\"left\">Reference</th><td>{escape(facts['reference'])}</td></tr>"
            f"<tr><th align=\"left\">Date</th><td>{escape(when)}</td></tr></table>"
            f"<p><a href=\"{escape(link)}\">Open {escape(facts['course_title'])}</a> "
            f"(this link works once, for {int(float(config['LEARNER_LINK_MINUTES']))} minutes).</p>"
            f"<p>Later, from any device, ask for a new link at "
            f"<a href=\"{escape(config['PRODUCTION_URL'])}/account/sign-in\">your account</a>.</p>"
            "<p>Keep this email as your receipt.</p>")
    return _build(config, facts["to"], f"Your receipt: {facts['course_title']}", text, html, delivery_id)


def sign_in(config, facts, link, delivery_id=None):
    """Return the sign-in email a learner asked for (``facts``: to, name)."""
    text = (f"Hello {facts['name']},\n\nYou asked to sign in to your courses.\n\n{_link_lines(config, link)}\n\n"
            "If you did not ask for this, ignore this email: nothing changes.\n")
    html = (f"<p>Hello {escape(facts['name'])},</p><p>You asked to sign in to your courses.</p>"
            f"<p><a href=\"{escape(link)}\">Sign in to my courses</a> (this link works once, for "
            f"{int(float(config['LEARNER_LINK_MINUTES']))} minutes).</p>"
            "<p>If you did not ask for this, ignore this email: nothing changes.</p>")
    return _build(config, facts["to"], "Your sign-in link to your courses", text, html, delivery_id)


def _build(config, to, subject, text, html, delivery_id):
    headers = {"Message-ID": message_id(config, delivery_id)} if delivery_id is not None else None
    return mail.build(config["MAIL_DEFAULT_SENDER"], [to], subject, text, html=html, headers=headers)
