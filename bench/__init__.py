"""jitgrad's benchmark harness: `python -m bench`."""
