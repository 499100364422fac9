"""gunicorn settings for cardpay's web unit (`gunicorn wsgi:app` picks this file up from the repo root).

Override any of them per host without editing this file: GUNICORN_CMD_ARGS="--workers 9 --bind
127.0.0.1:8001" in the unit's environment file, or options on the command line (both win over
this file). Web workers never run scheduled jobs: that is the cardpay-scheduler unit's work.
"""

import gc
import multiprocessing
import os
import sys

# Behind the TLS proxy (nginx) on the same host; never exposed directly.
bind = "127.0.0.1:8000"

# Threaded workers: a request holds a thread for its whole duration, including a checkout waiting
# on iKhokha (up to ~13 s), so a few threads per process keep the others moving meanwhile.
# (2 x cores) + 1 processes is gunicorn's starting point; each holds its own database pool.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = 4

# A worker silent for this long is killed and replaced; above the iKhokha client's 3 s connect +
# 10 s read timeouts so a slow gateway answer is never cut off mid-payment.
timeout = 30
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then so a slow leak could never pile up; jitter keeps them from restarting
# together. Rarely: a worker's memory is flat (+0.3% from 1k to 100k callbacks, docs/benchmarks.md),
# and every recycle costs a burst of slow answers while the new worker opens its connections and warms
# its caches (at 2,000 the callback p99 under load was 270-340 ms, bench/callbacks --gunicorn-conf shipped).
max_requests = 20000
max_requests_jitter = 2000

# Each worker imports and builds the app itself (~0.5 s here, mostly Flask, SQLAlchemy and the other
# libraries the request path uses; the rest load on first use), so `systemctl reload` (HUP) starts
# workers on the newly deployed code: with the app preloaded in the master, a HUP would fork new
# workers from the old code. Recycles are rare (above), so their start-up cost barely shows
# (bench/callbacks --gunicorn-conf shipped, docs/benchmarks.md).
preload_app = False

# X-Forwarded-Proto is honoured only from the proxy on this host; the client IP for callbacks is
# worked out by cardpay itself from X-Forwarded-For with TRUSTED_PROXY_COUNT.
forwarded_allow_ips = "127.0.0.1,::1"

# Logs go to stdout/stderr, so journald (or the container runtime) keeps them.
errorlog = "-"
loglevel = "info"
# The access log is JSON (cardpay/core/access_log.py), one line per request on stdout: request id,
# method, path with the payment token masked and no query string, status, duration, remote address,
# service/host/pid/version. JSON escaping keeps CR/LF in a path from splitting or forging lines.
# accesslog stays unset: logconfig_dict's gunicorn.access handler replaces gunicorn's text line.
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.access": {"level": "INFO", "handlers": ["json_access"], "propagate": False},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stderr"},
        "json_access": {"class": "logging.StreamHandler", "formatter": "json_access", "stream": "ext://sys.stdout"},
    },
    "formatters": {
        "generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
                    "datefmt": "[%Y-%m-%d %H:%M:%S %z]"},
        "json_access": {"()": "cardpay.core.access_log.JsonAccessFormatter"},
    },
}

# Heartbeat files on tmpfs: a worker blocked on a slow disk is not mistaken for a hung one.
worker_tmp_dir = "/dev/shm"
proc_name = "cardpay-web"


def on_starting(server):
    """Tell the workers how many of them there are (they inherit the environment): threat detection's
    per-worker trigger follows WEB_CONCURRENCY, whether the count came from it, --workers or GUNICORN_CMD_ARGS."""
    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)


def pre_fork(server, worker):
    """Without --preload: forget cardpay's modules in the master before each fork. The master imports the
    access-log formatter (logconfig_dict, below) and with it the cardpay package; a worker forked after a
    deploy and a HUP must import all of cardpay from disk, not inherit the old modules the master holds
    (the formatter itself is imported afresh when a HUP re-reads this file's logging settings)."""
    if server.cfg.preload_app:
        return  # the preloaded app is the master's cardpay: workers must share it, not import a second copy
    for name in [name for name in sys.modules if name in ("cardpay", "config") or name.startswith("cardpay.")]:
        del sys.modules[name]


def post_fork(server, worker):
    """With the app preloaded (`--preload`): in each new worker, drop the database connections inherited
    from the master (the pool opens its own) and tell the app how many workers there are (threat
    detection's per-worker trigger). Without it each worker builds its own app after the fork."""
    if not server.cfg.preload_app:
        return
    from cardpay.core.extensions import db

    app = server.app.wsgi()
    if "sqlalchemy" not in getattr(app, "extensions", {}):
        return  # not cardpay (the benchmarks' floor apps run under this file too)
    app.config["WEB_CONCURRENCY"] = server.cfg.workers
    with app.app_context():
        db.engine.dispose(close=False)  # the master's connections stay the master's; never closed from here


def post_worker_init(worker):
    """Once the worker has built the app: collect the start-up garbage, then freeze what is left.

    The app's ~150,000 objects (modules, SQLAlchemy's mappings, Flask's routing) live as long as the
    worker, yet every full garbage collection walked them all: ~70-90 ms during which the worker
    answered nothing, every few thousand requests. Frozen, they are skipped; collections only look at
    what requests create (bench/callbacks, docs/benchmarks.md session 6).
    """
    gc.collect()
    gc.freeze()

