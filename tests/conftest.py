"""Suite-wide setup: compiled code is cached in a fresh directory per test
session, so runs neither read stale entries nor write into the user's cache.
Under CI (`CI` set, as .ci/run does) property tests draw the same examples
every run, so a red CI is always a reproducible one; elsewhere they explore."""
import os
import tempfile

from hypothesis import settings

os.environ.setdefault("JITGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="jitgrad-test-cache-"))
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
