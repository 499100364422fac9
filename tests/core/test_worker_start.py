"""What a gunicorn worker does at start: import only what serving needs, then freeze its heap.

Every worker imports wsgi when it starts (and again after each recycle), so a library that the request
path never uses is paid for by every start: requests, urllib3 and tenacity are for calling iKhokha and
posting alerts, prometheus_client for a scrape. They load on first use instead; a fresh interpreter's
``import wsgi`` must not load them. Once the app is built, gunicorn.conf.py's post_worker_init freezes
what the worker holds, so full garbage collections stop walking it.
"""

import gc
import importlib.util
import json
import os
import subprocess
import sys

from tests.conftest import TEST_SECRET_KEY
from tests.gunicorn_helpers import ROOT

LOADED_ON_FIRST_USE = ("requests", "urllib3", "tenacity", "prometheus_client", "certifi")


def _modules_after_import_wsgi(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARDPAY_")}
    env.update({"CARDPAY_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path / 'start.db'}",
                "SECRET_KEY": TEST_SECRET_KEY, "SCHEDULER_ENABLED": "false"})
    probe = f"import json, sys, wsgi; print(json.dumps([m for m in {LOADED_ON_FIRST_USE!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_worker_start_loads_no_library_the_request_path_never_uses(tmp_path):
    assert _modules_after_import_wsgi(tmp_path) == []


def test_a_worker_freezes_what_it_holds_once_the_app_is_built():
    spec = importlib.util.spec_from_file_location("cardpay_gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert gc.get_freeze_count() == 0
    try:
        conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 10_000  # this test process's modules, like a worker's app
    finally:
        gc.unfreeze()
