"""What every bench script shares: its own PostgreSQL database, seeded payments, gunicorn, wrk, figures.

Each script creates a database of its own on the local server (BENCH_PG_URL, default
postgresql://postgres@127.0.0.1:5432/postgres), migrates it with `flask db upgrade`, and drops it at
the end, so a run never touches another engineer's data. Everything talks to 127.0.0.1 only.
"""

import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
BIN = ROOT / ".venv" / "bin"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402  (after the path set-up, like the scripts that import us)

from cardpay.ikhokha import signing  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CALLBACK_PATH = "/webhooks/ikhokha"
APP_ID = "bench-app-id"
SECRET = "bench-webhook-secret-4f1c9a7e"
FORGED_SECRET = "not-the-secret"
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789"


def machine():
    """Return the machine the figures were taken on: cores, memory, CPU model."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu_model": model, "memory_gib": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "load_avg_at_start": os.getloadavg()}


def command_line():
    """Return the command line that produced this run, to print beside its figures."""
    return " ".join(shlex.quote(part) for part in [os.path.relpath(sys.executable, ROOT)] + sys.argv)


def print_header(title):
    """Print what is measured, on what machine, by which command."""
    info = machine()
    print(f"== {title}")
    print(f"   command: {command_line()}")
    print(f"   machine: {info['nproc']} cores, {info['cpu_model']}, {info['memory_gib']} GiB; "
          f"load average at start {', '.join(f'{v:.2f}' for v in info['load_avg_at_start'])}")
    return info


def write_results(name, data):
    """Write a run's figures as JSON under bench/results/ (git-ignored); return the path."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    print(f"   results: {os.path.relpath(path, ROOT)}")
    return path


def percentile(values, p):
    """Return the p-th percentile (nearest rank) of a list of numbers, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def median(values):
    """Return the median of the numbers that are not None, or None."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def free_port():
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def conninfo(dbname=None):
    """Return a libpq URL for the admin database, or for ``dbname`` on the same server."""
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}" if dbname else PG_ADMIN_URL


@contextmanager
def bench_database(prefix="cardpay_bench"):
    """Create a migrated database of our own, yield its URL, and drop it afterwards."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = conninfo(name)
    try:
        migrate(url)
        yield url
    finally:
        for _ in range(30):  # the server may be restarting (drills): keep trying for a while
            try:
                with psycopg.connect(conninfo(), autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.OperationalError:
                time.sleep(1)


def app_env(database_url, **extra):
    """Return the environment of a cardpay process (gunicorn, flask CLI) for a bench run."""
    env = dict(os.environ)
    env.update({
        "FLASK_APP": "wsgi", "CARDPAY_ENV": "development", "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY, "IKHOKHA_API_KEY": APP_ID, "IKHOKHA_API_SECRET": SECRET,
        "SANDBOX_GATEWAY_ENABLED": "false", "SCHEDULER_ENABLED": "false",
        "RATE_LIMITS_ENABLED": "false",  # a load test from one address: SPEC §15 allows it off on a private network
        "PYTHONPATH": str(ROOT),
    })
    env.update({key: str(value) for key, value in extra.items()})
    return env


def flask(database_url, *args, check=True, **extra_env):
    """Run a `flask ...` command against the bench database; return the completed process."""
    return subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=app_env(database_url, **extra_env),
                          capture_output=True, text=True, check=check)


def migrate(database_url):
    """Apply cardpay's migrations to the bench database."""
    flask(database_url, "db", "upgrade")


