"""Interleaved timing (bench/timing.py) on a simulated clock: calls cost
what the test says, so medians are exact and a machine's slow phase can be
placed where a sequential timing would have blamed one mode for it."""
import pytest

from bench import timing


class Machine:
    """A fake time.perf_counter, and callables that advance it: each call
    costs `cost` seconds, three times that while the clock is in a slow
    phase, and `first` seconds instead when it is the first call after
    another callable ran (a thread pool still spinning, cold caches)."""

    def __init__(self, slow_phases=(), first=None):
        self.now, self.slow_phases, self.first = 0.0, slow_phases, first
        self.log = []

    def __call__(self) -> float:
        return self.now

    def fn(self, name, cost):
        def call():
            slow = any(start <= self.now < stop for start, stop in self.slow_phases)
            switched = bool(self.log) and self.log[-1] != name
            self.now += self.first if switched and self.first is not None else cost * (3 if slow else 1)
            self.log.append(name)
        return call


@pytest.fixture
def machine(monkeypatch):
    def make(**kwargs):
        m = Machine(**kwargs)
        monkeypatch.setattr(timing.time, "perf_counter", m)
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


def test_settling_keeps_the_first_call_after_another_mode_untimed(machine):
    m = machine(first=50e-3)
    calls = {"a": m.fn("a", 1e-3), "b": m.fn("b", 1e-3)}
    unsettled, _ = timing.measure_interleaved(calls, repeat=4, min_seconds=0, min_sample_seconds=1e-3, rounds=4)
    settled, _ = timing.measure_interleaved(calls, repeat=4, min_seconds=0, min_sample_seconds=1e-3, rounds=4,
                                            settle_seconds=1e-3)
    assert unsettled["a"]["max_s"] == pytest.approx(50e-3)
    assert settled["a"]["max_s"] == settled["b"]["max_s"] == pytest.approx(1e-3)


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
