"""What one callback costs the database: SQL statements, commits and time per kind of delivery.

    .venv/bin/python bench/queries.py            # 50 callbacks of each kind
    .venv/bin/python bench/queries.py --quick    # 10 of each

cardpay runs in-process (Flask test client, no HTTP server) on a PostgreSQL database of its own;
every statement and commit of each request is counted through SQLAlchemy's engine events and
attributed to the module of cardpay that issued it. This is the "why" beside bench/callbacks.py's
figures: the commit floor makes 1 commit and 3 inserts per callback.

It also counts the Python function calls of each kind of request (cProfile, on a second set of
payments so the timings above stay unprofiled), for cardpay and for the commit floor app served
the same way: a count, unlike milliseconds on a shared 2-core machine, does not drift with load.
"""

import argparse
import cProfile
import logging
import os
import pstats
import statistics
import sys
import time
import traceback
from collections import Counter

import common


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 callbacks of each kind")
    parser.add_argument("--count", type=int, help="callbacks of each kind (default 50; --quick 10)")
    args = parser.parse_args(argv)
    args.count = args.count or (10 if args.quick else 50)
    return args


def origin():
    """Return the innermost cardpay frame (module:function) that issued the current statement."""
    for frame in reversed(traceback.extract_stack()):
        if "/cardpay/" in frame.filename and "/site-packages/" not in frame.filename:
            return f"{frame.filename.split('/cardpay/', 1)[1]}:{frame.name}"
    return "(outside cardpay)"


def measure(app, rows, status="SUCCESS", secret=common.SECRET):
    """Send one callback per row; return per-request statement counts, commits, times and origins."""
    from sqlalchemy import event

    from cardpay.core.extensions import db

    counts = {"statements": 0, "commits": 0, "sql_ms": 0.0}
    origins = Counter()
    started = []

    def on_statement(*_args):
        counts["statements"] += 1
        origins[origin()] += 1
        started.append(time.perf_counter())

    def on_statement_done(*_args):
        counts["sql_ms"] += (time.perf_counter() - started.pop()) * 1000

    def on_commit(_conn):
        counts["commits"] += 1

    from cardpay.callbacks import one_statement

    real_execute = one_statement._execute

    def counted_execute(statement, parameters):
        # PostgreSQL's one-statement path runs on the DBAPI connection, unseen by the engine events:
        # one statement, which is also its transaction's commit (autocommit).
        counts["commits"] += 1
        on_statement()
        try:
            return real_execute(statement, parameters)
        finally:
            on_statement_done()

    client = app.test_client()
    per_request = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "after_cursor_execute", on_statement_done)
    event.listen(engine, "commit", on_commit)
    one_statement._execute = counted_execute
    try:
        for row in rows:
            body, sign = common.callback(row[2], row[3], status=status, secret=secret)
            before = dict(counts)
            start = time.perf_counter()
            response = client.post(common.CALLBACK_PATH, data=body, headers={
                "Content-Type": "application/json", "IK-APPID": common.APP_ID, "IK-SIGN": sign})
            per_request.append((counts["statements"] - before["statements"], counts["commits"] - before["commits"],
                                (time.perf_counter() - start) * 1000, response.status_code,
                                counts["sql_ms"] - before["sql_ms"]))
    finally:
        one_statement._execute = real_execute
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "after_cursor_execute", on_statement_done)
        event.remove(engine, "commit", on_commit)
    return per_request, origins


def post(client, row, status="SUCCESS", secret=common.SECRET):
    """Send one signed callback for a payment row through a Flask test client."""
    body, sign = common.callback(row[2], row[3], status=status, secret=secret)
    return client.post(common.CALLBACK_PATH, data=body, headers={
        "Content-Type": "application/json", "IK-APPID": common.APP_ID, "IK-SIGN": sign})


def python_calls(client, rows, status="SUCCESS", secret=common.SECRET):
    """Return the Python function calls per request (cProfile's total, builtins included)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for row in rows:
        post(client, row, status, secret)
    profiler.disable()
    return pstats.Stats(profiler).total_calls / len(rows)


def floor_calls(url, rows):
    """Return the Python calls per request of bench/floor_commit.py, served by the same test client."""
    os.environ.update({"DATABASE_URL": url, "IKHOKHA_API_KEY": common.APP_ID, "IKHOKHA_API_SECRET": common.SECRET})
    import floor_commit
    import floor_verify

    floor_verify.APP_ID, floor_verify.SECRET = common.APP_ID, common.SECRET  # read at import time
    floor_commit.create_tables(url)
    client = floor_commit.app.test_client()
    for row in rows[:5]:
        post(client, row)  # warm: the connection, first-time caches
    return python_calls(client, rows[5:])


def main(argv=None):
    """Count and print the database work of first, duplicate and forged deliveries."""
    args = parse_args(argv)
    info = common.print_header("bench/queries: database work per callback")
    logging.disable(logging.WARNING)  # cardpay logs every callback; the figures are what matter here
    from cardpay import create_app

    results = {}
    with common.bench_database() as url:
        rows = common.seed_payments(url, 2 * args.count + 5)
        rows, profiled = rows[:args.count + 5], rows[args.count + 5:]
        app = create_app({"CARDPAY_ENV": "development", "DATABASE_URL": url, "SECRET_KEY": common.SECRET_KEY,
                          "IKHOKHA_API_KEY": common.APP_ID, "IKHOKHA_API_SECRET": common.SECRET,
                          "SANDBOX_GATEWAY_ENABLED": "false", "SCHEDULER_ENABLED": "false"})
        measure(app, rows[:5])  # warm: imports, connections, first-time caches
        for kind, status, secret in (("first", "SUCCESS", common.SECRET), ("duplicate", "SUCCESS", common.SECRET),
                                     ("forged", "SUCCESS", common.FORGED_SECRET)):
            per_request, origins = measure(app, rows[5:], status, secret)
            n = len(per_request)
            results[kind] = {
                "statements": statistics.mean(r[0] for r in per_request),
                "commits": statistics.mean(r[1] for r in per_request),
                "median_ms": statistics.median(r[2] for r in per_request),
                "median_sql_ms": statistics.median(r[4] for r in per_request),
                "codes": dict(Counter(r[3] for r in per_request)),
                "by_origin": {k: v / n for k, v in origins.most_common(12)}}
            r = results[kind]
            print(f"\n   {kind} delivery: {r['statements']:.1f} statements, {r['commits']:.1f} commits, "
                  f"median {r['median_ms']:.1f} ms in-process, of which {r['median_sql_ms']:.1f} ms in statements "
                  f"(a separate COMMIT not included); answers {r['codes']}")
            for where, per in r["by_origin"].items():
                print(f"     {per:5.1f} per callback  {where}")
        client = app.test_client()
        calls = {kind: python_calls(client, profiled, "SUCCESS", secret)
                 for kind, secret in (("first", common.SECRET), ("duplicate", common.SECRET),
                                      ("forged", common.FORGED_SECRET))}
        calls["floor: verify + 1 txn"] = floor_calls(url, rows)
        print("\n   Python function calls per request (cProfile):")
        for kind, per in calls.items():
            print(f"   {per:8,.0f}  {kind}")
            results.setdefault(kind, {})["python_calls"] = per
        with app.app_context():
            from cardpay.core.extensions import db
            db.engine.dispose()
    common.write_results("queries", {"command": common.command_line(), "machine": info, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
