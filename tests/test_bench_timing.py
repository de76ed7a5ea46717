"""Interleaved timing (bench/timing.py) on a simulated clock: calls cost
what the test says, so medians are exact and a machine's slow phase can be
placed where a sequential timing would have blamed one mode for it."""
import pytest

from bench import timing


class Machine:
    """A fake clock (time.perf_counter, process_time and sleep), and
    callables that advance it: each call costs `cost` seconds, three times
    that while the clock is in a slow phase, twice that while another
    callable's thread pool still spins (`spins`: for that long after its
    calls), and `first` seconds instead when it is the first call after
    another callable ran (cold caches)."""

    def __init__(self, slow_phases=(), first=None):
        self.now, self.cpu, self.slow_phases, self.first = 0.0, 0.0, slow_phases, first
        self.spin = (0.0, 0.0)  # the interval in which another pool's thread spins
        self.spun = 0.0  # CPU time of spins before that one
        self.log = []

    def perf_counter(self) -> float:
        return self.now

    def process_time(self) -> float:
        start, stop = self.spin
        return self.cpu + self.spun + max(0.0, min(self.now, stop) - start)

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def fn(self, name, cost, spins=0.0):
        def call():
            slow = any(start <= self.now < stop for start, stop in self.slow_phases)
            switched = bool(self.log) and self.log[-1] != name
            took = cost * (3 if slow else 1) * (2 if self.now < self.spin[1] else 1)
            took = self.first if switched and self.first is not None else took
            self.now += took
            self.cpu += took
            if spins:
                self.spun = self.process_time() - self.cpu
                self.spin = (self.now, self.now + spins)
            self.log.append(name)
        return call


@pytest.fixture
def machine(monkeypatch):
    def make(**kwargs):
        m = Machine(**kwargs)
        for name in ("perf_counter", "process_time", "sleep"):
            monkeypatch.setattr(timing.time, name, getattr(m, name))
        return m
    return make


def _turns(log):
    """The callables' names in the order their runs of consecutive calls came."""
    return [name for i, name in enumerate(log) if i == 0 or log[i - 1] != name]


def test_every_mode_gets_its_samples_and_seconds_in_interleaved_turns(machine):
    m = machine()
    calls = {"a": m.fn("a", 1e-3), "b": m.fn("b", 2e-3), "c": m.fn("c", 5e-3)}
    stats, failures = timing.measure_interleaved(calls, repeat=10, min_seconds=0.5, min_sample_seconds=4e-3,
                                                 rounds=5)
    assert failures == {}
    assert stats["a"]["calls_per_sample"] == 4 and stats["c"]["calls_per_sample"] == 1
    for name, cost in (("a", 1e-3), ("b", 2e-3), ("c", 5e-3)):
        assert stats[name]["median_s"] == pytest.approx(cost)
        assert stats[name]["runs"] >= 10
        assert stats[name]["runs"] * stats[name]["calls_per_sample"] * cost >= 0.5 - 1e-9
    timed_turns = _turns(m.log)[3:]  # after each one's warm-up and calibration
    # five turns each; two may meet across a round's end (the order is shuffled per round)
    assert len(timed_turns) >= 11 and all(timed_turns.count(name) >= 3 for name in calls)


def test_a_slow_phase_falls_on_every_mode_alike(machine):
    """A phase of 80 ms in which every call costs 3x: timed one after the
    other (one round), "a" runs through it and measures 3x what "b" does;
    in five interleaved rounds each mode meets it in two of its five turns,
    and their medians are equal."""
    for rounds, a_over_b in ((1, 3.0), (5, 1.0)):
        m = machine(slow_phases=[(0.004, 0.084)])
        calls = {"a": m.fn("a", 1e-3), "b": m.fn("b", 1e-3)}
        stats, _ = timing.measure_interleaved(calls, repeat=10, min_seconds=0.1, min_sample_seconds=1e-3,
                                              rounds=rounds)
        assert stats["a"]["median_s"] / stats["b"]["median_s"] == pytest.approx(a_over_b)
        assert stats["b"]["median_s"] == pytest.approx(1e-3)


def test_the_warm_up_keeps_the_first_call_after_another_mode_untimed(machine):
    m = machine(first=50e-3)
    calls = {"a": m.fn("a", 1e-3), "b": m.fn("b", 1e-3)}
    cold, _ = timing.measure_interleaved(calls, repeat=4, min_seconds=0, min_sample_seconds=1e-3, rounds=4)
    warm, _ = timing.measure_interleaved(calls, repeat=4, min_seconds=0, min_sample_seconds=1e-3, rounds=4,
                                         warmup_seconds=1e-3)
    assert cold["a"]["max_s"] == pytest.approx(50e-3)
    assert warm["a"]["max_s"] == warm["b"]["max_s"] == pytest.approx(1e-3)


def test_a_turn_waits_until_another_modes_pool_stops_spinning(machine):
    """"blas" leaves a thread spinning for 0.1 s after its calls, which
    halves "ours" while it lasts; waiting for the process to go quiet keeps
    that out of every sample, and the wait ends when the spinning does."""
    for quiet, slowest in ((0.0, 2e-3), (0.5, 1e-3)):
        m = machine()
        calls = {"blas": m.fn("blas", 1e-3, spins=0.1), "ours": m.fn("ours", 1e-3)}
        stats, _ = timing.measure_interleaved(calls, repeat=10, min_seconds=0.1, min_sample_seconds=1e-3,
                                              rounds=5, quiet_seconds=quiet)
        assert stats["ours"]["max_s"] == pytest.approx(slowest)
        assert stats["ours"]["median_s"] == pytest.approx(1e-3) or quiet == 0.0
    assert m.now < 2.0  # each wait ended with the spinning (0.1 s), not at 0.5 s (ten waits: 5 s)


def test_a_mode_that_raises_is_reported_and_the_others_are_timed(machine):
    m = machine()
    calls_left = iter(range(30))  # warm-up, calibration, then 2 per turn

    def breaks_later():
        m.now += 1e-3
        if next(calls_left) == 6:  # in its third turn
            raise RuntimeError("out of luck")
    calls = {"ok": m.fn("ok", 1e-3), "breaks": breaks_later, "never": lambda: 1 / 0}
    stats, failures = timing.measure_interleaved(calls, repeat=10, min_seconds=0, min_sample_seconds=1e-3,
                                                 rounds=5)
    assert set(stats) == {"ok"} and stats["ok"]["runs"] == 10
    assert isinstance(failures["breaks"], RuntimeError) and isinstance(failures["never"], ZeroDivisionError)
