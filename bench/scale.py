"""How cardpay's costs grow with data: dashboard and criteria over 1M rows, cleanup of 1M rows, worker memory.

    .venv/bin/python bench/scale.py            # the real run: 1M + 1M rows, 1M expired, 1k vs 100k callbacks
    .venv/bin/python bench/scale.py --quick    # a smoke run: 100k + 100k rows, 100k expired, 200 vs 2k

1. dashboard: admin/figures.summary() for 1h / 24h / 7d over N card_payment_performance rows
   and N card_payment_metrics rows spread over the last 7 days (bulk-generated with generate_series),
   timed in-process; every SQL statement it runs is then EXPLAIN ANALYZEd and its plan printed.
   `flask cardpay verify-deployment --window 7d` against gunicorn is timed as a whole too, and
   GET /metrics (it reads the running totals, so its cost no longer grows with the raw rows).
2. cleanup: `flask cardpay cleanup` of M rows past their retention windows, timed, while wrk drives
   first deliveries; callback p99 during the cleanup against p99 of the same load just before.
3. memory: VmRSS of each gunicorn worker after 1k callbacks and after 100k.
"""

import argparse
import statistics
import subprocess
import sys
import time

import common
import loadgen
import psycopg
import scale_data

RSS_GROWTH_TARGET = 0.10


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 100k rows, 200 vs 2k callbacks")
    parser.add_argument("--rows", type=int, help="rows per monitoring table in the 7-day window (default 1M)")
    parser.add_argument("--expired", type=int, help="expired rows for cleanup, split over both tables (default 1M)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections during cleanup (16)")
    parser.add_argument("--batch-size", type=int, help="rows per cleanup transaction (default: the cleanup's own)")
    parser.add_argument("--baseline-seconds", type=int, help="callback load before cleanup (default 10; --quick 3)")
    parser.add_argument("--memory", default=None, help="callbacks LOW,HIGH for the RSS figures (default 1000,100000)")
    parser.add_argument("--skip", default="", help="comma list of phases to skip: dashboard,cleanup,memory")
    args = parser.parse_args(argv)
    args.rows = args.rows or (100_000 if args.quick else 1_000_000)
    args.expired = args.expired or (100_000 if args.quick else 1_000_000)
    args.baseline_seconds = args.baseline_seconds or (3 if args.quick else 10)
    args.memory = [int(v) for v in (args.memory or ("200,2000" if args.quick else "1000,100000")).split(",")]
    args.skip = set(filter(None, args.skip.split(",")))
    return args


def dashboard(url, repeats=5):
    """Time figures.summary per window in-process; EXPLAIN ANALYZE each of its statements for 7d."""
    from sqlalchemy import event

    from cardpay import create_app
    from cardpay.admin import figures
    from cardpay.core.extensions import db

    app = create_app({"CARDPAY_ENV": "development", "DATABASE_URL": url, "SECRET_KEY": common.SECRET_KEY,
                      "IKHOKHA_API_KEY": common.APP_ID, "IKHOKHA_API_SECRET": common.SECRET,
                      "SANDBOX_GATEWAY_ENABLED": "false", "SCHEDULER_ENABLED": "false"})
    out = {}
    with app.app_context():
        # The scheduler's monitoring_rollup job runs every minute in production; run it once here
        # so the summary reads what a live deployment would (its first run fills in the week).
        from cardpay.monitoring import rollups

        start = time.perf_counter()
        rollups.roll_up(app.config)
        db.session.commit()
        out["rollup_first_run_ms"] = (time.perf_counter() - start) * 1000
        print(f"   monitoring_rollup first run (fills in the week): {out['rollup_first_run_ms']:.0f} ms", flush=True)
        for window in figures.WINDOWS:
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                result = figures.summary(window)
                times.append((time.perf_counter() - start) * 1000)
                db.session.rollback()
            out[window] = {"median_ms": statistics.median(times), "first_ms": times[0], "max_ms": max(times),
                           "criteria": [(c["check"], c["shown"], c["status"]) for c in result["criteria"]]}
            print(f"   summary({window}): median {out[window]['median_ms']:.1f} ms over {repeats} "
                  f"(first {times[0]:.1f} ms, max {max(times):.1f} ms)", flush=True)
        scrapes = []
        with app.test_client() as client:
            for _ in range(repeats * 2):
                start = time.perf_counter()
                assert client.get("/metrics").status_code == 200
                scrapes.append((time.perf_counter() - start) * 1000)
        out["metrics_scrape"] = {"median_ms": statistics.median(scrapes), "max_ms": max(scrapes)}
        print(f"   GET /metrics: median {out['metrics_scrape']['median_ms']:.1f} ms over {len(scrapes)} "
              f"(max {max(scrapes):.1f} ms)", flush=True)
        captured = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            captured.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        figures.summary("7d")
        db.session.rollback()
        event.remove(db.engine, "before_cursor_execute", capture)
        out["plans"] = explain_all(db, captured)
        db.engine.dispose()
    return out


