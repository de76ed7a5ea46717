"""How many threads compiled code runs on, and the threads themselves.

Compiled code splits big loops across a native pool (its code is emitted
by compiler/backend/parallel.py and loaded once per process). The pool's
workers are ordinary daemon threads started here, each of which calls the
pool's `worker(id)` through ctypes and so stays in native code, with the GIL
released, for the life of the process. They sleep on a condition variable
between jobs, so an idle pool costs no CPU.

`set_num_threads(n)` (PyTorch's name) counts the calling thread, so n = 1
runs everything on the caller. The default is $JITGRAD_NUM_THREADS, else
the CPUs this process may run on.
"""
from __future__ import annotations

import ctypes
import os
import threading

_WORKER = ctypes.CFUNCTYPE(None, ctypes.c_int64)  # releases the GIL for the thread's whole life
_SET_LIMIT = ctypes.CFUNCTYPE(None, ctypes.c_int64)
_INIT = ctypes.CFUNCTYPE(None)
_LOCK = threading.Lock()


def _default_threads() -> int:
    explicit = os.environ.get("JITGRAD_NUM_THREADS", "").strip()
    if explicit:
        try:
            count = int(explicit)
        except ValueError:
            raise ValueError(f"JITGRAD_NUM_THREADS must be a positive integer, got {explicit!r}") from None
        if count < 1:
            raise ValueError(f"JITGRAD_NUM_THREADS must be a positive integer, got {count}")
        return count
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _Pool:
    """The started workers and the native functions that drive them."""

    def __init__(self, addresses: dict, owner):
        self.owner = owner  # the loaded code: kept alive while workers run in it
        self.worker = _WORKER(addresses["worker"])
        self.set_limit = _SET_LIMIT(addresses["set_limit"])
        self.init = _INIT(addresses["init"])
        self.init()
        self.threads: list[threading.Thread] = []

    def resize(self, count: int):
        """Let `count - 1` workers join jobs, starting any not yet running."""
        while len(self.threads) < count - 1:
            thread = threading.Thread(target=self.worker, args=(len(self.threads),), daemon=True,
                                      name=f"jitgrad-worker-{len(self.threads)}")
            thread.start()
            self.threads.append(thread)
        self.set_limit(count - 1)

    def after_fork(self):
        """A forked child has none of the parent's threads, and its copy of
        the pool's locks may be held by one of them: start afresh."""
        self.init()
        self.threads = []


_threads = None  # the requested count, read lazily so importing never fails
_pool: _Pool | None = None


def get_num_threads() -> int:
    global _threads
    with _LOCK:
        if _threads is None:
            _threads = _default_threads()
        return _threads


def set_num_threads(count: int) -> None:
    """Run compiled code on `count` threads (the caller and count - 1 workers)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"set_num_threads expects a positive int, got {count!r}")
    global _threads
    with _LOCK:
        _threads = count
        if _pool is not None:
            _pool.resize(count)


def attach_pool(addresses: dict, owner) -> None:
    """Start the workers of the pool just loaded (once per process).
    `addresses`: the native `worker`, `set_limit` and `init` functions."""
    global _pool
    count = get_num_threads()
    with _LOCK:
        if _pool is None:
            _pool = _Pool(addresses, owner)
            _pool.resize(count)


def _restart_after_fork():
    if _pool is not None:
        _pool.after_fork()
        _pool.resize(_threads)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_after_fork)
