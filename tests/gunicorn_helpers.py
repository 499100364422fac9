"""A real gunicorn serving cardpay for the tests that need separate worker processes or its own logs."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.receiver_helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


@contextmanager
def serving(settings, log_path, args=(), stderr_to_log=True, port=None, root=ROOT):
    """Run `gunicorn -c gunicorn.conf.py ARGS wsgi:app` in ``root`` (the repository, or a copy of it) with
    ``settings`` as its environment (no CARDPAY_/VITE_ variables of this process leak in) until /health
    answers; yield its base URL; stop it afterwards."""
    port = port or free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CARDPAY_", "VITE_"))}
    env.update({"PYTHONUNBUFFERED": "1", **settings})
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", *args, "--bind", f"127.0.0.1:{port}",
                                 "wsgi:app"], cwd=root, env=env, stdout=log,
                                stderr=subprocess.STDOUT if stderr_to_log else subprocess.DEVNULL,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass  # not listening yet, or no worker booted yet
            assert time.monotonic() < deadline and proc.poll() is None, Path(log_path).read_text(errors="replace")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
