"""The developer's window into the compiler: `jitgrad ir FILE.py:FUNC` and
`JITGRAD_DUMP=DIR`.

The CLI must print each stage as IR text that re-parses (or as DOT), with
every node pointing at the user's file:line, and every kind of bad input
must end in one `jitgrad: error: ...` line on stderr and exit code 2, never
a jitgrad traceback (a user's exception shows the user's frames only).
The dump directory must hold one file per stage per variant, re-parseable,
plus timings and a log of why each variant was compiled.

Most tests call `compiler.cli.main(argv)` in-process (fast, capsys for the
streams); one subprocess each checks the `jitgrad` console script and
`python -m compiler`.
"""
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import frontend as torch
from compiler import cli
from compiler.ir import parse, to_dot, verify
from frontend import creation
from frontend.jit import dump
from tests.test_passes_cleanup import assert_same_results, random_inputs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLP = "examples/mlp.py"
HELP_OPTIONS = ["--arg", "NAME=SPEC", "--inputs", "MAKER", "--stage", "traced", "optimized", "fused", "all",
                "--format", "text", "dot", "-o", "--output", "FILE.py:FUNC", "JITGRAD_DUMP"]


def mlp_line(text):
    """The line number of `text` in examples/mlp.py."""
    with open(os.path.join(REPO, MLP)) as f:
        return next(i for i, line in enumerate(f, 1) if text in line)


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """Run from the repo root; undo what loading a user file does to the process
    (sys.path, sys.modules, the global RNG that examples/mlp.py seeds)."""
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(creation, "_rng", list(creation._rng))
    monkeypatch.delenv("JITGRAD_DUMP", raising=False)
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name in ("mlp", "user_code", "loads_badly"):
            del sys.modules[name]


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sections(text):
    """`// ---- STAGE (N ms) ----` headed parts of an all-stages print."""
    parts = {}
    for chunk in text.split("// ---- ")[1:]:
        header, _, body = chunk.partition("\n")
        parts[header.split(" ")[0]] = body
    return parts


# ---- printing examples/mlp.py ---------------------------------------------------------
def test_all_stages_print_in_order_and_reparse(capsys):
    code, out, err = run(capsys, "ir", f"{MLP}:loss", "--arg", "x=f32[32,784]", "--arg", "y=i64[32]")
    assert (code, err) == (0, "")
    parts = sections(out)
    assert list(parts) == ["traced", "optimized", "fused", "joint", "forward", "backward"]
    graphs = {stage: parse(text) for stage, text in parts.items()}
    joint, forward, backward = graphs.pop("joint"), graphs.pop("forward"), graphs.pop("backward")
    for graph in (joint, forward, backward):
        verify(graph)
    assert joint.output_names == ["out", "grad.x", "grad.W1", "grad.W2", "grad.b1", "grad.b2"]
    assert backward.output_names == joint.output_names[1:]
    assert forward.output_names[0] == "out" and all(n.startswith("saved.") for n in forward.output_names[1:])
    assert [v.name for v in backward.inputs][-1] == "out.grad"
    assert {node.op for node in backward.nodes} <= {"kernel", "matmul", "permute", "reshape", "scatter_add",
                                                    "gather", "iota"}
    for stage, graph in graphs.items():
        verify(graph)
        assert str(graph) == parts[stage].rstrip("\n") + "\n"
        assert [(v.name, str(v.aval.dtype.short), v.aval.shape) for v in graph.inputs] == [
            ("x", "f32", (32, 784)), ("y", "i64", (32,)), ("W1", "f32", (784, 128)), ("W2", "f32", (128, 10)),
            ("b1", "f32", (128,)), ("b2", "f32", (10,))]
        assert [v.aval.shape for v in graph.outputs] == [()]
    assert len(graphs["optimized"].nodes) <= len(graphs["traced"].nodes)


