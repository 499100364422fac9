"""gunicorn settings of every bench run, for cardpay and the floors alike (passed with -c).

Pinned here so the repo's own gunicorn.conf.py (the production web unit's settings) never leaks
into a measurement: 2 sync workers, no threads, no worker recycling, no access log.
"""

workers = 2
worker_class = "sync"
threads = 1
max_requests = 0
timeout = 30
graceful_timeout = 5
preload_app = False
accesslog = None
errorlog = "-"
loglevel = "warning"
worker_tmp_dir = "/dev/shm"
