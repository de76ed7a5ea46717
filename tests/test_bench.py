"""The benchmark harness: a real run on the tiny workload, and fake
workloads (fast, and with known answers) for agreement, failures, skipped
systems and the plot."""
import json
import sys

import numpy as np
import pytest

import bench.__main__ as cli
from bench.agreement import compare
from bench.timing import summarize
from bench.workload import Case, Workload


def _fake(name, builders, check_calls=1):
    data = lambda: {"x": np.arange(6, dtype=np.float32)}  # noqa: E731
    return Workload(name, "a fake workload for the tests", data, builders, quick=True, check_calls=check_calls)


def _ours_eager(data):
    import frontend
    x = frontend.from_numpy(data["x"])
    return Case(lambda: x * 2)


def _numpy_times_two(data):
    return Case(lambda: data["x"] * 2)


@pytest.fixture
def fake_workloads(monkeypatch):
    def install(*workloads):
        monkeypatch.setattr(cli, "WORKLOADS", list(workloads))
    return install


def _run(tmp_path, *argv):
    out = tmp_path / "out.json"
    code = cli.main([*argv, "--repeat", "2", "--json", str(out)])
    return code, json.loads(out.read_text())


def test_tiny_call_run_writes_every_field(tmp_path, capsys):
    code, report = _run(tmp_path, "--workload", "tiny_call", "--mode", "ours-compiled", "--mode", "numpy",
                        "--mode", "torch-eager")
    assert code == 0
    machine = report["machine"]
    assert machine["cpu"] and machine["cpu_count"] >= 1 and machine["python"]
    assert machine["versions"]["numpy"] == np.__version__
    rows = {r["mode"]: r for r in report["results"]}
    assert {"ours-eager", "ours-compiled", "numpy"} <= set(rows)
    for row in rows.values():
        assert row["status"] == "ok" and row["workload"] == "tiny_call"
        assert row["q1_s"] <= row["median_s"] <= row["q3_s"] and row["runs"] >= 2
        assert row["max_abs_error"] == 0.0  # x*2+1 on small integers is exact everywhere
        assert row["speedup_vs_eager"] == pytest.approx(rows["ours-eager"]["median_s"] / row["median_s"])
    assert rows["numpy"]["speedup_vs_best_other"] <= 1.0 or rows["numpy"]["best_other_mode"] == "numpy"
    assert rows["ours-compiled"]["peak_bytes"] >= 0 and rows["numpy"]["peak_bytes"] >= 0
    compile_time = rows["ours-compiled"]["compile"]
    assert compile_time["cold_s"] > 0 and compile_time["warm_s"] > 0
    if "torch-eager" in rows:
        assert rows["torch-eager"]["peak_bytes"] is None  # torch allocates outside tracemalloc's view
    table = capsys.readouterr().out
    assert "tiny_call" in table and "machine:" in table and "ours-compiled" in table


def test_a_disagreeing_mode_is_reported_not_timed_and_fails_the_run(tmp_path, capsys, fake_workloads):
    off_by_one = lambda data: Case(lambda: data["x"] * 2 + 1)  # noqa: E731
    fake_workloads(_fake("fake", {"ours-eager": _ours_eager, "numpy": off_by_one}))
    code, report = _run(tmp_path, "--workload", "fake", "--mode", "numpy")
    assert code != 0
    row = next(r for r in report["results"] if r["mode"] == "numpy")
    assert row["status"] == "disagrees" and row["max_abs_error"] == 1.0
    assert "median_s" not in row and "speedup_vs_eager" not in row
    assert "disagrees: max err 1.00e+00" in capsys.readouterr().out


def test_training_state_is_compared_after_the_check_calls(tmp_path, fake_workloads):
    """Same outputs, but parameters that drift on the third step: the run must fail."""
    def drifting(data):
        steps = []
        return Case(lambda: steps.append(1) or data["x"] * 2,
                    state=lambda: [np.float32(len(steps) > 2)])
    steady = lambda data: Case(lambda: data["x"] * 2, state=lambda: [np.float32(0)])  # noqa: E731
    fake_workloads(_fake("fake", {"ours-eager": steady, "numpy": drifting}, check_calls=3))
    code, report = _run(tmp_path, "--workload", "fake", "--mode", "numpy")
    assert code != 0 and report["results"][1]["status"] == "disagrees"


def test_a_failing_mode_is_reported_and_the_others_still_run(tmp_path, capsys, fake_workloads):
    def broken(data):
        raise RuntimeError("this mode cannot be built")
    fake_workloads(_fake("fake", {"ours-eager": _ours_eager, "ours-compiled": broken, "numpy": _numpy_times_two}))
    code, report = _run(tmp_path, "--workload", "fake", "--mode", "ours-compiled", "--mode", "numpy")
    rows = {r["mode"]: r for r in report["results"]}
    assert code != 0 and rows["ours-compiled"]["status"] == "failed"
    assert "this mode cannot be built" in rows["ours-compiled"]["error"]
    assert rows["numpy"]["status"] == "ok"
    assert "failed: RuntimeError: this mode cannot be built" in capsys.readouterr().out