def test_every_node_names_the_user_line_in_examples_mlp(capsys):
    code, out, _ = run(capsys, "ir", f"{MLP}:loss", "--arg", "x=f32[4,784]", "--arg", "y=i64[4]",
                       "--stage", "traced")
    assert code == 0 and "// ----" not in out
    graph = parse(out)
    allowed = {(MLP, mlp_line("hidden = F.gelu"), "logits"), (MLP, mlp_line("return hidden @ W2"), "logits"),
               (MLP, mlp_line("return F.cross_entropy"), "loss")}
    assert {(n.loc.file, n.loc.line, n.loc.function) for n in graph.nodes} == allowed
    first = graph.nodes[0]
    assert (first.op, first.loc.line) == ("matmul", mlp_line("hidden = F.gelu"))


@pytest.mark.parametrize("stage", ["traced", "optimized"])
def test_single_stage_prints_one_graph_without_header(capsys, stage):
    code, out, _ = run(capsys, "ir", f"{MLP}:predict", "--arg", "x=f32[8,784]", "--stage", stage)
    assert code == 0
    assert out.startswith("graph predict(%x: f32[8,784], %W1: f32[784,128]") and out.count("graph ") == 1
    graph = parse(out)
    verify(graph)
    assert graph.outputs[0].aval.shape == (8, 10)


# examples/mlp.py after fusion: layer_norm is 3 kernels (two row sums, then the
# normalization with gelu and the bias-add before it), softmax 3, cross_entropy
# 8 (as in tests/test_passes_fusion.py); matmuls, the gathers (the target check
# and the pick) and their index reshapes and iotas stay outside kernels.
FUSED_MLP = {"predict": "6 kernels (4 with a reduction), 2 matmuls, 0 other ops",
             "loss": "11 kernels (6 with a reduction), 2 matmuls, 5 other ops (gather, iota, reshape)"}


@pytest.mark.parametrize("func", sorted(FUSED_MLP))
def test_fused_stage_prints_kernels_and_computes_what_the_optimized_graph_does(capsys, func):
    args = ["--arg", "x=f32[8,784]"] + (["--arg", "y=i64[8]"] if func == "loss" else [])
    code, out, err = run(capsys, "ir", f"{MLP}:{func}", *args, "--stage", "fused")
    assert (code, err) == (0, "")
    assert out.startswith(f"// {FUSED_MLP[func]}\n// memory: peak ")
    assert f"\ngraph {func}(" in out
    fused = verify(parse(out))
    assert str(fused) == out and fused.notes[0] == FUSED_MLP[func] and fused.notes[1].startswith("memory: peak")
    kernels = [n for n in fused.nodes if n.op == "kernel"]
    assert all(n.op != "matmul" for k in kernels for n in k.attrs["body"].nodes)
    assert f"\nkernel k{len(kernels) - 1}(%in0: " in out
    _, optimized, _ = run(capsys, "ir", f"{MLP}:{func}", *args, "--stage", "optimized")
    for seed in range(2):  # bit for bit, on the reference interpreter; class targets must be in range
        arrays = [np.abs(a) if a.dtype.kind == "i" else a for a in random_inputs(fused, seed)]
        assert_same_results(parse(optimized), fused, seed, arrays)


def test_dot_format_and_output_file(capsys, tmp_path):
    target = tmp_path / "predict.dot"
    code, out, err = run(capsys, "ir", f"{MLP}:predict", "--arg", "x=f32[8,784]", "--format", "dot",
                         "--stage", "optimized", "-o", str(target))
    assert (code, out, err) == (0, "", "")
    text = target.read_text()
    assert text.startswith('digraph "predict" {') and text.rstrip().endswith("}")
    assert '"%x" [shape=ellipse, label="%x input\\nf32[8,784]"];' in text
    assert f"{MLP}:{mlp_line('hidden = F.gelu')} in logits" in text
    code, out, _ = run(capsys, "ir", f"{MLP}:predict", "--arg", "x=f32[8,784]", "--stage", "optimized")
    assert to_dot(parse(out)) == text