def explain_all(db, statements):
    """EXPLAIN (ANALYZE, BUFFERS) each captured statement; print its time, its SQL head and its plan."""
    plans = []
    print(f"\n   the {len(statements)} statements of summary('7d'), each with its plan:")
    with db.engine.connect() as conn:
        for number, (statement, parameters) in enumerate(statements, 1):
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall()
            plan = [row[0] for row in rows]
            ms = next((float(line.split(":")[1].split()[0]) for line in plan
                       if line.startswith("Execution Time")), None)
            head = " ".join(statement.split())[:150]
            print(f"\n   [{number}] {ms:.1f} ms  {head}")
            for line in plan:
                print(f"       {line}")
            plans.append({"sql": statement, "execution_ms": ms, "plan": plan})
    total = sum(p["execution_ms"] or 0 for p in plans)
    print(f"\n   sum of execution times: {total:.1f} ms")
    return plans


def time_verify_deployment(url, server):
    """Time `flask cardpay verify-deployment --window 7d` against the running server (includes CLI start-up)."""
    start = time.perf_counter()
    done = common.flask(url, "cardpay", "verify-deployment", "--base-url", server.url, "--window", "7d", check=False)
    seconds = time.perf_counter() - start
    print(f"   flask cardpay verify-deployment --window 7d: {seconds:.2f} s, exit {done.returncode} "
          f"(process start-up included)")
    return {"seconds": seconds, "exit": done.returncode, "output": done.stdout[-3000:]}


