"""Drill: the alert channel's receiver is down for a while, then back; every alert delivered, none twice.

A loopback HTTP receiver stands in for ALERT_WEBHOOK_URL and MANUAL_INTERVENTION_WEBHOOK. During
the callback load, alerts are raised through cardpay's alert service (and by cardpay itself: manual
review of unknown paylinks, threat bursts of forgeries), `flask cardpay scheduler --only
alert_delivery` delivers the outbox, and the receiver is stopped for --outage seconds. At the end
every alert_deliveries row must be delivered and the receiver must have taken each one exactly once
(by its X-Cardpay-Delivery id). Retries back off from 1 s to at most 5 s here
(ALERT_RETRY_BASE_SECONDS / ALERT_RETRY_MAX_SECONDS), so the catch-up after the outage is quick.
"""

import json
import signal
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import common
import psycopg
from gateway import Gateway, Load, in_background, ledger, wait_for_progress

SETTLE_TIMEOUT_S = 180


class Receiver:
    """A webhook receiver on a fixed loopback port that can be stopped and started again."""

    def __init__(self):
        self.port = common.free_port()
        self.received = []  # (delivery id, path, alert type)
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        """Listen (again) on the same port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with receiver.lock:
                    receiver.received.append((self.headers.get("X-Cardpay-Delivery"), self.path, body.get("type")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """Stop listening: connections are refused until start() is called again."""
        self.server.shutdown()
        self.server.server_close()


def raise_alerts(config, prefix, count):
    """Raise ``count`` distinct alerts through cardpay's alert service, as a monitoring handler would."""
    from cardpay import create_app
    from cardpay.alerting import alerts
    from cardpay.core.extensions import db

    app = create_app(config)
    with app.app_context():
        for number in range(count):
            alerts.raise_alert("bench_drill", "warning", f"drill alert {prefix}-{number}",
                               details={"drill": "channel"}, fingerprint=f"bench-drill-{prefix}-{number}")
            db.session.commit()
        db.engine.dispose()


def settings(url, receiver_port):
    """The cardpay settings of this drill (environment for processes, mapping for in-process apps)."""
    return {"CARDPAY_ENV": "development", "DATABASE_URL": url, "SECRET_KEY": common.SECRET_KEY,
            "IKHOKHA_API_KEY": common.APP_ID, "IKHOKHA_API_SECRET": common.SECRET,
            "SANDBOX_GATEWAY_ENABLED": "false", "SCHEDULER_ENABLED": "false",
            "ALERT_WEBHOOK_URL": f"http://127.0.0.1:{receiver_port}/alerts",
            "MANUAL_INTERVENTION_WEBHOOK": f"http://127.0.0.1:{receiver_port}/manual",
            "ALERT_RETRY_BASE_SECONDS": "1", "ALERT_RETRY_MAX_SECONDS": "5", "ALERT_ALLOW_PRIVATE_NETWORKS": "true"}


def outbox(url):
    """Return (id, status, attempts) of every alert_deliveries row."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, status, attempts FROM alert_deliveries ORDER BY id").fetchall()


def run(args, report):
    """Run the drill; return its record."""
    receiver = Receiver().start()
    with common.bench_database() as url:
        env = settings(url, receiver.port)
        rows = common.seed_payments(url, args.payments)
        load = Load.plan(rows)
        load.unknown = [(None, None, f"bench-unknown-{n}", f"cp_unknown_{n}") for n in range(5)]
        scheduler = subprocess.Popen([str(common.BIN / "flask"), "cardpay", "scheduler", "--only", "alert_delivery"],
                                     cwd=common.ROOT, env=common.app_env(url, **{**env, "SCHEDULER_ENABLED": "true"}),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            gunicorn = common.Gunicorn("wsgi:app", common.app_env(url, **env), name="drill-channel")
            with gunicorn.start("/health") as server:
                gateway = Gateway(server.port)
                thread, holder = in_background(gateway, load)
                raise_alerts(env, "before", 5)
                wait_for_progress(gateway, 0.3)
                receiver.stop()
                down_at = time.monotonic()
                print(f"   receiver down for {args.outage:g} s at {100 * gateway.progress / gateway.total:.0f}% "
                      "of the load", flush=True)
                raise_alerts(env, "during", 10)
                time.sleep(max(0.0, args.outage - (time.monotonic() - down_at)))
                receiver.start()
                thread.join(timeout=900)
                raise_alerts(env, "after", 5)
                deadline = time.monotonic() + SETTLE_TIMEOUT_S
                while time.monotonic() < deadline and any(r[1] in ("pending", "sending") for r in outbox(url)):
                    time.sleep(1)
                check = ledger(url, load)
        finally:
            scheduler.send_signal(signal.SIGTERM)
            scheduler.wait(timeout=30)
            receiver.stop()
        rows = outbox(url)
    counts = Counter(r[0] for r in receiver.received)
    delivered = {str(r[0]) for r in rows if r[1] == "delivered"}
    alert = {"outbox_rows": len(rows), "delivered": len(delivered),
             "not_delivered": [r for r in rows if r[1] != "delivered"][:10],
             "received": len(receiver.received), "received_twice": sum(1 for c in counts.values() if c > 1),
             "delivered_not_received": len(delivered - set(counts)),
             "retried_rows": sum(1 for r in rows if r[2] > 1)}
    alert_ok = (alert["outbox_rows"] > 0 and alert["delivered"] == alert["outbox_rows"]
                and alert["received_twice"] == 0 and alert["delivered_not_received"] == 0)
    print(f"   {'PASS' if alert_ok else 'FAIL'}  alerts: {alert['delivered']} of {alert['outbox_rows']} outbox rows "
          f"delivered ({alert['retried_rows']} after retries); receiver took {alert['received']}, "
          f"{alert['received_twice']} twice; {alert['delivered_not_received']} marked delivered but never received")
    record = report("channel", check, holder.get("stats", {}), [f"receiver down {args.outage:g} s"])
    record.update(alerts=alert, ok=record["ok"] and alert_ok)
    return record