def test_text_output_file_equals_stdout(capsys, tmp_path):
    target = tmp_path / "loss.ir"
    argv = ["ir", f"{MLP}:loss", "--arg", "x=f32[2,784]", "--arg", "y=i64[2]", "--stage", "optimized"]
    code, printed, _ = run(capsys, *argv)
    assert run(capsys, *argv, "--output", str(target)) == (0, "", "")
    assert target.read_text() == printed and code == 0


def test_inputs_maker_supplies_the_arguments(capsys):
    code, out, err = run(capsys, "ir", f"{MLP}:loss", "--inputs", "example_inputs", "--stage", "traced")
    assert (code, err) == (0, "")
    assert out.startswith("graph loss(%x: f32[32,784], %y: i64[32], %W1: f32[784,128]")


def test_inputs_maker_may_return_a_dict_or_one_tensor(capsys, tmp_path):
    user = tmp_path / "user_code.py"
    user.write_text(textwrap.dedent("""\
        import frontend as torch

        def scale(x, factor=2.0):
            return x * factor

        def as_dict():
            return {"x": torch.ones(3, 2)}

        def one():
            return torch.ones(5)
        """))
    for maker, shape in (("as_dict", "f32[3,2]"), ("one", "f32[5]")):
        code, out, err = run(capsys, "ir", f"{user}:scale", "--inputs", maker, "--stage", "traced")
        assert (code, err) == (0, "") and out.startswith(f"graph scale(%x: {shape})")
        assert "value=2.0" in out  # the default argument


def test_every_stage_prints_when_the_weights_require_grad(capsys, tmp_path):
    """Outputs that require grad are lowered as joint/forward/backward; the
    CLI still shows the optimized and fused inference graphs."""
    user = tmp_path / "trained.py"
    user.write_text(textwrap.dedent("""\
        import frontend as torch

        W = torch.ones(3, 2, requires_grad=True)

        def predict(x):
            return (x @ W).tanh()
        """))
    code, out, err = run(capsys, "ir", f"{user}:predict", "--arg", "x=f32[4,3]")
    assert (code, err) == (0, "")
    for stage in ("traced", "optimized", "fused", "joint", "forward", "backward"):
        assert f"// ---- {stage} (" in out