def test_a_mode_failing_while_timed_is_reported_and_the_others_keep_their_figures(tmp_path, fake_workloads):
    def breaks_after_its_check(data):
        calls = iter(range(10**9))

        def call():
            if next(calls) >= 1:  # the agreement check's call passes; timing's calls raise
                raise RuntimeError("worn out")
            return data["x"] * 2
        return Case(call)
    fake_workloads(_fake("fake", {"ours-eager": _ours_eager, "numpy": breaks_after_its_check}))
    code, report = _run(tmp_path, "--workload", "fake", "--mode", "numpy")
    rows = {r["mode"]: r for r in report["results"]}
    assert code != 0 and rows["numpy"]["status"] == "failed" and "worn out" in rows["numpy"]["error"]
    assert rows["ours-eager"]["status"] == "ok" and rows["ours-eager"]["runs"] >= 2
    assert len(rows["ours-eager"]["timeline"]) == rows["ours-eager"]["runs"]


def test_missing_torch_and_jax_are_skipped_with_a_note(tmp_path, capsys, monkeypatch, fake_workloads):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    monkeypatch.setitem(sys.modules, "jax", None)
    fake_workloads(_fake("fake", {"ours-eager": _ours_eager, "numpy": _numpy_times_two}))
    code, report = _run(tmp_path, "--workload", "fake", "--mode", "numpy", "--mode", "torch-compile",
                        "--mode", "jax-jit")
    assert code == 0
    assert [r["mode"] for r in report["results"]] == ["ours-eager", "numpy"]
    err = capsys.readouterr().err
    assert "torch is not installed: skipping torch-compile" in err
    assert "jax is not installed: skipping jax-jit" in err
    assert report["machine"]["versions"]["torch"] is None


def test_plot_without_matplotlib_says_so_and_the_run_succeeds(tmp_path, capsys, monkeypatch, fake_workloads):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    fake_workloads(_fake("fake", {"ours-eager": _ours_eager, "numpy": _numpy_times_two}))
    png = tmp_path / "speedups.png"
    code, _ = _run(tmp_path, "--workload", "fake", "--mode", "numpy", "--plot", str(png))
    assert code == 0 and not png.exists()
    assert "--plot needs matplotlib" in capsys.readouterr().err


def test_plot_with_matplotlib_writes_a_png(tmp_path, fake_workloads):
    pytest.importorskip("matplotlib")
    fake_workloads(_fake("fake", {"ours-eager": _ours_eager, "numpy": _numpy_times_two}))
    png = tmp_path / "speedups.png"
    code, _ = _run(tmp_path, "--workload", "fake", "--mode", "numpy", "--plot", str(png))
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_help_names_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for option in ("--quick", "--workload", "--mode", "--repeat", "--json", "--plot", "tiny_call", "jax-jit"):
        assert option in text


def test_tolerance_follows_the_dtype():
    one_ulp = np.float32(1) + np.finfo(np.float32).eps
    assert compare([np.array([one_ulp])], [np.array([1], np.float32)], ulps=4).agrees
    assert not compare([np.array([1.001], np.float32)], [np.array([1], np.float32)], ulps=4).agrees
    assert compare([np.array([1 + 1e-15])], [np.array([1.0])], ulps=64).agrees
    assert not compare([np.array([1 + 1e-9])], [np.array([1.0])], ulps=64).agrees  # fine in float32, not float64
    assert not compare([np.array([2])], [np.array([1])], ulps=1e9).agrees  # integers must match exactly
    assert not compare([np.zeros(3, np.float32)], [np.zeros(4, np.float32)], ulps=4).agrees


def test_spread_is_the_interquartile_range():
    stats = summarize([5.0, 1.0, 3.0, 2.0, 4.0], number=7)
    assert (stats["median_s"], stats["q1_s"], stats["q3_s"]) == (3.0, 2.0, 4.0)
    assert (stats["min_s"], stats["max_s"], stats["runs"], stats["calls_per_sample"]) == (1.0, 5.0, 5, 7)


def test_a_result_of_the_wrong_shape_disagrees_and_the_json_stays_strict(tmp_path, fake_workloads):
    """Its error is infinite; strict JSON has no Infinity, so it is written as a string."""
    wrong_shape = lambda data: Case(lambda: data["x"][:3] * 2)  # noqa: E731
    fake_workloads(_fake("fake", {"ours-eager": _ours_eager, "numpy": wrong_shape}))
    code, report = _run(tmp_path, "--workload", "fake", "--mode", "numpy")
    row = report["results"][1]
    assert code != 0 and row["status"] == "disagrees" and row["max_abs_error"] == "inf"
    assert "shape (3,)" in row["reason"]


def test_compile_times_are_medians_of_fresh_cache_directories(monkeypatch):
    """Each cold probe gets an empty directory of its own; each warm probe
    follows in the directory its cold probe filled."""
    from bench import compile_time
    seen, times = [], iter([0.5, 0.01, 0.2, 0.03, 0.3, 0.02])
    monkeypatch.setattr(compile_time, "_probe", lambda name, cache_dir: seen.append(cache_dir) or next(times))
    result = compile_time.ours_cold_and_warm("tiny_call", samples=3)
    assert result["cold_s"] == 0.3 and result["warm_s"] == 0.02
    assert result["cold_samples_s"] == [0.5, 0.2, 0.3] and result["warm_samples_s"] == [0.01, 0.03, 0.02]
    assert seen[0] == seen[1] and seen[2] == seen[3] and len({seen[0], seen[2], seen[4]}) == 3
