"""What every part of the frontend may ask while a function is being traced:
is a trace active, and where in the user's program are we. It imports
nothing from the frontend, so `tensor.py` and `creation.py` can use it."""
from __future__ import annotations

import functools
import os
import sys
import threading

import compiler
from compiler.ir import SourceLoc



class _Active(threading.local):
    """The trace this thread is recording (`ACTIVE.trace`), or None. Per
    thread, so eager code in other threads is never recorded; not re-entrant
    (a compiled function called inside a trace is inlined into the outer
    graph)."""

    trace = None


ACTIVE = _Active()

# Held while a compiled function reads its guards or traces: tracing puts
# tracers into the caller's objects (a model's parameters), which another
# thread's guard reading must not see. Running a compiled graph needs no lock.
TRACING_LOCK = threading.RLock()

# jitgrad's own code: frames here are never "the user's line".
_INTERNAL = (os.path.dirname(os.path.abspath(compiler.__file__)) + os.sep,
             os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep)


class GraphBreak(RuntimeError):
    """The traced function did something a static graph cannot capture."""

    def __init__(self, reason: str, loc: SourceLoc | None = None):
        self.reason, self.loc = reason, loc if loc is not None else user_location()
        where = f"{self.loc}: " if self.loc is not None else ""
        super().__init__(f"{where}{reason}")
        if ACTIVE.trace is not None:
            ACTIVE.trace.broken = self  # remembered even if the user's code catches it


def is_tracing() -> bool:
    return ACTIVE.trace is not None


def short_path(filename: str) -> str:
    """The file as a user would name it: relative to the working directory when inside it."""
    return _short_path(filename, os.getcwd())


@functools.lru_cache(maxsize=256)
def _short_path(filename: str, cwd: str) -> str:
    """Cached: tracing names a location for every node, and relpath costs
    more than the rest of recording one (0.5 ms of a 100-node trace)."""
    try:
        rel = os.path.relpath(filename, cwd)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def is_internal_file(filename: str) -> bool:
    return filename.startswith(_INTERNAL)


def user_frame():
    """The innermost frame outside jitgrad's own packages."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame = frame.f_back
    return frame


def note_user_location(error: BaseException, name: str) -> None:
    """Add to an error raised while tracing `name` where in the user's code
    it happened (the innermost traceback frame outside jitgrad), as
    `Trace.emit` does for errors of shape rules: checks in the tensor
    methods (matmul's sizes, reshape, cat) raise before any node is added."""
    if isinstance(error, GraphBreak) or getattr(error, "__notes__", None):
        return  # a graph break's message names the line already
    loc, tb = None, error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not is_internal_file(code.co_filename):
            loc = SourceLoc(short_path(code.co_filename), tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    if loc is not None:
        error.add_note(f"while tracing {name}, at {loc}")


def user_location() -> SourceLoc | None:
    frame = user_frame()
    if frame is None:
        return None
    return SourceLoc(short_path(frame.f_code.co_filename), frame.f_lineno, frame.f_code.co_name)