def test_help_mentions_every_option_and_has_examples(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["ir", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in HELP_OPTIONS:
        assert option in text, option
    assert "examples:" in text and text.count("jitgrad ir examples/mlp.py:") >= 3
    for dtype in ("f32", "f64", "i32", "i64", "bool"):
        assert dtype in text
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "ir" in capsys.readouterr().out


# ---- bad input: one line, exit 2 ----------------------------------------------------------
BAD = [
    ("unknown-stage", ["ir", f"{MLP}:predict", "--arg", "x=f32[8,784]", "--stage", "lowered"], "'lowered'"),
    ("unknown-format", ["ir", f"{MLP}:predict", "--arg", "x=f32[8,784]", "--format", "svg"], "'svg'"),
    ("malformed-spec", ["ir", f"{MLP}:predict", "--arg", "x=f32(8,784)"], "expected DTYPE[D0,D1,...]"),
    ("unknown-dtype", ["ir", f"{MLP}:predict", "--arg", "x=f16[8,784]"], "unknown dtype 'f16'"),
    ("spec-without-name", ["ir", f"{MLP}:predict", "--arg", "f32[8,784]"], "expected NAME=SPEC"),
    ("missing-file", ["ir", "no/such/file.py:f", "--arg", "x=f32[2]"], "no such file: no/such/file.py"),
    ("target-without-function", ["ir", MLP, "--arg", "x=f32[2]"], "expected FILE.py:FUNC"),
    ("missing-function", ["ir", f"{MLP}:nothere", "--arg", "x=f32[2]"], "has no function 'nothere'"),
    ("not-a-function", ["ir", f"{MLP}:W1"], "is a Tensor, not a function"),
    ("unknown-parameter", ["ir", f"{MLP}:predict", "--arg", "z=f32[2]"], "predict has no parameter 'z'"),
    ("missing-argument", ["ir", f"{MLP}:loss", "--arg", "x=f32[2,784]"], "missing --arg for parameter 'y'"),
    ("both-input-kinds", ["ir", f"{MLP}:loss", "--inputs", "example_inputs", "--arg", "x=f32[1]"],
     "either --arg specs or --inputs"),
    ("missing-maker", ["ir", f"{MLP}:loss", "--inputs", "nothere"], "has no function 'nothere'"),
    ("no-command", [], "missing COMMAND"),
    ("no-target", ["ir"], "FILE.py:FUNC"),
    ("shape-mismatch-while-tracing", ["ir", f"{MLP}:predict", "--arg", "x=f32[8,100]"], "predict raised while"),
]


def assert_one_error_line(err, fragment):
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("jitgrad: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    assert fragment in errors[0], err
    return lines


@pytest.mark.parametrize("argv, fragment", [pytest.param(a, f, id=i) for i, a, f in BAD])
def test_bad_input_is_one_error_line_and_exit_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    lines = assert_one_error_line(err, fragment)
    if "raised while" not in fragment:
        assert len(lines) == 1
    assert "Traceback (most recent call last)" not in err


USER_CODE = """\
import frontend as torch


def helper(x):
    return x.reshape(7, 7)


def raises(x):
    return helper(x) + 1


def breaks(x):
    if x.sum() > 0:
        return x
    return -x
"""


def test_function_raising_while_tracing_shows_only_the_users_frames(capsys, tmp_path):
    user = tmp_path / "user_code.py"
    user.write_text(USER_CODE)
    code, out, err = run(capsys, "ir", f"{user}:raises", "--arg", "x=f32[2,3]")
    assert (code, out) == (2, "")
    lines = assert_one_error_line(err, "raises raised while tracing: RuntimeError: shape '[7, 7]' is invalid")
    assert lines[0] == "Traceback (your code):"
    assert f'File "{user}", line 9, in raises' in err and f'File "{user}", line 5, in helper' in err
    for internal in ("frontend", "compiler"):
        assert os.path.join(REPO, internal) not in err


def test_graph_break_names_the_users_line(capsys, tmp_path):
    user = tmp_path / "user_code.py"
    user.write_text(USER_CODE)
    code, out, err = run(capsys, "ir", f"{user}:breaks", "--arg", "x=f32[3]")
    assert (code, out) == (2, "")
    (line,) = assert_one_error_line(err, f"cannot trace breaks: {user}:13 in breaks: bool()")


def test_file_raising_while_loading_is_an_error(capsys, tmp_path):
    user = tmp_path / "loads_badly.py"
    user.write_text("import frontend\n\nraise ValueError('no weights here')\n")
    code, out, err = run(capsys, "ir", f"{user}:f", "--arg", "x=f32[3]")
    assert (code, out) == (2, "")
    assert_one_error_line(err, "raised while loading: ValueError: no weights here")


# ---- the console script and python -m compiler (the two subprocess tests) ---------------------------
def test_console_script_prints_the_optimized_graph():
    done = subprocess.run(["jitgrad", "ir", f"{MLP}:predict", "--arg", "x=f32[2,784]", "--stage", "optimized"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")
    assert parse(done.stdout).outputs[0].aval.shape == (2, 10)


def test_python_dash_m_compiler_reports_errors_with_exit_2():
    done = subprocess.run([sys.executable, "-m", "compiler", "ir", f"{MLP}:predict", "--stage", "llvm"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("jitgrad: error:") and done.stderr.count("\n") == 1


# ---- JITGRAD_DUMP ---------------------------------------------------------------------------
@pytest.fixture
def dump_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(dump, "_names", {})
    monkeypatch.setenv("JITGRAD_DUMP", str(tmp_path / "dump"))
    return tmp_path / "dump"


def test_dump_writes_each_stage_of_each_variant(dump_dir):
    @torch.compile
    def dumped_step(x):
        return (x * 2).sum(0) + (x * 2).sum(0)

    dumped_step(torch.ones(4, 3))
    dumped_step(torch.ones(4, 3))  # cache hit: nothing new
    dumped_step(torch.ones(6, 3))
    dumped_step(torch.ones(6, 3, dtype=torch.float64))
    names = sorted(os.listdir(dump_dir))
    assert names == sorted([f"dumped_step.{n}.{suffix}" for n in (1, 2, 3)
                            for suffix in ("00-traced.ir", "01-optimized.ir", "02-fused.ir", "llvm.ll", "timings.txt")]
                           + ["dumped_step.log"])
    assert (dump_dir / "dumped_step.log").read_text().splitlines() == [
        "variant 1: compiled dumped_step: first call",
        "variant 2: recompiling dumped_step: x.shape[0] 4 -> 6",
        f"variant 3: recompiling dumped_step: x.dtype {torch.float32} -> {torch.float64}"]
    for n, variant in enumerate(dumped_step.cache.values(), 1):
        for stage, suffix in (("traced", "00-traced"), ("optimized", "01-optimized")):
            text = (dump_dir / f"dumped_step.{n}.{suffix}.ir").read_text()
            assert text == str(variant.lowered.stages[stage])
            assert parse(text) == variant.lowered.stages[stage]
        assert "define" in (dump_dir / f"dumped_step.{n}.llvm.ll").read_text()
        timings = (dump_dir / f"dumped_step.{n}.timings.txt").read_text().splitlines()
        assert [line.split()[0] for line in timings] == ["traced", "optimized", "fused", "llvm"]
        assert all(line.endswith(" ms") for line in timings)
    second = (dump_dir / "dumped_step.2.00-traced.ir").read_text()
    assert second.startswith("// dumped_step variant 2: x.shape[0] 4 -> 6\ngraph dumped_step(%x: f32[6,3])")


def test_dump_separates_same_named_functions_and_appends_to_the_log(dump_dir):
    def make():
        @torch.compile
        def twin(x):
            return x + 1
        return twin

    first, second = make(), make()
    first(torch.ones(2))
    second(torch.ones(2))
    second(torch.ones(3))
    assert sorted(p for p in os.listdir(dump_dir) if p.endswith(".log")) == ["twin-2.log", "twin.log"]
    assert len((dump_dir / "twin-2.log").read_text().splitlines()) == 2
    assert os.path.exists(dump_dir / "twin-2.2.01-optimized.ir")


def test_no_dump_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.compile(lambda x: x * 3)(torch.ones(2))
    assert os.listdir(tmp_path) == []


def test_llvm_stage_prints_the_optimized_module_with_vector_loops(capsys):
    code, out, _ = run(capsys, "ir", f"{MLP}:predict", "--arg", "x=f32[8,784]", "--stage", "llvm")
    assert code == 0
    assert re.search(r"define .*i32 @jitgrad_entry\(ptr", out) and 'target triple = "' in out
    assert re.search(r"<\d+ x float>", out), "the fused kernels' loops should be vectorized"
    assert not re.search(r"@llvm\.exp\.|@expf\b", out)  # exp is our polynomial, not libm's


def test_asm_stage_prints_host_assembly(capsys):
    code, out, _ = run(capsys, "ir", f"{MLP}:predict", "--arg", "x=f32[8,784]", "--stage", "asm")
    assert code == 0
    assert "jitgrad_entry:" in out and "ret" in out


def test_code_stages_refuse_dot_format(capsys):
    code, _, err = run(capsys, "ir", f"{MLP}:predict", "--arg", "x=f32[8,784]", "--stage", "llvm", "--format", "dot")
    assert code == 2 and "--format dot is for graph stages" in err


def test_dump_writes_the_llvm_ir_of_a_compiled_forward_and_backward(dump_dir):
    @torch.compile
    def trained(w, x):
        return (x @ w).tanh().sum()

    trained(torch.randn(3, 2, requires_grad=True), torch.randn(4, 3)).backward()
    forward = (dump_dir / "trained.1.llvm.ll").read_text()
    backward = (dump_dir / "trained.1.llvm-backward.ll").read_text()
    assert "@jitgrad_entry" in forward and "@jitgrad_entry" in backward and forward != backward
