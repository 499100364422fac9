"""A deploy followed by `systemctl reload` (HUP to gunicorn) serves the new release in every part of cardpay.

The master imports the access-log formatter, and with it part of the cardpay package; gunicorn.conf.py's
pre_fork makes every worker import cardpay afresh. The release is told by its REVISION file (read at import
by core/log_fields): a worker holding the master's old modules would still report the old one.
"""

import json
import os
import shutil
import signal
import subprocess

import pytest
import requests

from tests.conftest import TEST_SECRET_KEY
from tests.gunicorn_helpers import ROOT, serving
from tests.receiver_helpers import free_port, wait_for


def _release(tmp_path, revision):
    """A copy of the repository's tracked files, as a deploy checks a release out, with its REVISION."""
    copy = tmp_path / "release"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    (copy / "REVISION").write_text(revision)
    return copy


def _health_version(base):
    return requests.get(f"{base}/health", timeout=5).json()["version"]


@pytest.mark.slow
def test_a_reload_after_a_deploy_serves_the_new_release_in_every_module(migrated_database, tmp_path):
    release = _release(tmp_path, "release-1")
    port, pid_file, log_path = free_port(), tmp_path / "gunicorn.pid", tmp_path / "gunicorn.log"
    settings = {"CARDPAY_ENV": "development", "DATABASE_URL": migrated_database, "SECRET_KEY": TEST_SECRET_KEY,
                "SCHEDULER_ENABLED": "false", "SANDBOX_STATE_FILE": str(tmp_path / "sandbox.sqlite3")}
    with serving(settings, log_path, ["--workers", "1", "--pid", str(pid_file)], port=port, root=release) as base:
        assert _health_version(base) == "release-1"
        (release / "REVISION").write_text("release-2")  # the deploy
        os.kill(int(pid_file.read_text()), signal.SIGHUP)  # systemctl reload cardpay-web
        assert wait_for(lambda: _health_version(base) == "release-2", 60), log_path.read_text(errors="replace")
        requests.get(f"{base}/health", timeout=5)
    access = [json.loads(line) for line in log_path.read_text(errors="replace").splitlines()
              if line.startswith("{") and '"gunicorn.access"' in line]
    assert access and access[-1]["version"] == "release-2"  # the master's access-log formatter, read again
