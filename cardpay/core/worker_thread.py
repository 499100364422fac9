"""A background thread that runs once per process: started on first use, and again after a fork.

gunicorn forks its workers from a master that may already have started such a thread, and threads
do not survive a fork; so the thread is (re)started lazily by whichever process first needs it.
"""

import os
import threading


class WorkerThread:
    """One daemon thread running ``target`` in each process that calls ``ensure_running``."""

    def __init__(self, target, name):
        self.target, self.name = target, name
        self.thread, self._pid, self._lock = None, None, threading.Lock()

    def ensure_running(self):
        """Start the thread in this process unless it already has one."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self.thread = threading.Thread(target=self.target, name=self.name, daemon=True)
                self.thread.start()

    def join(self, timeout):
        """Wait for this process's thread to end (never for the calling thread itself)."""
        if self.thread is not None and self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=timeout)