def seed_payments(database_url, count, tag=None, status="pending", price_cents=19900):
    """Create ``count`` pending payments with paylinks by bulk SQL; return [(id, token, paylink, ext_id)]."""
    tag = tag or uuid.uuid4().hex[:6]
    now = "(now() at time zone 'utc')"
    with psycopg.connect(database_url, autocommit=False) as conn:
        course_id = conn.execute(
            f"INSERT INTO courses (slug, title, description, price_cents, currency, active, created_at) "
            f"VALUES (%s, %s, '', %s, 'ZAR', true, {now}) RETURNING id",
            (f"bench-{tag}", f"Bench course {tag}", price_cents)).fetchone()[0]
        conn.execute(
            f"INSERT INTO learners (email, name, created_at) SELECT 'b' || g || '@{tag}.bench.test', "
            f"'Bench learner ' || g, {now} FROM generate_series(1, %s) AS g", (count,))
        conn.execute(
            f"INSERT INTO enrollments (learner_id, course_id, status, created_at, updated_at) "
            f"SELECT id, %s, 'pending_payment', {now}, {now} FROM learners WHERE email LIKE %s",
            (course_id, f"%@{tag}.bench.test"))
        conn.execute(
            f"INSERT INTO payments (token, external_transaction_id, paylink_id, enrollment_id, amount_cents, "
            f"currency, status, created_at, updated_at, paylink_created_at, status_check_attempts) "
            f"SELECT 'bt' || e.id || '_' || md5(random()::text || e.id), 'cp_bench_{tag}_' || e.id, "
            f"'bench-pl-{tag}-' || e.id, e.id, %s, 'ZAR', %s, {now}, {now}, {now}, 0 "
            f"FROM enrollments e WHERE e.course_id = %s", (price_cents, status, course_id))
        rows = conn.execute(
            "SELECT id, token, paylink_id, external_transaction_id FROM payments p "
            "WHERE p.paylink_id LIKE %s ORDER BY id", (f"bench-pl-{tag}-%",)).fetchall()
        conn.commit()
    return rows


def callback(paylink_id, external_id, status="SUCCESS", secret=SECRET, path=CALLBACK_PATH):
    """Return (body, IK-SIGN) of a callback as iKhokha sends it (compact JSON, signed over path + body)."""
    body = json.dumps({"paylinkID": paylink_id, "status": status, "externalTransactionID": external_id,
                       "responseCode": "00"}, separators=(",", ":"))
    return body, signing.sign(secret, path, body)


def write_requests(path, rows, status="SUCCESS", secret=SECRET):
    """Write one pre-signed callback per payment row, as `IK-SIGN<TAB>body` lines for the wrk script."""
    with open(path, "w") as out:
        for row in rows:
            body, sign = callback(row[2], row[3], status=status, secret=secret)
            out.write(f"{sign}\t{body}\n")
    return path


class Gunicorn:
    """A gunicorn master serving one WSGI app on a loopback port (settings: bench/gunicorn.conf.py, the pinned
    sync workers, unless ``config`` names another file, such as the repo's shipped gunicorn.conf.py)."""

    def __init__(self, module, env, chdir=ROOT, workers=2, name="cardpay", config=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (RESULTS / "logs").mkdir(parents=True, exist_ok=True)
        self.log_path = RESULTS / "logs" / f"gunicorn-{name}-{os.getpid()}.log"
        self.argv = [str(BIN / "gunicorn"), "--config", str(config or BENCH / "gunicorn.conf.py"), "--workers", str(workers),
                     "--bind", f"127.0.0.1:{self.port}", "--chdir", str(chdir), module]
        self.env = env
        self.proc = None

    def start(self, ready_path="/", timeout=30):
        """Start the master and wait until a worker answers HTTP."""
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            if http_status(self.url + ready_path) is not None:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s; see {self.log_path}")

    def worker_pids(self):
        """Return the pids of the master's current workers."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def workers_cpu_seconds(self):
        """Return the CPU seconds every worker has used, those already recycled included (the master's
        reaped children), so a figure stays right under the shipped config's max_requests."""
        return cpu_seconds(self.worker_pids()) + cpu_seconds([self.proc.pid], fields=(13, 14))  # cutime, cstime

    def stop(self):
        """Stop the master and its workers (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def cpu_seconds(pids, fields=(11, 12)):
    """Return the CPU seconds the given processes have used so far (gone ones count 0): user + system by
    default (utime, stime), or other /proc/<pid>/stat fields (counted after the command's closing paren)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(stat[field]) for field in fields)
    return total / os.sysconf("SC_CLK_TCK")


def backend_pids(database_url):
    """Return the pids of the PostgreSQL backends serving one database (its connections do the callbacks' SQL).

    Server-wide work (WAL writer, checkpointer, autovacuum) is left out: it is shared and comes later.
    """
    name = database_url.rsplit("/", 1)[1]
    found = subprocess.run(["pgrep", "-f", f"^postgres: .* {name} "], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def http_status(url, timeout=2.0):
    """Return the HTTP status of a GET, or None when nothing answers."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def vmrss_kib(pid):
    """Return a process's resident memory (VmRSS) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None
