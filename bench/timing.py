"""Timing one callable: a warm-up, then samples until both `repeat` samples
and `min_seconds` are reached. A sample averages enough calls to last
`min_sample_seconds`, so microsecond calls are not timer noise."""
from __future__ import annotations

import statistics
import time

MAX_SAMPLES_FACTOR = 20  # stop at 20x the requested samples, however short the calls


def calls_per_sample(fn, min_sample_seconds: float) -> int:
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= min_sample_seconds or number >= 1 << 20:
            return number
        number *= 4


def measure(fn, repeat: int, min_seconds: float, min_sample_seconds: float = 1e-3) -> dict:
    fn()  # warm-up (the calibration below warms further)
    number = calls_per_sample(fn, min_sample_seconds)
    samples = []
    deadline = time.perf_counter() + min_seconds
    while len(samples) < repeat or (time.perf_counter() < deadline and len(samples) < MAX_SAMPLES_FACTOR * repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return summarize(samples, number)


def summarize(samples: list, number: int) -> dict:
    """Median and spread (interquartile range, and min and max) of per-call seconds."""
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive") if len(samples) > 1 else samples * 3
    return {"median_s": statistics.median(samples), "q1_s": q1, "q3_s": q3, "min_s": min(samples),
            "max_s": max(samples), "runs": len(samples), "calls_per_sample": number}
