"""Suite-wide setup: compiled code is cached in a fresh directory per test
session, so runs neither read stale entries nor write into the user's cache."""
import os
import tempfile

os.environ.setdefault("JITGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="jitgrad-test-cache-"))
