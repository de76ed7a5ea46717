"""The on-disk cache of compiled code, so a process does not recompile what an
earlier one already compiled.

The caller names each entry by a hex key (a hash of everything the code
depends on: IR, compiler and LLVM versions, CPU); the cache stores opaque
bytes. Since an entry is native code this process will run, the cache trusts
nothing it reads: every entry carries its key, length and sha256, and a
mismatch is a miss, never a result. It only uses a directory that nobody else
can write into, and any trouble with the directory turns the cache off with
one warning instead of failing the compile."""
from __future__ import annotations

import hashlib
import logging
import os
import pathlib
import re
import stat
import struct
import sys
import tempfile
import threading
import warnings

log = logging.getLogger("jitgrad.cache")

MAGIC = b"JGCACHE\0"
FORMAT_VERSION = 1
# magic, format version, key length, payload length, sha256 of the payload;
# then the key (ASCII), then the payload.
_HEADER = struct.Struct("<8sHHQ32s")
_KEY = re.compile(r"[0-9a-f]{8,128}")
_SUFFIX = ".jgc"
_HOW_TO = "set JITGRAD_CACHE_DIR to a private writable directory, or JITGRAD_CACHE=0 to silence this"


def _env_enabled() -> bool:
    return os.environ.get("JITGRAD_CACHE", "1").strip().lower() not in {"0", "false", "no", "off"}


def _env_directory() -> pathlib.Path:
    """$JITGRAD_CACHE_DIR, else the platform's per-user cache directory."""
    explicit = os.environ.get("JITGRAD_CACHE_DIR")
    if explicit:
        return pathlib.Path(explicit).expanduser()
    home = pathlib.Path.home()
    if sys.platform == "win32":
        base = pathlib.Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = pathlib.Path(xdg) if xdg and os.path.isabs(xdg) else home / ".cache"
    return base / "jitgrad"


def _check_key(key: str) -> str:
    """Keys become file names: hex only, so none can leave the directory."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"cache key must be 8-128 lowercase hex digits, got {key!r}")
    return key


class DiskCache:
    """Compiled code on disk, one file per key, written atomically.

    Counters (`hits`, `misses`, `stores`, `rejected`) count what an enabled
    cache did; a rejected entry (corrupt, truncated, foreign, other format)
    also counts as a miss. `directory` is None only when the cache was turned
    off by JITGRAD_CACHE=0 or `enabled=False`; a cache degraded because of its
    directory keeps the path, so it can be reported."""

    def __init__(self, directory: str | os.PathLike | None = None, enabled: bool | None = None):
        self.hits = self.misses = self.stores = self.rejected = 0
        self._lock = threading.Lock()
        self._warned = False
        self.enabled = _env_enabled() if enabled is None else bool(enabled)
        if not self.enabled:
            self.directory = None
            return
        self.directory = pathlib.Path(directory) if directory is not None else _env_directory()
        self._prepare()

    def _prepare(self) -> None:
        """Create the directory and refuse it unless it is private to us:
        loading code from a directory others can write lets them run theirs."""
        d = self.directory
        try:
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = os.stat(d)
        except OSError as exc:
            return self._disable(f"cannot create it ({exc})")
        if not stat.S_ISDIR(st.st_mode):
            return self._disable("it is not a directory")
        if hasattr(os, "getuid"):
            if st.st_uid != os.getuid():
                return self._disable(f"it is owned by uid {st.st_uid}, not by this user (uid {os.getuid()})")
            if st.st_mode & 0o022:
                return self._disable(f"it is writable by group or others (mode {stat.filemode(st.st_mode)}); "
                                     "chmod it to 700")
        if not os.access(d, os.W_OK | os.X_OK):
            return self._disable("it is not writable")

    def _disable(self, why: str) -> None:
        """Degrade to no cache, warning once per cache object."""
        with self._lock:
            self.enabled = False
            if self._warned:
                return
            self._warned = True
        warnings.warn(f"jitgrad: compiled-code cache disabled: cannot use {self.directory}: {why}; {_HOW_TO}",
                      RuntimeWarning, stacklevel=3)

    def path_for(self, key: str) -> pathlib.Path:
        """Where the entry for `key` lives (whether or not it exists)."""
        _check_key(key)
        if self.directory is None:
            raise RuntimeError("the cache is disabled (JITGRAD_CACHE=0) and has no directory")
        return self.directory / (key + _SUFFIX)

    def load(self, key: str) -> bytes | None:
        """The payload stored under `key`, or None. A bad entry is logged,
        deleted and reported as a miss."""
        _check_key(key)
        if not self.enabled:
            return None
        path = self.path_for(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        except OSError as exc:
            log.warning("cannot read cache entry %s: %s", path, exc)
            self.misses += 1
            return None
        payload, problem = _decode(key, data)
        if problem is not None:
            log.warning("rejecting cache entry %s: %s", path, problem)
            try:
                path.unlink()
            except OSError:
                pass
            self.rejected += 1
            self.misses += 1
            return None
        self.hits += 1
        return payload

    def store(self, key: str, payload: bytes) -> None:
        """Write the entry atomically: readers, in this process or another,
        see the old entry, the new one or none, never half of one. It is not
        fsync'ed (1 ms per entry here, tens on a busy disk, on the compile
        path): an entry a crash left torn fails its checksum and is rebuilt."""
        _check_key(key)
        if not self.enabled:
            return
        payload = bytes(payload)
        data = _HEADER.pack(MAGIC, FORMAT_VERSION, len(key), len(payload),
                            hashlib.sha256(payload).digest()) + key.encode("ascii") + payload
        path = self.path_for(key)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.", suffix=".tmp")
        except OSError as exc:
            return self._disable(f"cannot write into it ({exc})")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            # A full disk or a racing writer on Windows: this entry is lost,
            # the cache is not (the next store of the key retries).
            log.warning("cannot write cache entry %s: %s", path, exc)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return
        self.stores += 1

    def clear(self) -> None:
        """Remove every entry; the directory itself stays."""
        if self.directory is None or not self.directory.is_dir():
            return
        for entry in self.directory.glob("*" + _SUFFIX):
            try:
                entry.unlink()
            except OSError as exc:
                log.warning("cannot remove cache entry %s: %s", entry, exc)


def _decode(key: str, data: bytes) -> tuple[bytes | None, str | None]:
    """(payload, None) for an intact entry of `key`, else (None, what is wrong)."""
    if len(data) < _HEADER.size:
        return None, f"truncated ({len(data)} bytes, shorter than the header)"
    magic, version, key_len, length, digest = _HEADER.unpack_from(data)
    if magic != MAGIC:
        return None, "not a jitgrad cache entry (bad magic)"
    if version != FORMAT_VERSION:
        return None, f"format version {version}, expected {FORMAT_VERSION}"
    stored_key = data[_HEADER.size:_HEADER.size + key_len]
    if stored_key != key.encode("ascii"):
        return None, f"foreign entry (written for key {stored_key[:80].decode('ascii', 'replace')!r})"
    payload = data[_HEADER.size + key_len:]
    if len(payload) != length:
        return None, f"payload is {len(payload)} bytes, header says {length} (truncated?)"
    if hashlib.sha256(payload).digest() != digest:
        return None, "checksum mismatch"
    return payload, None


_default: DiskCache | None = None
_default_lock = threading.Lock()


def default_cache() -> DiskCache:
    """The process-wide cache, built from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = DiskCache()
        return _default


def reset_default_cache() -> None:
    """Forget the process-wide cache, so the next use rereads the environment."""
    global _default
    with _default_lock:
        _default = None
