"""Fault drills: break something in the middle of real callback load, then check nothing was lost or doubled.

    .venv/bin/python bench/drills.py                 # every drill, full size
    .venv/bin/python bench/drills.py --quick         # every drill, small loads, a 5 s channel outage
    .venv/bin/python bench/drills.py --only worker   # one drill: postgres, worker, channel, scheduler

Each drill runs cardpay under gunicorn (2 sync workers) on its own PostgreSQL database, drives a
load through bench/gateway.py (a sender that retries like iKhokha) and ends with the ledger check:
every paid payment approved exactly once, nothing else approved. It prints PASS or FAIL with counts.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

import common
import drill_alerts
import drill_scheduler
import psycopg
from gateway import Gateway, Load, in_background, ledger, wait_for_progress

DRILLS = ("postgres", "worker", "channel", "scheduler")


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small loads, a 5 s channel outage")
    parser.add_argument("--only", choices=DRILLS, action="append", help="run only this drill (repeatable)")
    parser.add_argument("--payments", type=int, help="payments per drill (default 6000; --quick 200)")
    parser.add_argument("--outage", type=float, help="seconds the alert receiver is down (default 60; --quick 5)")
    parser.add_argument("--pg-fault", choices=("restart", "terminate"), default="restart",
                        help="restart: the machine's PostgreSQL server is restarted (pg_ctlcluster); "
                             "terminate: only this drill's database refuses and drops connections for 3 s")
    parser.add_argument("--force-restart", action="store_true",
                        help="restart PostgreSQL even when other databases have clients (other people's tests)")
    args = parser.parse_args(argv)
    # 6,000: long enough at today's callback rate for both faults (a restart takes ~2.5 s) to land mid-load.
    args.payments = args.payments or (200 if args.quick else 6000)
    args.outage = args.outage if args.outage is not None else (5.0 if args.quick else 60.0)
    args.only = args.only or list(DRILLS)
    return args


def pg_version():
    """Return the version directory of the machine's own PostgreSQL cluster (e.g. 15)."""
    return sorted(os.listdir("/etc/postgresql"))[-1]


def pg_ready():
    """Tell whether the server accepts connections."""
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0


def ensure_pg_running(timeout=60):
    """Start the machine's PostgreSQL if it is not answering, and wait until it does."""
    if not pg_ready():
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", pg_version(), "main", "start"], check=False)
    deadline = time.monotonic() + timeout
    while not pg_ready():
        if time.monotonic() > deadline:
            raise RuntimeError("PostgreSQL is not answering after the drill")
        time.sleep(0.5)


def other_clients():
    """Count client connections to databases that are not bench databases (someone else's work)."""
    with psycopg.connect(common.conninfo(), autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> "
            "pg_backend_pid() AND datname NOT LIKE 'cardpay_bench%%'").fetchone()[0]


def postgres_fault(url, args):
    """Restart the server (or cut off this database) while the load runs; return what was done."""
    mode = args.pg_fault
    if mode == "restart" and not args.force_restart:
        for _ in range(30):  # give other people's tests a moment to finish rather than breaking them
            if other_clients() == 0:
                break
            time.sleep(1)
        else:
            mode = "terminate"
            print("   other databases have clients: cutting off this drill's database instead of restarting "
                  "the server (use --force-restart to restart anyway)")
    start = time.monotonic()
    if mode == "restart":
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", pg_version(), "main", "restart"], check=True)
        ensure_pg_running()
    else:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(common.conninfo(), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            time.sleep(3)
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    return f"PostgreSQL {mode}: unavailable for {time.monotonic() - start:.1f} s"


def worker_fault(server):
    """SIGKILL one worker now; return what was done."""
    pid = server.worker_pids()[0]
    os.kill(pid, signal.SIGKILL)
    return f"worker {pid} killed (SIGKILL)"


def callback_drill(name, args, fault):
    """Run a load, call ``fault(url, server)`` at 30% and 60% of it, then check the ledger."""
    with common.bench_database() as url:
        load = Load.plan(common.seed_payments(url, args.payments))
        with common.Gunicorn("wsgi:app", common.app_env(url), name=f"drill-{name}").start("/health") as server:
            gateway = Gateway(server.port)
            thread, holder = in_background(gateway, load)
            faults = []
            for share in (0.3, 0.6):
                wait_for_progress(gateway, share)
                began = 100 * gateway.progress / gateway.total
                faults.append(fault(url, server))
                print(f"   at {began:.0f}% of the load (over at {100 * gateway.progress / gateway.total:.0f}%): "
                      f"{faults[-1]}", flush=True)
            thread.join(timeout=900)
        check = ledger(url, load)
    return report(name, check, holder.get("stats", {}), faults)


def report(name, check, stats, faults):
    """Print PASS/FAIL with the counts; return the drill's record."""
    ok = check["lost"] == 0 and check["doubled"] == 0 and check["wrongly_approved"] == 0
    print(f"   gateway: {stats.get('sent', 0)} callbacks, {stats.get('attempts', 0)} attempts, "
          f"{stats.get('retries', 0)} retries, {stats.get('gave_up', 0)} given up; answers {stats.get('answers')}")
    print(f"   {'PASS' if ok else 'FAIL'}  {name}: {check['approved_once']} of {check['paid']} paid approved exactly "
          f"once; lost {check['lost']}, doubled {check['doubled']}, wrongly approved {check['wrongly_approved']} "
          f"of {check['others']} unpaid/forged", flush=True)
    return {"drill": name, "ok": ok, "ledger": check, "gateway": stats, "faults": faults}


def main(argv=None):
    """Run the chosen drills; exit 1 when any fails."""
    args = parse_args(argv)
    info = common.print_header("bench/drills: faults in the middle of the load; zero lost, zero doubled")
    records = []
    try:
        for drill in args.only:
            print(f"\n-- drill: {drill}", flush=True)
            if drill == "postgres":
                records.append(callback_drill(drill, args, lambda url, server: postgres_fault(url, args)))
            elif drill == "worker":
                records.append(callback_drill(drill, args, lambda url, server: worker_fault(server)))
            elif drill == "channel":
                records.append(drill_alerts.run(args, report))
            else:
                records.append(drill_scheduler.run(args, report))
    finally:
        ensure_pg_running()
    print("\n   summary:")
    for record in records:
        print(f"   {'PASS' if record['ok'] else 'FAIL'}  {record['drill']}")
    common.write_results("drills", {"command": common.command_line(), "machine": info, "quick": args.quick,
                                    "drills": records})
    return 0 if records and all(r["ok"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
