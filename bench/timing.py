"""Timing several callables side by side: each gets a warm-up and a
calibrated number of calls per sample (so microsecond calls are not timer
noise), then they are sampled in rounds.

In each round every callable takes one turn, in an order shuffled per
round. A turn waits until no thread of this process is using the CPU
(`quiet_seconds` at most): another library's idle thread pool keeps
spinning after the previous turn (OpenBLAS's for 2^28 clock cycles, ~0.1
s here, OpenMP's and XLA's for less) and would take a core from this one.
Then it runs untimed for `warmup_seconds` (the previous turn's data filled
the caches), then takes samples until the turn has its share of the
samples and seconds asked for.

A noisy machine has phases, from tenths of a second to seconds, in which
a core is slower or taken (a virtual machine's core shared with another
guest): timed one after another, whichever mode ran during such a phase
moved by itself, and every ratio with it. Over many short turns each mode
meets such phases about as often as the others. Google Benchmark's
--benchmark_enable_random_interleaving does the same for the same reason."""
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


QUIET_CPU_SHARE = 0.1  # the process counts as idle when its threads use under a tenth of one core
QUIET_STEP_SECONDS = 0.005


def measure_interleaved(calls: dict, repeat: int, min_seconds: float, min_sample_seconds: float = 1e-3,
                        rounds: int = 1, warmup_seconds: float = 0.0, quiet_seconds: float = 0.0,
                        seed: int = 0) -> tuple[dict, dict]:
    """Time each callable of `calls` (name -> fn) for at least `repeat`
    samples and `min_seconds`, split over `rounds` turns. Returns
    ({name: summary}, {name: exception}): a callable that raises is dropped
    from later rounds and reported instead of timed. A summary's
    `timeline` lists its samples as [seconds since timing began, seconds
    per call], so a slow phase shows as the same stretch of time in
    every mode's samples."""
    numbers, failures = {}, {}
    for name, fn in calls.items():
        try:
            fn()  # warm-up (the calibration below warms further)
            numbers[name] = calls_per_sample(fn, min_sample_seconds)
        except Exception as exc:  # one broken mode must not hide the others' figures
            failures[name] = exc
    samples = {name: [] for name in numbers}  # (seconds since the first turn began, seconds per call)
    least, most = math.ceil(repeat / rounds), math.ceil(MAX_SAMPLES_FACTOR * repeat / rounds)
    order, shuffle = list(numbers), random.Random(seed).shuffle
    began = time.perf_counter()
    for _ in range(rounds):
        shuffle(order)
        for name in list(order):
            try:
                wait_until_quiet(quiet_seconds)
                _turn(calls[name], numbers[name], samples[name], least, most, min_seconds / rounds, warmup_seconds,
                      began)
            except Exception as exc:
                failures[name] = exc
                order.remove(name)
    return {name: dict(summarize([s for _, s in samples[name]], numbers[name]),
                       timeline=[[round(at, 6), s] for at, s in samples[name]]) for name in order}, failures


def wait_until_quiet(most_seconds: float) -> None:
    """Sleep until the process's threads use under QUIET_CPU_SHARE of a
    core over QUIET_STEP_SECONDS, or `most_seconds` have passed."""
    deadline = time.perf_counter() + most_seconds
    while time.perf_counter() < deadline:
        cpu, wall = time.process_time(), time.perf_counter()
        time.sleep(QUIET_STEP_SECONDS)
        if time.process_time() - cpu < QUIET_CPU_SHARE * (time.perf_counter() - wall):
            return


def _turn(fn, number: int, samples: list, least: int, most: int, seconds: float, warmup_seconds: float,
          began: float) -> None:
    """One turn: untimed calls for `warmup_seconds` (at least one when
    asked for), then samples until `least` and `seconds` are reached or
    `most` samples are taken."""
    warm_until = time.perf_counter() + warmup_seconds
    while warmup_seconds:
        fn()
        if time.perf_counter() >= warm_until:
            break
    taken, deadline = 0, time.perf_counter() + seconds
    while taken < least or (time.perf_counter() < deadline and taken < most):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((start - began, (time.perf_counter() - start) / number))
        taken += 1


def summarize(samples: list, number: int) -> dict:
    """Median and spread (interquartile range, and min and max) of per-call seconds."""
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive") if len(samples) > 1 else samples * 3
    return {"median_s": statistics.median(samples), "q1_s": q1, "q3_s": q3, "min_s": min(samples),
            "max_s": max(samples), "runs": len(samples), "calls_per_sample": number}
