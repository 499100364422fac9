"""Drill: the scheduler holding the lease is killed (SIGKILL); a standby takes over; no tick lost or doubled.

Two `flask cardpay scheduler --only alert_delivery --heartbeat-seconds 5` processes run with a 3 s
lease (SCHEDULER_LEASE_SECONDS), beside a callback load. The holder is read from job_leases and
killed. job_runs must then show every 5 s tick of each job from the first to the last exactly once,
the heartbeat's own rows (card_payment_metrics, one per executed tick) too, and ticks after the kill
run by the standby. A lease shorter than the job interval is what lets the standby take over before
the next tick is due; with the default 30 s lease, ticks of a 5 s job that fall inside the lease
gap are coalesced into the one the standby runs on taking over.
"""

import signal
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import common
import psycopg
from gateway import Gateway, Load, in_background, ledger

LEASE_S = 3
TICK_S = 5
JOBS = ("heartbeat", "alert_delivery")


def query(url, sql, params=()):
    """Run one query on the drill database and return its rows."""
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def wait_until(predicate, timeout):
    """Poll ``predicate`` twice a second until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def tick_time(label):
    """Parse a job_runs tick label (2026-01-31T03:15:05Z)."""
    return datetime.strptime(label, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def audit_ticks(url, job, killed_holder):
    """Lost and doubled ticks of one job between its first and last run, and who ran them."""
    runs = query(url, "SELECT tick, holder FROM job_runs WHERE job_name = %s ORDER BY tick", (job,))
    per_tick = Counter(tick for tick, _ in runs)
    ticks = sorted(tick_time(t) for t in per_tick)
    expected, lost = ticks[0] if ticks else None, []
    while expected is not None and expected <= ticks[-1]:
        if expected not in ticks:
            lost.append(expected.isoformat())
        expected += timedelta(seconds=TICK_S)
    doubled = [t for t, n in per_tick.items() if n > 1]
    if job == "heartbeat":  # the job's own effect: one metric row per executed tick
        effects = Counter(row[0] for row in query(url, "SELECT labels->>'tick' FROM card_payment_metrics "
                                                       "WHERE metric_name = 'scheduler_heartbeat'"))
        doubled += [t for t, n in effects.items() if n > 1 and t not in doubled]
    after = [holder for _, holder in runs if holder != killed_holder]
    return {"job": job, "ticks": len(per_tick), "lost": lost, "doubled": doubled,
            "by_killed": sum(1 for _, h in runs if h == killed_holder), "by_standby": len(after)}


def run(args, report):
    """Run the drill; return its record."""
    with common.bench_database() as url:
        load = Load.plan(common.seed_payments(url, max(50, args.payments // 2)))
        env = common.app_env(url, SCHEDULER_ENABLED="true", SCHEDULER_LEASE_SECONDS=LEASE_S)
        argv = [str(common.BIN / "flask"), "cardpay", "scheduler", "--only", "alert_delivery",
                "--heartbeat-seconds", str(TICK_S)]
        procs = [subprocess.Popen(argv, cwd=common.ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for _ in range(2)]
        killed = None
        try:
            with common.Gunicorn("wsgi:app", common.app_env(url), name="drill-scheduler").start("/health") as server:
                gateway = Gateway(server.port)
                thread, holder = in_background(gateway, load)
                wait_until(lambda: len(query(url, "SELECT 1 FROM job_runs WHERE job_name = 'heartbeat'")) >= 2, 60)
                killed = query(url, "SELECT holder FROM job_leases WHERE name = 'scheduler'")[0][0]
                victim = next(p for p in procs if f":{p.pid}:" in killed)
                victim.send_signal(signal.SIGKILL)
                victim.wait(timeout=10)
                killed_at = datetime.now(timezone.utc).replace(tzinfo=None)  # job_runs times are naive UTC
                print(f"   killed the lease holder {killed} (SIGKILL)", flush=True)
                wait_until(lambda: len(query(url, "SELECT 1 FROM job_runs WHERE job_name = 'heartbeat' "
                                                  "AND holder <> %s", (killed,))) >= 3, 60)
                first = query(url, "SELECT min(started_at) FROM job_runs WHERE holder <> %s", (killed,))[0][0]
                takeover_s = (first - killed_at).total_seconds() if first else None
                thread.join(timeout=900)
                check = ledger(url, load)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=30)
        audits = [audit_ticks(url, job, killed) for job in JOBS]
    ok_ticks = all(not a["lost"] and not a["doubled"] and a["by_standby"] > 0 for a in audits)
    for a in audits:
        print(f"   {'PASS' if not a['lost'] and not a['doubled'] and a['by_standby'] else 'FAIL'}  {a['job']}: "
              f"{a['ticks']} ticks, {a['by_killed']} by the killed holder, {a['by_standby']} by the standby; "
              f"lost {len(a['lost'])}, doubled {len(a['doubled'])}")
    print(f"   the standby ran its first tick {takeover_s:.1f} s after the kill" if takeover_s is not None
          else "   the standby never ran a tick")
    record = report("scheduler", check, holder.get("stats", {}), [f"killed scheduler {killed}"])
    record.update(ticks=audits, takeover_s=takeover_s, ok=record["ok"] and ok_ticks)
    return record
