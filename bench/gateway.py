"""A stand-in for iKhokha's callback sender, and the ledger check every drill ends with.

The gateway delivers each callback until it gets a 2xx: no answer, a 5xx or any other non-2xx
is retried with exponential backoff and jitter, bounded in attempts and in time; some paid
callbacks are deliberately sent twice, as a real gateway does after a lost acknowledgement.
Beside the paid ones, a load holds declined payments (FAILURE), forged SUCCESS callbacks sent by
an "attacker" (once, never retried) and payments that get no callback at all. Afterwards the
database must show every paid payment approved exactly once and nothing else approved.
"""

import http.client
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import common
import psycopg


@dataclass
class Load:
    """Which payments get which callback."""

    paid: list
    declined: list
    forged: list
    untouched: list
    resend: set = field(default_factory=set)  # payment ids whose SUCCESS is delivered twice
    unknown: list = field(default_factory=list)  # (None, None, paylink, ext id): SUCCESS for no known payment

    @classmethod
    def plan(cls, rows, paid_share=0.7, resend_share=0.2, seed=7):
        """Split seeded payments: 70% paid (20% of those sent twice), the rest declined, forged, untouched."""
        rng = random.Random(seed)
        rows = list(rows)
        rng.shuffle(rows)
        n_paid = int(len(rows) * paid_share)
        rest = rows[n_paid:]
        third = len(rest) // 3
        paid = rows[:n_paid]
        resend = {row[0] for row in rng.sample(paid, int(len(paid) * resend_share))}
        return cls(paid, rest[:third], rest[third:2 * third], rest[2 * third:], resend)


class Gateway:
    """Deliver callbacks with retries; count attempts, answers and give-ups."""

    def __init__(self, port, workers=8, max_attempts=15, base_delay=0.25, max_delay=4.0, deadline_s=300):
        self.port, self.workers = port, workers
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.deadline = time.monotonic() + deadline_s
        self.lock = threading.Lock()
        self.stats = {"sent": 0, "attempts": 0, "acknowledged": 0, "gave_up": 0, "retries": 0, "answers": {}}
        self.progress, self.total = 0, None

    def post(self, body, sign):
        """Send one callback; return its HTTP status, or None when nothing answered."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Content-Type": "application/json", "IK-APPID": common.APP_ID, "IK-SIGN": sign}
        try:
            conn.request("POST", common.CALLBACK_PATH, body=body, headers=headers)
            return conn.getresponse().status
        except OSError:
            return None
        finally:
            conn.close()

    def deliver(self, body, sign, retry=True):
        """Deliver until a 2xx, the attempt bound or the deadline; tell whether it was acknowledged."""
        for attempt in range(1, self.max_attempts + 1):
            status = self.post(body, sign)
            with self.lock:
                self.stats["attempts"] += 1
                self.stats["retries"] += attempt > 1
                key = str(status) if status else "no answer"
                self.stats["answers"][key] = self.stats["answers"].get(key, 0) + 1
            if status is not None and 200 <= status < 300:
                return True
            if not retry or time.monotonic() > self.deadline:
                return False
            delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
            time.sleep(delay / 2 + random.uniform(0, delay / 2))
        return False

    def _one(self, item):
        row, status, secret, retry = item
        body, sign = common.callback(row[2], row[3], status=status, secret=secret)
        ok = self.deliver(body, sign, retry=retry)
        with self.lock:
            self.stats["sent"] += 1
            if retry:  # the attacker's forgeries are sent once and expected to be refused
                self.stats["acknowledged" if ok else "gave_up"] += 1
            self.progress += 1

    def run(self, load):
        """Deliver a whole load (paid ones interleaved with the rest); return the counters."""
        items = [(row, "SUCCESS", common.SECRET, True) for row in load.paid]
        items += [(row, "SUCCESS", common.SECRET, True) for row in load.paid if row[0] in load.resend]
        items += [(row, "FAILURE", common.SECRET, True) for row in load.declined]
        items += [(row, "SUCCESS", common.FORGED_SECRET, False) for row in load.forged]
        items += [(row, "SUCCESS", common.SECRET, True) for row in load.unknown]
        random.Random(11).shuffle(items)
        self.total = len(items)
        with ThreadPoolExecutor(self.workers) as pool:
            list(pool.map(self._one, items))
        return self.stats


def ledger(url, load):
    """Check the database: every paid payment approved exactly once, nothing else approved."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT p.id, p.status, e.status, count(a.id) FILTER (WHERE a.outcome = 'approved') "
            "FROM payments p JOIN enrollments e ON e.id = p.enrollment_id "
            "LEFT JOIN fast_track_approvals a ON a.payment_id = p.id GROUP BY p.id, p.status, e.status").fetchall()
    state = {row[0]: row[1:] for row in rows}
    paid = [row[0] for row in load.paid]
    others = [row[0] for row in load.declined + load.forged + load.untouched]
    lost = [pid for pid in paid if state[pid][2] == 0 or state[pid][1] != "active"]
    doubled = [pid for pid in paid + others if state[pid][2] > 1]
    wrongly = [pid for pid in others if state[pid][2] > 0 or state[pid][1] == "active"]
    return {"paid": len(paid), "approved_once": sum(1 for pid in paid if state[pid][2] == 1),
            "lost": len(lost), "doubled": len(doubled), "wrongly_approved": len(wrongly),
            "others": len(others), "examples": {"lost": lost[:5], "doubled": doubled[:5], "wrongly": wrongly[:5]}}


def in_background(gateway, load):
    """Run the gateway in a thread; return (thread, result holder)."""
    holder = {}

    def target():
        holder["stats"] = gateway.run(load)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, holder


def wait_for_progress(gateway, share, timeout=300):
    """Block until ``share`` of the load has been delivered (or given up), or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        total = gateway.total
        if total and gateway.progress >= share * total:
            return True
        time.sleep(0.1)
    return False
