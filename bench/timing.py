"""Timing several callables side by side: each gets a warm-up and a
calibrated number of calls per sample (so microsecond calls are not timer
noise), then they are sampled in rounds.

In each round every callable takes one turn, in an order shuffled per
round: it first runs untimed for `settle_seconds` (the previous turn's
thread pool may still be spinning on a core: OpenBLAS's idle threads spin
for 2^28 cycles before they sleep, OpenMP's for a while too; and its data
fills the caches), then takes samples until the turn has its share of
the samples and seconds asked for. A noisy machine has phases, from milliseconds to
seconds, in which a core is slower or taken (a virtual machine's core
shared with another guest): timed one after another, whichever mode ran
during such a phase moved by itself, and a ratio between modes with it.
Spread over rounds, each phase falls on every mode alike. Google
Benchmark's --benchmark_enable_random_interleaving does the same for the
same reason."""
from __future__ import annotations

import math
import random
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


def measure_interleaved(calls: dict, repeat: int, min_seconds: float, min_sample_seconds: float = 1e-3,
                        rounds: int = 1, settle_seconds: float = 0.0, seed: int = 0) -> tuple[dict, dict]:
    """Time each callable of `calls` (name -> fn) for at least `repeat`
    samples and `min_seconds`, split over `rounds` turns. Returns
    ({name: summary}, {name: exception}): a callable that raises is dropped
    from later rounds and reported instead of timed."""
    numbers, failures = {}, {}
    for name, fn in calls.items():
        try:
            fn()  # warm-up (the calibration below warms further)
            numbers[name] = calls_per_sample(fn, min_sample_seconds)
        except Exception as exc:  # one broken mode must not hide the others' figures
            failures[name] = exc
    samples = {name: [] for name in numbers}
    least, most = math.ceil(repeat / rounds), math.ceil(MAX_SAMPLES_FACTOR * repeat / rounds)
    order, shuffle = list(numbers), random.Random(seed).shuffle
    for _ in range(rounds):
        shuffle(order)
        for name in list(order):
            try:
                _turn(calls[name], numbers[name], samples[name], least, most, min_seconds / rounds, settle_seconds)
            except Exception as exc:
                failures[name] = exc
                order.remove(name)
    return {name: summarize(samples[name], numbers[name]) for name in order}, failures


def _turn(fn, number: int, samples: list, least: int, most: int, seconds: float, settle_seconds: float) -> None:
    """One turn: untimed calls for `settle_seconds` (at least one when
    asked for), then samples until `least` and `seconds` are reached or
    `most` samples are taken."""
    settle_until = time.perf_counter() + settle_seconds
    while settle_seconds:
        fn()
        if time.perf_counter() >= settle_until:
            break
    taken, deadline = 0, time.perf_counter() + seconds
    while taken < least or (time.perf_counter() < deadline and taken < most):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
        taken += 1


def summarize(samples: list, number: int) -> dict:
    """Median and spread (interquartile range, and min and max) of per-call seconds."""
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive") if len(samples) > 1 else samples * 3
    return {"median_s": statistics.median(samples), "q1_s": q1, "q3_s": q3, "min_s": min(samples),
            "max_s": max(samples), "runs": len(samples), "calls_per_sample": number}
