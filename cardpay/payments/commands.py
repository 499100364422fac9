"""`flask cardpay seed-demo` and `simulate-payment`: demo courses, and a whole purchase through the sandbox."""

import threading
import uuid

import click
from flask import current_app
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

import config as cardpay_config
from cardpay.core import clock
from cardpay.core.cli import cardpay_cli
from cardpay.core.extensions import db
from cardpay.models import Course, Payment

# slug, title, description, price in cents (ZAR)
DEMO_COURSES = (
    ("python-foundations", "Python Foundations",
     "Variables, loops and functions: from zero to your first useful script.", 49900),
    ("data-analysis-pandas", "Data Analysis with pandas",
     "Clean, explore and chart real data sets, and explain what they say.", 79900),
    ("web-apps-flask", "Web Apps with Flask",
     "Build, test and deploy a small web application of your own.", 65000),
)
SANDBOX_API_PATH = "/sandbox/ikhokha/api"


def seed_demo_courses():
    """Add the demo courses that are missing; return (added, kept). Existing rows are never changed."""
    existing = set(db.session.execute(select(Course.slug)).scalars())
    added = [Course(slug=slug, title=title, description=text, price_cents=cents, currency="ZAR", active=True,
                    created_at=clock.now())
             for slug, title, text, cents in DEMO_COURSES if slug not in existing]
    db.session.add_all(added)
    db.session.commit()
    return len(added), len(DEMO_COURSES) - len(added)


@cardpay_cli.command("seed-demo")
def seed_demo_command():
    """Add the demo courses (idempotent: a second run changes nothing)."""
    added, kept = seed_demo_courses()
    click.echo(f"demo courses: {added} added, {kept} already there")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        """Keep the access log out of the stage table."""


class _InProcessCardpay:
    """cardpay with its sandbox gateway on a free loopback port, in this process."""

    def __init__(self, parent):
        from cardpay import create_app

        self.server = make_server("127.0.0.1", 0, None, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        try:
            self.app = self.server.app = create_app(self._settings(parent.config, self.url))
        except Exception:
            self.server.server_close()
            raise
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _settings(parent, url):
        """This command's settings, with the URLs that derive from PRODUCTION_URL rebuilt for ``url``."""
        settings = {name: parent[name] for name in cardpay_config.SETTINGS_BY_NAME if parent.get(name) is not None}
        for derived in ("IKHOKHA_API_URL", "WEBHOOK_ENDPOINT"):
            if str(settings.get(derived, "")).startswith(parent["PRODUCTION_URL"]):
                del settings[derived]
        settings.update(DATABASE_URL=parent["SQLALCHEMY_DATABASE_URI"], PRODUCTION_URL=url,
                        WTF_CSRF_ENABLED=parent.get("WTF_CSRF_ENABLED", True),
                        SANDBOX_APP_ID=parent.get("SANDBOX_APP_ID"), SANDBOX_SECRET=parent.get("SANDBOX_SECRET"))
        return settings

    def __enter__(self):
        api = self.app.config["IKHOKHA_API_URL"]
        if SANDBOX_API_PATH not in api or (api.startswith(self.url) and not self.app.config["SANDBOX_GATEWAY_ENABLED"]):
            self._close()
            raise click.ClickException("simulate-payment buys through the sandbox gateway only; this configuration "
                                       "points IKHOKHA_API_URL elsewhere or turns SANDBOX_GATEWAY_ENABLED off")
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        sandbox = self.app.extensions.get("ikhokha_sandbox")
        if sandbox is not None:
            sandbox.stopping.set()  # no callback retries outlive the command
        self.server.shutdown()
        self._close()

    def _close(self):
        self.server.server_close()
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def _server_side(token):
    """Return the stage timings cardpay recorded for a payment, when it is in this database."""
    payment = db.session.execute(select(Payment).where(Payment.token == token)).scalar()
    if payment is None:
        return None

    def span(start, end):
        return None if start is None or end is None else (clock.as_utc(end) - clock.as_utc(start)).total_seconds() * 1e3

    granted_or_arrival = max(filter(None, [payment.access_granted_at, payment.return_page_at]), default=None)
    return {"method": payment.detection_method,
            "payment_detection": max(0.0, span(payment.return_page_at, payment.outcome_known_at) or 0.0)
            if payment.outcome_known_at else None,
            "approval_processing": span(payment.outcome_known_at, payment.access_granted_at),
            "ui_update": span(granted_or_arrival, payment.ui_acked_at),
            "end_to_end": span(payment.return_page_at, payment.ui_acked_at)}


def _report(purchase, where):
    for name, ms in purchase.stages:
        click.echo(f"  {name:<40} {ms:9.1f} ms")
    click.echo(f"  {'total':<40} {sum(ms for _, ms in purchase.stages):9.1f} ms")
    recorded = _server_side(purchase.token) if purchase.token else None
    if recorded:
        parts = ", ".join(f"{key} {value:.1f} ms" for key, value in recorded.items()
                          if key != "method" and value is not None)
        click.echo(f"cardpay's own stage timings ({where}): {parts or 'none yet'}; "
                   f"detected by {recorded['method'] or 'nothing yet'}")
    status = purchase.status or {}
    click.echo(f"outcome: payment {status.get('payment_status', 'unknown')}, "
               f"enrollment {status.get('enrollment_status', 'unknown')}"
               + (" - access granted" if purchase.granted else " - no access"))


@cardpay_cli.command("simulate-payment")
@click.option("--card", default="4242424242424242", show_default=True, help="Test card number to pay with.")
@click.option("--course", "slug", help="Course slug (default: the first course on sale).")
@click.option("--base-url", help="A running cardpay to buy from (default: start one in this process).")
@click.option("--wait", default=30.0, show_default=True, type=click.FloatRange(min=1), help="Seconds to wait for access.")
def simulate_payment_command(card, slug, base_url, wait):
    """Buy a course through the sandbox gateway over real HTTP, printing each stage's time."""
    import requests  # here, not at every worker's start: only this command uses it

    from cardpay.ikhokha.sandbox.shopper import PurchaseError, buy

    if slug is None:
        slug = db.session.execute(select(Course.slug).where(Course.active.is_(True)).order_by(Course.id)).scalar()
        if slug is None:
            raise click.ClickException("no course on sale; run `flask cardpay seed-demo` first")
    db.session.commit()  # end the read: SQLite would hold its write lock against the server otherwise
    email = f"simulated+{uuid.uuid4().hex[:10]}@example.com"
    masked = "****" + "".join(ch for ch in card if ch.isdigit())[-4:]
    try:
        if base_url:
            click.echo(f"simulate-payment: {slug} with card {masked} at {base_url}")
            purchase = buy(base_url, slug, card=card, email=email, name="Simulated Learner", wait_seconds=wait)
            where = "this database"
        else:
            with _InProcessCardpay(current_app) as cardpay:
                click.echo(f"simulate-payment: {slug} with card {masked} at {cardpay.url} (in-process)")
                purchase = buy(cardpay.url, slug, card=card, email=email, name="Simulated Learner",
                               wait_seconds=wait)
            where = "in-process"
    except PurchaseError as exc:
        raise click.ClickException(str(exc)) from None
    except requests.RequestException as exc:
        raise click.ClickException(f"cardpay did not answer: {type(exc).__name__}") from None
    db.session.commit()  # see the rows the server committed
    _report(purchase, where)
    if not purchase.granted:
        raise SystemExit(1)
