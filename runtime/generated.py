"""Generated Python functions (guard checks, call paths), compiled once per
source text and kept in the disk cache as .pyc files keep modules.

compile() of a training step's guard check (150 lines) takes 2-3 ms, on
every start of a process; loading its code object with marshal takes a
twentieth of that. A source names every value that differs between
processes (object ids, arrays) through its globals, so the same program
generates the same source, and the source is the key. The key also holds
the interpreter's bytecode magic number: code objects of another Python
version are never loaded. An entry that does not load is compiled again.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import marshal

from .cache import default_cache

log = logging.getLogger("jitgrad.cache")


def define(name: str, source: str, filename: str, namespace: dict):
    """The function `name` that `source` defines, its globals `namespace`
    (which it adds to); `.source` holds the text for readers."""
    exec(_code(source, filename), namespace)
    function = namespace[name]
    function.source = source
    return function


def _code(source: str, filename: str):
    cache = default_cache()
    if not cache.enabled:
        return compile(source, filename, "exec")
    key = hashlib.sha256(f"python {importlib.util.MAGIC_NUMBER.hex()} {filename}\n{source}".encode()).hexdigest()
    payload = cache.load(key)
    if payload is not None:
        try:
            return marshal.loads(payload)
        except (ValueError, EOFError, TypeError) as e:  # checksummed, yet unreadable: compile it again
            log.warning("discarding unreadable cache entry %s: %s", key, e)
    code = compile(source, filename, "exec")
    cache.store(key, marshal.dumps(code))
    return code
