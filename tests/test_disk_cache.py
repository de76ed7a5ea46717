"""The on-disk cache of compiled code: entries come back intact or not at all,
and a directory it cannot use turns it off with one warning, never an error."""
import logging
import os
import pathlib
import subprocess
import sys
import threading
import warnings

import pytest

from runtime import cache as cache_mod
from runtime.cache import DiskCache, default_cache, reset_default_cache

ROOT = pathlib.Path(__file__).resolve().parent.parent
KEY = "ab" * 32
OTHER = "cd" * 32
POSIX = hasattr(os, "getuid")
ROOT_USER = POSIX and os.getuid() == 0


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Tests must not see (or write to) the developer's own cache."""
    for name in ("JITGRAD_CACHE", "JITGRAD_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    reset_default_cache()
    yield
    reset_default_cache()


def make(tmp_path, **kw):
    return DiskCache(tmp_path / "cache", **kw)


def runtime_warnings(fn):
    """(result of fn(), the RuntimeWarnings it raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_round_trip_and_counters(tmp_path):
    c = make(tmp_path)
    assert c.enabled and c.directory == tmp_path / "cache"
    assert c.load(KEY) is None
    c.store(KEY, b"\x00native code\xff")
    assert c.load(KEY) == b"\x00native code\xff"
    assert DiskCache(tmp_path / "cache").load(KEY) == b"\x00native code\xff"  # another "process"
    assert (c.hits, c.misses, c.stores, c.rejected) == (1, 1, 1, 0)
    c.store(OTHER, b"")
    assert c.load(OTHER) == b""


def test_miss_for_unknown_key(tmp_path):
    c = make(tmp_path)
    c.store(KEY, b"x")
    assert c.load(OTHER) is None and c.misses == 1


def test_path_for_and_clear(tmp_path):
    c = make(tmp_path)
    assert c.path_for(KEY).parent == c.directory
    c.store(KEY, b"x")
    c.store(OTHER, b"y")
    assert c.path_for(KEY).is_file()
    c.clear()
    assert c.directory.is_dir() and list(c.directory.iterdir()) == []
    assert c.load(KEY) is None


def test_directory_created_private(tmp_path):
    if not POSIX:
        pytest.skip("POSIX modes")
    c = make(tmp_path)
    assert c.directory.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("value", ["0", "false", "off"])
def test_disabled_by_env_writes_nothing(tmp_path, monkeypatch, value):
    monkeypatch.setenv("JITGRAD_CACHE", value)
    monkeypatch.setenv("JITGRAD_CACHE_DIR", str(tmp_path / "cache"))
    c = DiskCache()
    assert not c.enabled and c.directory is None
    c.store(KEY, b"x")
    assert c.load(KEY) is None
    assert not (tmp_path / "cache").exists()
    assert (c.hits, c.misses, c.stores, c.rejected) == (0, 0, 0, 0)


def test_enabled_argument_overrides_env(tmp_path, monkeypatch):
    monkeypatch.setenv("JITGRAD_CACHE", "0")
    assert make(tmp_path, enabled=True).enabled
    monkeypatch.setenv("JITGRAD_CACHE", "1")
    assert not make(tmp_path, enabled=False).enabled


def test_cache_dir_env_honoured(tmp_path, monkeypatch):
    monkeypatch.setenv("JITGRAD_CACHE_DIR", str(tmp_path / "mine"))
    c = DiskCache()
    assert c.directory == tmp_path / "mine"
    c.store(KEY, b"x")
    assert (tmp_path / "mine").is_dir() and c.path_for(KEY).is_file()


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG is the Linux default")
def test_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert DiskCache().directory == tmp_path / "xdg" / "jitgrad"


def test_default_cache_is_shared_until_reset(tmp_path, monkeypatch):
    monkeypatch.setenv("JITGRAD_CACHE_DIR", str(tmp_path / "one"))
    first = default_cache()
    assert default_cache() is first and first.directory == tmp_path / "one"
    monkeypatch.setenv("JITGRAD_CACHE_DIR", str(tmp_path / "two"))
    assert default_cache() is first
    reset_default_cache()
    assert default_cache().directory == tmp_path / "two"


@pytest.mark.parametrize("key", ["", "../x", "../" + KEY, KEY + "/x", KEY.upper(), "abc", "g" * 64,
                                 "a" * 129, None, 12345678])
def test_bad_keys_raise(tmp_path, key):
    c = make(tmp_path)
    for call in (lambda: c.load(key), lambda: c.store(key, b"x"), lambda: c.path_for(key)):
        with pytest.raises(ValueError):
            call()


def _assert_rejected(c, caplog, key=KEY):
    path = c.path_for(key)
    with caplog.at_level(logging.WARNING, logger="jitgrad.cache"):
        assert c.load(key) is None
    assert c.rejected == 1 and c.hits == 0
    assert not path.exists()
    assert any(r.name == "jitgrad.cache" and str(path) in r.getMessage() for r in caplog.records)
    c.store(key, b"rebuilt")  # the next compile writes a good entry again
    assert c.load(key) == b"rebuilt"


def test_truncated_entry_rejected(tmp_path, caplog):
    c = make(tmp_path)
    c.store(KEY, b"p" * 1000)
    path = c.path_for(KEY)
    path.write_bytes(path.read_bytes()[:-10])
    _assert_rejected(c, caplog)


def test_entry_shorter_than_header_rejected(tmp_path, caplog):
    c = make(tmp_path)
    c.store(KEY, b"p" * 1000)
    c.path_for(KEY).write_bytes(b"JGC")
    _assert_rejected(c, caplog)


def test_flipped_payload_byte_rejected(tmp_path, caplog):
    c = make(tmp_path)
    c.store(KEY, b"p" * 1000)
    path = c.path_for(KEY)
    data = bytearray(path.read_bytes())
    data[-500] ^= 0x01
    path.write_bytes(bytes(data))
    _assert_rejected(c, caplog)
    assert "checksum" in caplog.text


def test_foreign_entry_rejected(tmp_path, caplog):
    c = make(tmp_path)
    c.store(OTHER, b"code for another graph")
    c.path_for(KEY).write_bytes(c.path_for(OTHER).read_bytes())
    _assert_rejected(c, caplog)
    assert "foreign" in caplog.text
    assert c.load(OTHER) == b"code for another graph"  # the original is untouched


def test_wrong_magic_rejected(tmp_path, caplog):
    c = make(tmp_path)
    c.store(KEY, b"p")
    path = c.path_for(KEY)
    path.write_bytes(b"XXXXXXXX" + path.read_bytes()[8:])
    _assert_rejected(c, caplog)


def test_wrong_format_version_rejected(tmp_path, caplog, monkeypatch):
    c = make(tmp_path)
    monkeypatch.setattr(cache_mod, "FORMAT_VERSION", cache_mod.FORMAT_VERSION + 1)
    c.store(KEY, b"from a newer jitgrad")
    monkeypatch.undo()
    _assert_rejected(c, caplog)
    assert "version" in caplog.text


@pytest.mark.skipif(not POSIX or ROOT_USER, reason="needs POSIX permissions, which root ignores")
@pytest.mark.parametrize("where", ["parent", "itself"])
def test_unwritable_directory_degrades(tmp_path, where):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    directory = locked / "cache" if where == "parent" else locked
    locked.chmod(0o500)
    try:
        c, caught = runtime_warnings(lambda: DiskCache(directory))
        (_, more) = runtime_warnings(lambda: (c.store(KEY, b"x"), c.load(KEY), c.store(KEY, b"x")))
        assert len(caught) == 1 and more == []
        assert str(directory) in str(caught[0].message) and "JITGRAD_CACHE" in str(caught[0].message)
        assert not c.enabled and c.load(KEY) is None
    finally:
        locked.chmod(0o700)


def test_directory_path_is_a_file_degrades(tmp_path):
    (tmp_path / "cache").write_text("not a directory")
    c, caught = runtime_warnings(lambda: make(tmp_path))
    _, more = runtime_warnings(lambda: (c.store(KEY, b"x"), c.load(KEY)))
    assert len(caught) == 1 and more == [] and not c.enabled
    assert "JITGRAD_CACHE_DIR" in str(caught[0].message)
    assert c.load(KEY) is None


def test_write_failure_degrades_once(tmp_path, monkeypatch):
    """A directory that stops accepting files (checked even as root, where
    permissions cannot make it fail)."""
    c = make(tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(cache_mod.tempfile, "mkstemp", refuse)
    _, caught = runtime_warnings(lambda: [c.store(KEY, b"x") for _ in range(3)])
    assert len(caught) == 1 and not c.enabled and c.load(KEY) is None


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_world_writable_directory_disabled(tmp_path):
    directory = tmp_path / "cache"
    directory.mkdir()
    directory.chmod(0o777)
    c, caught = runtime_warnings(lambda: DiskCache(directory))
    assert len(caught) == 1 and "writable by group or others" in str(caught[0].message)
    assert not c.enabled
    c.store(KEY, b"x")
    assert list(directory.iterdir()) == []


@pytest.mark.skipif(not POSIX, reason="POSIX ownership")
def test_directory_owned_by_someone_else_disabled(tmp_path, monkeypatch):
    (tmp_path / "cache").mkdir(mode=0o700)
    monkeypatch.setattr(cache_mod.os, "getuid", lambda: os.stat(tmp_path).st_uid + 1)
    c, caught = runtime_warnings(lambda: make(tmp_path))
    assert len(caught) == 1 and "owned by" in str(caught[0].message) and not c.enabled


def test_store_leaves_no_temp_files(tmp_path):
    c = make(tmp_path)
    for i in range(5):
        c.store(KEY, bytes([i]) * 100)
    assert sorted(p.name for p in c.directory.iterdir()) == [KEY + ".jgc"]


WRITER = """
import sys
from runtime.cache import DiskCache
c = DiskCache(sys.argv[1])
for i in range(40):
    c.store(sys.argv[2], bytes([int(sys.argv[3])]) * 200_000)
    assert c.load(sys.argv[2]) is not None
"""


def test_concurrent_stores_threads_and_processes(tmp_path):
    directory = tmp_path / "cache"
    DiskCache(directory)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(directory), KEY, str(n)], env=env)
             for n in (1, 2)]
    errors = []

    def write(n):
        try:
            c = DiskCache(directory)
            for _ in range(40):
                c.store(KEY, bytes([n]) * 200_000)
                assert c.load(KEY) is not None and c.rejected == 0
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=write, args=(n,)) for n in (3, 4, 5, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=30) for p in procs] == [0, 0]
    assert errors == []
    c = DiskCache(directory)
    payload = c.load(KEY)
    assert payload is not None and c.rejected == 0
    assert len(payload) == 200_000 and len(set(payload)) == 1 and payload[0] in {1, 2, 3, 4, 5, 6}
    assert sorted(p.name for p in directory.iterdir()) == [KEY + ".jgc"]

