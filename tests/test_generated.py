"""Generated Python functions compiled once per source text (runtime/generated.py):
a second definition loads the code object from the disk cache, a damaged
entry is compiled again, and the guard code of the same program is the same
source in every process (object ids are globals, never literals)."""
import logging
import re

import pytest

import frontend as torch
from frontend.jit.guard_code import guard_function
from runtime import generated
from runtime.cache import default_cache, reset_default_cache
from tests.test_guard_code import build, read

SOURCE = "def scaled(x):\n    return x * factor\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JITGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("JITGRAD_CACHE", raising=False)
    reset_default_cache()
    yield default_cache()
    reset_default_cache()


def test_a_second_definition_loads_the_compiled_code(cache):
    first = generated.define("scaled", SOURCE, "<scaled>", {"factor": 2})
    assert cache.stores == 1 and first(3) == 6 and first.source == SOURCE
    second = generated.define("scaled", SOURCE, "<scaled>", {"factor": 5})
    assert cache.hits == 1 and cache.stores == 1
    assert second(3) == 15 and second.__code__.co_filename == "<scaled>"


def test_another_source_or_filename_is_another_entry(cache):
    generated.define("scaled", SOURCE, "<scaled>", {"factor": 2})
    generated.define("scaled", SOURCE, "<other>", {"factor": 2})
    generated.define("scaled", SOURCE.replace("*", "+"), "<scaled>", {"factor": 2})
    assert cache.stores == 3 and cache.hits == 0


def test_an_unreadable_entry_is_compiled_again(cache, caplog):
    generated.define("scaled", SOURCE, "<scaled>", {"factor": 2})
    (entry,) = cache.directory.glob("*.jgc")
    cache.store(entry.stem, b"not a code object")  # intact (checksummed), yet not marshal data
    with caplog.at_level(logging.WARNING, "jitgrad.cache"):
        again = generated.define("scaled", SOURCE, "<scaled>", {"factor": 2})
    assert again(3) == 6 and "discarding unreadable cache entry" in caplog.text


def test_without_a_cache_the_source_is_compiled(monkeypatch):
    monkeypatch.setenv("JITGRAD_CACHE", "0")
    reset_default_cache()
    try:
        assert generated.define("scaled", SOURCE, "<scaled>", {"factor": 2})(3) == 6
    finally:
        reset_default_cache()


def test_guard_code_names_no_object_ids():
    """Two builds of one program hold different objects: their checks must be one source."""
    sources = []
    for _ in range(2):
        cfg = build()
        reading = read(cfg, torch.ones(3))
        sources.append(guard_function(reading).source)
    assert sources[0] == sources[1]
    assert "id(" in sources[0] and not re.search(r"\d{8,}", sources[0])
