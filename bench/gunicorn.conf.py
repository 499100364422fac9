"""gunicorn settings of every bench run, for cardpay and the floors alike (passed with -c).

Pinned here so the repo's own gunicorn.conf.py (the production web unit's settings) never leaks
into a measurement: 2 sync workers, no threads, no worker recycling, no access log; and, like the
web unit, each worker freezes what it holds once its app is built (see gunicorn.conf.py).
"""

import gc

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


def post_worker_init(worker):
    """Freeze the start-up heap out of the garbage collector's full passes, as gunicorn.conf.py does."""
    gc.collect()
    gc.freeze()

