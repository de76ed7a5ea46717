"""Progress lines on stderr (the table goes to stdout): workload i/N, the
mode, elapsed time and an ETA from the workloads done so far."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self.start = time.perf_counter()
        self.done = 0
        self.index, self.workload = 0, ""

    def begin(self, index: int, workload: str):
        self.index, self.workload = index, workload

    def finish_workload(self):
        self.done += 1

    def say(self, what: str):
        elapsed = time.perf_counter() - self.start
        eta = ""
        if self.done:
            eta = f", ETA {elapsed / self.done * (self.total - self.done):.0f}s"
        print(f"[{self.index}/{self.total} {self.workload}] {what} (elapsed {elapsed:.1f}s{eta})",
              file=self.stream, flush=True)