def cleanup(url, args, rows):
    """Baseline callback load, then the same load while `flask cardpay cleanup` runs; compare p99."""
    tmp = common.RESULTS / "tmp"
    out = {}
    with common.Gunicorn("wsgi:app", common.app_env(url), name="scale").start("/health") as server:
        out["verify_deployment"] = time_verify_deployment(url, server)
        warm, base, during = rows[:2000], rows[2000:2000 + len(rows) // 4], rows[2000 + len(rows) // 4:]
        loadgen.run(server.url, common.write_requests(tmp / "scale-warm.tsv", warm), args.connections, 1)
        baseline = loadgen.run(server.url, common.write_requests(tmp / "scale-base.tsv", base),
                               args.connections, args.baseline_seconds)
        batch = ["--batch-size", str(args.batch_size)] if args.batch_size else []
        proc = subprocess.Popen([str(common.BIN / "flask"), "cardpay", "cleanup", *batch],
                                cwd=common.ROOT, env=common.app_env(url), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        start = time.perf_counter()
        loaded = loadgen.run_until(server.url, common.write_requests(tmp / "scale-during.tsv", during),
                                   args.connections, lambda: proc.poll() is not None, max_duration=1800)
        output, _ = proc.communicate(timeout=1800)
        seconds = time.perf_counter() - start
    total_line = next((line for line in output.splitlines() if line.startswith("total")), "total ?")
    ratio = loaded["p99_ms"] / baseline["p99_ms"] if baseline["p99_ms"] else None
    out.update(cleanup_seconds=seconds, cleanup_exit=proc.returncode, deleted=total_line.split()[-1],
               baseline=baseline, during=loaded, p99_ratio=ratio, cleanup_output=output[-4000:])
    print(f"   cleanup: {seconds:.1f} s wall, exit {proc.returncode}, deleted {out['deleted']} rows")
    for name, fig in (("before cleanup", baseline), ("during cleanup", loaded)):
        print(f"   callbacks {name}: {fig['rps']:.1f} req/s, p50 {fig['p50_ms']:.1f} ms, p99 {fig['p99_ms']:.1f} ms "
              f"(c={args.connections}, {fig['requests']} requests, wrapped {fig['wrapped']}, codes {fig['codes']})")
    return out


def memory(url, args, rows):
    """VmRSS of each worker after LOW callbacks and after HIGH callbacks, on a fresh gunicorn."""
    low, high = args.memory
    split = int(low * 1.5) + 500  # the second run starts on payments the first never reached
    files = {low: common.write_requests(common.RESULTS / "tmp" / "scale-mem-low.tsv", rows[:split]),
             high: common.write_requests(common.RESULTS / "tmp" / "scale-mem-high.tsv", rows[split:])}

    def delivered():
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0]

    before = delivered()
    out = {}
    with common.Gunicorn("wsgi:app", common.app_env(url), name="scale-memory").start("/health") as server:
        for target in (low, high):
            loadgen.run_until(server.url, files[target], 16, lambda: delivered() - before >= target,
                              max_duration=3600)
            out[target] = {"callbacks": delivered() - before,
                           "rss_kib": {pid: common.vmrss_kib(pid) for pid in server.worker_pids()}}
            print(f"   after {out[target]['callbacks']:,} callbacks: worker VmRSS "
                  + ", ".join(f"{pid}: {kib / 1024:.1f} MiB" for pid, kib in out[target]["rss_kib"].items()),
                  flush=True)
    pids = set(out[low]["rss_kib"]) & set(out[high]["rss_kib"])
    growth = max(((out[high]["rss_kib"][p] - out[low]["rss_kib"][p]) / out[low]["rss_kib"][p] for p in pids),
                 default=None)
    if growth is not None:
        print(f"   largest worker growth from {low:,} to {high:,} callbacks: {100 * growth:+.1f}%")
    else:
        print("   a worker was replaced between the two readings: no growth figure")
    return {"low": low, "high": high, "readings": out, "growth": growth}


def main(argv=None):
    """Run the phases and print the figures; exit 1 when a target is missed."""
    args = parse_args(argv)
    info = common.print_header("bench/scale: dashboard, summary, cleanup and memory as data grows")
    (common.RESULTS / "tmp").mkdir(parents=True, exist_ok=True)
    results, checks = {"command": common.command_line(), "machine": info, "quick": args.quick}, []
    with common.bench_database() as url:
        start = time.perf_counter()
        scale_data.generate(url, args.rows, args.expired)
        print(f"   generated {args.rows:,} + {args.rows:,} rows in the window and {args.expired:,} expired "
              f"in {time.perf_counter() - start:.1f} s", flush=True)
        if "dashboard" not in args.skip:
            results["dashboard"] = dashboard(url)
            ms = results["dashboard"]["7d"]["median_ms"]
            checks.append((f"dashboard summary over {args.rows:,} + {args.rows:,} rows (7d) <= 250 ms",
                           f"{ms:.1f} ms", ms <= 250))
            scrape = results["dashboard"]["metrics_scrape"]["median_ms"]
            checks.append((f"/metrics scrape over {args.rows:,} + {args.rows:,} rows <= 50 ms", f"{scrape:.1f} ms",
                           scrape <= 50))
        if "cleanup" not in args.skip:
            rows = common.seed_payments(url, 12_000 if args.quick else 80_000)
            results["cleanup"] = cleanup(url, args, rows)
            ratio = results["cleanup"]["p99_ratio"]
            checks.append((f"callback p99 during cleanup of {args.expired:,} rows <= 2 x baseline",
                           f"{ratio:.2f} x" if ratio else "n/a", ratio is not None and ratio <= 2))
        if "memory" not in args.skip:
            rows = common.seed_payments(url, int(args.memory[1] * 1.1) + int(args.memory[0] * 1.5) + 2000)
            results["memory"] = memory(url, args, rows)
            growth = results["memory"]["growth"]
            checks.append((f"worker RSS growth {args.memory[0]:,} -> {args.memory[1]:,} callbacks <= 10%",
                           f"{100 * growth:+.1f}%" if growth is not None else "n/a",
                           growth is not None and growth <= RSS_GROWTH_TARGET))
    print("\n   targets:")
    for name, figure, ok in checks:
        print(f"   {'PASS' if ok else 'MISS'}  {name}: {figure}")
    results["checks"] = checks
    common.write_results("scale", results)
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
