"""What each optional feature costs a callback: CPU of the worker and of PostgreSQL, configs interleaved.

    .venv/bin/python bench/features.py            # 20 rounds of 100 callbacks per config and kind
    .venv/bin/python bench/features.py --quick    # 4 rounds, first deliveries only

bench/callbacks.py compares whole runs taken a minute apart, and this machine's speed drifts by more
than a feature costs. Here every config is its own cardpay app in one process, on one database, and
the configs take turns: a block of 100 callbacks each, round after round, so drift falls on all of
them alike. Each block is timed by the process's CPU clock (the monitoring buffer is flushed inside
the block, so its writing is counted; the heap built before the first block is frozen, as a gunicorn
worker's is) and by the CPU the database's backends used meanwhile
(/proc, 10 ms ticks: the figure is a sum over many blocks). Requests go straight to the WSGI app:
no HTTP server, no gunicorn, so these are the costs cardpay adds, not the whole request's.

Configs: the default (everything on); each optional feature off alone (metrics rows, stage timings,
threat detection, business rollups, the callback's info log line); and all of them off, which
leaves what the issue requires to stay synchronous (the record, the payment, the approval, the
audit row, the learner's receipt).
"""

import argparse
import contextlib
import gc
import io
import logging
import os
import sys
import time

import common
from werkzeug.test import EnvironBuilder

KINDS = {"first": common.SECRET, "duplicate": common.SECRET, "forged": common.FORGED_SECRET}
OPTIONAL_OFF = {"ENABLE_CARD_PAYMENT_MONITORING": False, "ENABLE_PERFORMANCE_MONITORING": False,
                "ENABLE_CARD_PAYMENT_THREAT_DETECTION": False, "ENABLE_BUSINESS_METRICS": False}
# name: (settings, log the callback's info line)
CONFIGS = {
    "default (all on)": ({}, True),
    "metric rows off": ({"ENABLE_CARD_PAYMENT_MONITORING": False}, True),
    "stage timings off": ({"ENABLE_PERFORMANCE_MONITORING": False}, True),
    "threat detection off": ({"ENABLE_CARD_PAYMENT_THREAT_DETECTION": False}, True),
    "business rollups off": ({"ENABLE_BUSINESS_METRICS": False}, True),
    "info log line off": ({}, False),
    "all optional off": (OPTIONAL_OFF, False),
}
BLOCK = 100


def parse_args(argv=None):
    """Read the command line; --quick shrinks the run to a smoke run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 rounds, first deliveries only")
    parser.add_argument("--rounds", type=int, help="blocks of 100 callbacks per config (default 20; --quick 4)")
    parser.add_argument("--kinds", help="comma list of first, duplicate, forged (default all; --quick first)")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (4 if args.quick else 20)
    args.kinds = (args.kinds or ("first" if args.quick else ",".join(KINDS))).split(",")
    return args


def environs(rows, secret):
    """Return one WSGI environ per payment row: a signed SUCCESS callback from 127.0.0.1, body kept aside."""
    built = []
    for row in rows:
        body, sign = common.callback(row[2], row[3], secret=secret)
        environ = EnvironBuilder(path=common.CALLBACK_PATH, method="POST", data=body, environ_base={
            "REMOTE_ADDR": "127.0.0.1"}, headers={"Content-Type": "application/json", "IK-APPID": common.APP_ID,
                                                 "IK-SIGN": sign}).get_environ()
        environ["bench.body"] = environ["wsgi.input"].read()
        built.append(environ)
    return built


def drive(app, batch):
    """Send each request of a batch to the app; return the status lines seen."""
    seen = set()

    def start_response(status, headers, exc_info=None):
        seen.add(status)

    for environ in batch:
        environ = dict(environ, **{"wsgi.input": io.BytesIO(environ["bench.body"])})
        for _ in app(environ, start_response):
            pass
    return seen


def make_app(url, settings):
    """Return a cardpay app on the bench database whose monitoring buffer flushes only when told."""
    from cardpay import create_app

    return create_app({"CARDPAY_ENV": "development", "DATABASE_URL": url, "SECRET_KEY": common.SECRET_KEY,
                       "IKHOKHA_API_KEY": common.APP_ID, "IKHOKHA_API_SECRET": common.SECRET,
                       "SANDBOX_GATEWAY_ENABLED": False, "SCHEDULER_ENABLED": False, "RATE_LIMITS_ENABLED": False,
                       "MONITORING_FLUSH_MS": 3_600_000, **settings})


def measure(url, kind, rounds):
    """Return {config: (worker us, PostgreSQL us, statuses)} per callback of one kind, configs interleaved."""
    from cardpay.monitoring import worker_buffer

    per_config = rounds * BLOCK
    rows = common.seed_payments(url, (per_config + 20) * len(CONFIGS))
    apps, work = {}, {}
    for index, (name, (settings, _)) in enumerate(CONFIGS.items()):
        app = apps[name] = make_app(url, settings)
        mine = rows[index * (per_config + 20):(index + 1) * (per_config + 20)]
        drive(app, environs(mine[:20], common.SECRET))  # warm: connections, caches, first-time imports
        if kind == "duplicate":
            drive(app, environs(mine[20:], common.SECRET))  # the originals the copies repeat
        worker_buffer.flush(app)
        work[name] = environs(mine[20:], KINDS[kind])
    gc.collect()
    gc.freeze()  # as each gunicorn worker does once its app is built (gunicorn.conf.py post_worker_init)
    cardpay_log = logging.getLogger("cardpay")
    spent = {name: [0.0, 0.0, set()] for name in apps}
    for block in range(rounds):
        for name, app in apps.items():
            cardpay_log.setLevel(logging.INFO if CONFIGS[name][1] else logging.WARNING)
            batch = work[name][block * BLOCK:(block + 1) * BLOCK]
            backends = common.backend_pids(url)
            pg_before, cpu_before = common.cpu_seconds(backends), time.process_time()
            spent[name][2] |= drive(app, batch)
            worker_buffer.flush(app)
            spent[name][0] += time.process_time() - cpu_before
            spent[name][1] += common.cpu_seconds(backends) - pg_before
    gc.unfreeze()
    for app in apps.values():
        with app.app_context():
            from cardpay.core.extensions import db

            db.engine.dispose()
    return {name: (worker / per_config * 1e6, pg / per_config * 1e6, sorted(seen))
            for name, (worker, pg, seen) in spent.items()}


def main(argv=None):
    """Measure every config for each kind of delivery and print the costs against the default."""
    args = parse_args(argv)
    info = common.print_header("bench/features: what each optional feature costs a callback (CPU, interleaved)")
    results = {}
    # The log line is measured, not read: cardpay's log handler, made by the first app, writes to nothing.
    with common.bench_database() as url, open(os.devnull, "w") as null:
        os.environ.update(common.app_env(url))
        for kind in args.kinds:
            with contextlib.redirect_stderr(null):
                figures = results[kind] = measure(url, kind, args.rounds)
            base_worker, base_pg, _ = figures["default (all on)"]
            print(f"\n   {kind} delivery ({args.rounds} x {BLOCK} callbacks per config; statuses "
                  f"{', '.join(figures['default (all on)'][2])})")
            print(f"   {'config':24} {'worker us':>10} {'change':>8} {'pg us':>8} {'change':>8}")
            for name, (worker, pg, _) in figures.items():
                print(f"   {name:24} {worker:10.0f} {worker - base_worker:+8.0f} {pg:8.0f} {pg - base_pg:+8.0f}")
    common.write_results("features", {"command": common.command_line(), "machine": info, "block": BLOCK,
                                      "rounds": args.rounds, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
