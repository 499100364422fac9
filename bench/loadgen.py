"""The load generator: Debian's wrk (C, epoll) replaying pre-signed callbacks through bench/replay.lua.

wrk keeps a fixed number of connections busy (closed loop), so its latency percentiles are the
time each request waited at that concurrency; req/s is requests over the run's duration.
"""

import json
import signal
import subprocess
import time

from common import APP_ID, BENCH, CALLBACK_PATH, http_status

WRK = "/usr/bin/wrk"
SCRIPT = BENCH / "replay.lua"


def _argv(url, requests_file, connections, duration, threads, path):
    threads = max(1, min(threads, connections))
    return [WRK, "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
            "-s", str(SCRIPT), url + path, "--", str(requests_file), path, APP_ID, str(threads)]


def _parse(output):
    for line in output.splitlines():
        if line.startswith("WRK_JSON "):
            result = json.loads(line[len("WRK_JSON "):])
            seconds = result["duration_us"] / 1e6
            result["rps"] = result["requests"] / seconds if seconds else 0.0
            for key in ("p50", "p95", "p99", "max"):
                result[f"{key}_ms"] = result[f"{key}_us"] / 1000.0
            return result
    raise RuntimeError(f"wrk printed no WRK_JSON line:\n{output[-2000:]}")


def run(url, requests_file, connections, duration, threads=2, path=CALLBACK_PATH):
    """Drive ``connections`` connections for ``duration`` seconds; return wrk's figures."""
    argv = _argv(url, requests_file, connections, duration, threads, path)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    settle(url)
    return _parse(done.stdout)


def run_until(url, requests_file, connections, reached, max_duration, threads=2, path=CALLBACK_PATH):
    """Drive load until ``reached()`` is true (polled twice a second) or ``max_duration`` passes."""
    argv = _argv(url, requests_file, connections, max_duration, threads, path)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + max_duration + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if reached():
            proc.send_signal(signal.SIGINT)  # wrk stops, then prints its summary and our done() line
            break
        time.sleep(0.5)
    out, err = proc.communicate(timeout=60)
    if proc.returncode not in (0, -signal.SIGINT):
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.strip()}")
    settle(url)
    return _parse(out)


def settle(url, timeout=120):
    """Wait until the server has worked off the requests wrk left queued in its backlog.

    wrk closes its sockets when it stops, but gunicorn's sync workers still take every queued
    connection in turn; a GET answered by each worker means the backlog ahead of it is gone.
    """
    for _ in range(2):
        http_status(url + "/health", timeout=timeout)
