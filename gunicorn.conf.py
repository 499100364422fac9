"""gunicorn settings for cardpay's web unit (`gunicorn wsgi:app` picks this file up from the repo root).

Override any of them per host without editing this file: GUNICORN_CMD_ARGS="--workers 9 --bind
127.0.0.1:8001" in the unit's environment file, or options on the command line (both win over
this file). Web workers never run scheduled jobs: that is the cardpay-scheduler unit's work.
"""

import multiprocessing

# Behind the TLS proxy (nginx) on the same host; never exposed directly.
bind = "127.0.0.1:8000"

# Threaded workers: a request holds a thread for its whole duration, including a checkout waiting
# on iKhokha (up to ~13 s), so a few threads per process keep the others moving meanwhile.
# (2 x cores) + 1 processes is gunicorn's starting point; each holds its own database pool.
workers = multiprocessing.cpu_count() * 2 + 1
worker_class = "gthread"
threads = 4

# A worker silent for this long is killed and replaced; above the iKhokha client's 3 s connect +
# 10 s read timeouts so a slow gateway answer is never cut off mid-payment.
timeout = 30
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then so slow leaks never pile up; jitter keeps them from restarting together.
max_requests = 2000
max_requests_jitter = 200

# Each worker builds its own app and database pool after the fork (no shared connections).
preload_app = False

# X-Forwarded-Proto is honoured only from the proxy on this host; the client IP for callbacks is
# worked out by cardpay itself from X-Forwarded-For with TRUSTED_PROXY_COUNT.
forwarded_allow_ips = "127.0.0.1,::1"

# Logs go to stdout/stderr, so journald (or the container runtime) keeps them.
accesslog = "-"
errorlog = "-"
loglevel = "info"
# No query strings in the access log: it never holds tokens or payment references.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'

# Heartbeat files on tmpfs: a worker blocked on a slow disk is not mistaken for a hung one.
worker_tmp_dir = "/dev/shm"
proc_name = "cardpay-web"
