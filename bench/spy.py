"""Where a gunicorn worker spends its time: py-spy samples the workers while a benchmark drives them.

Used by the benchmarks' --profile option: each worker is sampled (wall clock, idle excluded)
into collapsed stacks under bench/results/, and the frames that take the largest share of the
samples are printed, cardpay's own first, so a missed target comes with what limits it.
"""

import subprocess
from collections import Counter

import common

PY_SPY = common.BIN / "py-spy"


class Profiler:
    """py-spy recording every worker of a gunicorn, as long as the block runs."""

    def __init__(self, server, name, rate=200):
        self.server, self.name, self.rate = server, name, rate
        self.procs, self.paths = [], []

    def __enter__(self):
        for pid in self.server.worker_pids():
            path = common.RESULTS / f"profile-{self.name}-{pid}.txt"
            self.paths.append(path)
            self.procs.append(subprocess.Popen(
                [str(PY_SPY), "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw",
                 "--output", str(path), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            proc.send_signal(subprocess.signal.SIGINT)  # py-spy writes its file on SIGINT
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def report(self, top=15):
        """Print cardpay's frames by inclusive share of samples, then the hottest leaf frames; return both."""
        inclusive, leaves, total = Counter(), Counter(), 0
        for path in self.paths:
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if not count.isdigit():
                    continue
                frames, count = stack.split(";"), int(count)
                total += count
                leaves[frames[-1]] += count
                for frame in set(frames):
                    if "cardpay/" in frame or "bench/" in frame:
                        inclusive[frame] += count
        if not total:
            print("   profile: no samples (is py-spy allowed to ptrace?)")
            return {}
        print(f"   profile: {total} samples of the workers (wall clock, idle excluded), "
              f"raw stacks in {', '.join(str(p.relative_to(common.ROOT)) for p in self.paths)}")
        print("   cardpay frames, share of samples including callees:")
        for frame, count in inclusive.most_common(top):
            print(f"   {100 * count / total:5.1f}%  {frame[:140]}")
        print("   hottest leaf frames (where the time is actually spent):")
        for frame, count in leaves.most_common(8):
            print(f"   {100 * count / total:5.1f}%  {frame[:140]}")
        return {"samples": total, "inclusive": [(f, n / total) for f, n in inclusive.most_common(top)],
                "leaves": [(f, n / total) for f, n in leaves.most_common(8)]}
