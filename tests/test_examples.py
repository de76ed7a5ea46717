"""The examples and the IR walk-through must keep working as the code under
them changes: each script in examples/ runs as a user would run it (a fresh
interpreter, from the repo root) and prints the lines that show it worked,
and every `jitgrad ir` command in docs/ir_walkthrough.md exits 0 and still
prints the graph signatures the document shows.

Slow examples run with their `--steps` option; one disk cache is shared by
the whole file, so the compiled code of one run can serve the next.
"""
import os
import re
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WALKTHROUGH = os.path.join(REPO, "docs", "ir_walkthrough.md")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("jitgrad-cache"))


def run(argv, cache_dir, **env):
    """Run `python ARGV...` from the repo root; fail with its output if it exits non-zero."""
    environ = {k: v for k, v in os.environ.items() if k != "JITGRAD_DUMP"}
    environ.update(JITGRAD_CACHE_DIR=cache_dir, PYTHONPATH=REPO, **env)
    done = subprocess.run([sys.executable, *argv], cwd=REPO, env=environ, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"python {' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def number_after(prefix, text):
    """The number printed right after `prefix` (e.g. a max difference)."""
    m = re.search(re.escape(prefix) + r"\s*([-+0-9.e]+)", text)
    assert m, f"no line with {prefix!r} in:\n{text}"
    return float(m.group(1))


def test_classifier(cache_dir):
    out = run(["examples/classifier.py", "--steps", "10"], cache_dir).stdout
    assert "step   0: loss eager" in out
    assert number_after("max |loss eager - loss compiled| =", out) < 1e-4
    assert re.search(r"per step: eager [0-9.]+ ms, compiled [0-9.]+ ms \([0-9.]+x\)", out), out


def test_logistic_regression(cache_dir):
    out = run(["examples/logistic_regression.py", "--steps", "20"], cache_dir).stdout
    assert "eager and compiled agree over 20 steps" in out
    assert number_after("max |loss eager - loss compiled| =", out) < 1e-4
    assert number_after("max |param eager - param compiled| =", out) < 1e-4
    assert re.search(r"per step \(median\): eager [0-9.]+ ms, compiled [0-9.]+ ms \([0-9.]+x\)", out), out
    losses = [float(v) for v in re.findall(r"loss eager ([0-9.]+)", out)]
    assert losses[-1] < losses[0], "training must lower the loss"


def test_train(cache_dir):
    out = run(["examples/train.py"], cache_dir).stdout
    assert "step 4: loss eager" in out
    assert number_after("max |param eager - param compiled| =", out) < 1e-5


def test_mlp(cache_dir):
    out = run(["examples/mlp.py"], cache_dir).stdout
    assert number_after("max |compiled - eager| =", out) < 1e-5
    assert "loss:" in out


def doc_sessions(path=WALKTHROUGH):
    """(command, shown output lines) for each `$ ...` line in the document's console blocks."""
    sessions, in_console = [], False
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("```"):
                in_console = line == "```console"
            elif in_console and line.startswith("$ "):
                sessions.append((line[2:], []))
            elif in_console and sessions:
                sessions[-1][1].append(line)
    return sessions


def shown_output(command):
    return next(lines for cmd, lines in doc_sessions() if cmd == command)


def test_ir_walkthrough_example_and_dump(cache_dir, tmp_path):
    """The program the walk-through's JITGRAD_DUMP section runs: its checks
    pass, it logs the recompile, and the dump holds the files the document lists."""
    dump = tmp_path / "ir-dump"
    done = run(["examples/ir_walkthrough.py"], cache_dir, JITGRAD_DUMP=str(dump))
    assert "eager and compiled agree; 2 traces" in done.stdout
    assert "jitgrad.compile: recompiling loss: x.shape[0] 8 -> 12" in done.stderr
    listed = shown_output("ls /tmp/ir-dump")
    assert sorted(os.listdir(dump)) == listed
    log = (dump / "loss.log").read_text().splitlines()
    assert log == shown_output("cat /tmp/ir-dump/loss.log")


JITGRAD_IR = [cmd for cmd, _ in doc_sessions() if cmd.startswith("jitgrad ir")]


def test_walkthrough_shows_every_stage():
    """Guards the parser above: the document's commands were found, one per stage."""
    stages = {m.group(1) for cmd in JITGRAD_IR for m in [re.search(r"--stage (\w+)", cmd)] if m}
    assert stages == {"traced", "optimized", "fused", "joint", "forward", "backward", "llvm"}, JITGRAD_IR


@pytest.mark.parametrize("command", JITGRAD_IR)
def test_walkthrough_command(command, cache_dir):
    """`jitgrad ir ...` (run as `python -m compiler ir ...`, the same entry point)
    exits 0 and prints each `graph` signature line the document shows for it."""
    argv = shlex.split(command)
    out = run(["-m", "compiler", *argv[1:]], cache_dir).stdout
    assert out.strip()
    for line in shown_output(command):
        if line.startswith("graph "):
            assert line in out.splitlines(), f"{command}: the document shows\n{line}\nbut the command printed\n{out}"
