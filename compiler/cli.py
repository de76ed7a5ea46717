"""The `jitgrad` command: `jitgrad ir FILE.py:FUNC` prints a function's IR at
each stage of the pipeline. It traces user code, so (with `__main__.py`) it
is the one part of `compiler` that imports `frontend`."""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import re
import sys
import traceback

from . import dtypes
from .ir import parse_aval, to_dot
from .passes import plan_memory
from .passes.fusion import kernel_summary

# joint/forward/backward: the calls that need gradients (the optimized joint
# graph, then its min-cut halves as they run, fused). llvm/asm: the fused
# graph's native code (LLVM IR after O3, host assembly); `all` leaves them out.
STAGES = ("traced", "optimized", "fused", "joint", "forward", "backward")
TRAINING_STAGES = ("joint", "forward", "backward")
CODE_STAGES = ("llvm", "asm")

EXAMPLES = """\
examples:
  jitgrad ir examples/mlp.py:loss --arg x=f32[32,784] --arg y=i64[32]
      print the traced and the optimized IR of loss(x, y)
  jitgrad ir examples/mlp.py:loss --inputs example_inputs --stage traced
      trace with the arguments example_inputs() in that file returns
  jitgrad ir examples/mlp.py:predict --arg x=f32[32,784] --stage fused
      the optimized graph with its ops grouped into kernels, and how many
  jitgrad ir examples/mlp.py:loss --arg x=f32[32,784] --arg y=i64[32] --stage joint --wrt W1 --wrt b1
      the joint forward+backward graph: gradients of loss with respect to W1 and b1
  jitgrad ir examples/mlp.py:loss --arg x=f32[32,784] --arg y=i64[32] --stage backward
      the compiled backward: what the forward saves (min cut), recomputed values, kernels
  jitgrad ir examples/mlp.py:predict --arg x=f32[32,784] --stage llvm
      the fused graph's LLVM IR after O3 for this CPU (--stage asm: its assembly)
  jitgrad ir examples/mlp.py:predict --arg x=f32[8,784] --format dot -o predict.dot
      write Graphviz DOT (render with `dot -Tsvg predict.dot`)

shape specs: DTYPE[D0,D1,...] with DTYPE one of %s; f32[] is a 0-d tensor.
Arguments not given keep their Python defaults. Set JITGRAD_DUMP=DIR while a
program runs to write every stage of every compiled function into DIR.
""" % ", ".join(dtypes.BY_SHORT)


class UsageError(Exception):
    """A one-line problem with the command line or the user's program."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jitgrad", description="jitgrad developer tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    ir = commands.add_parser(
        "ir", help="print a function's IR at each pipeline stage",
        description="Trace FUNC from FILE with example inputs and print its IR at each stage. "
                    "Every node shows the file:line of the user code that created it.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ir.add_argument("target", metavar="FILE.py:FUNC", help="the Python file and the function in it")
    ir.add_argument("--arg", action="append", default=[], metavar="NAME=SPEC",
                    help="an argument of FUNC given by shape and dtype, e.g. x=f32[32,784] (repeatable)")
    ir.add_argument("--inputs", metavar="MAKER",
                    help="a function in FILE returning example arguments: a tuple (positional), "
                         "a dict (keyword) or one tensor")
    ir.add_argument("--stage", default="all", choices=STAGES + CODE_STAGES + ("all",),
                    help="which stage to print (default: all, in pipeline order)")
    ir.add_argument("--wrt", action="append", default=[], metavar="NAME",
                    help="the joint/forward/backward stages differentiate with respect to these graph inputs "
                         "(repeatable; default: every floating-point input)")
    ir.add_argument("--format", default="text", choices=("text", "dot"), help="IR text or Graphviz DOT")
    ir.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output")
    return parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("missing COMMAND; try `jitgrad ir --help`")
        text = run_ir(args)
    except UsageError as e:
        print(f"jitgrad: error: {e}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def run_ir(args) -> str:
    from frontend.jit import CompiledFunction, GraphBreak, compile

    path, func_name = _split_target(args.target)
    module = _load(path)
    fn = _attribute(module, func_name, path)
    compiled = fn if isinstance(fn, CompiledFunction) else compile(fn)
    call_args, call_kwargs = _inputs(args, module, compiled, path)
    try:
        lowered = compiled.lower(*call_args, **call_kwargs)
    except GraphBreak as e:
        raise UsageError(f"cannot trace {func_name}: {e}") from None
    except Exception as e:  # the user's code raised while tracing
        _print_user_traceback(e)
        raise UsageError(f"{func_name} raised while tracing: {type(e).__name__}: {e}") from None
    if "optimized" not in lowered.stages:  # outputs that require grad were lowered as joint/forward/backward
        _add_optimized(lowered)
    stages = STAGES if args.stage == "all" else (args.stage,)
    if set(stages) & set(TRAINING_STAGES):
        _add_backward(lowered, args.wrt)
    if set(stages) & {"fused", *CODE_STAGES} and "fused" not in lowered.stages:
        _add_fused(lowered)
    if stages[0] in CODE_STAGES:
        if args.format == "dot":
            raise UsageError(f"--stage {stages[0]} prints text; --format dot is for graph stages")
        from .backend import native

        return (native.llvm_ir if stages[0] == "llvm" else native.assembly)(lowered.stages["fused"])
    parts = []
    for stage in stages:
        graph = lowered.stages[stage]
        if args.format == "dot":
            parts.append(to_dot(graph))
        else:
            header = f"// ---- {stage} ({lowered.timings.get(stage, 0.0) * 1e3:.2f} ms) ----\n"
            summary = f"// {kernel_summary(graph)}\n// {plan_memory(graph).summary()}\n" \
                if stage in ("fused", "forward", "backward") else ""
            parts.append((header if len(stages) > 1 else "") + summary + str(graph))
    return "\n".join(parts)


def _add_optimized(lowered):
    import time

    from .passes import run_pipeline

    start = time.perf_counter()
    lowered.stages["optimized"] = run_pipeline(lowered.stages["traced"])
    lowered.timings["optimized"] = time.perf_counter() - start


def _add_fused(lowered):
    import time

    from .passes import run_pipeline
    from .passes.pipeline import FUSE

    start = time.perf_counter()
    lowered.stages["fused"] = run_pipeline(lowered.stages["optimized"], FUSE)
    lowered.timings["fused"] = time.perf_counter() - start


def _add_backward(lowered, wrt_names):
    import time

    from .passes import run_pipeline
    from .passes.autodiff import backward_graph
    from .passes.pipeline import training_graphs

    forward = lowered.stages["optimized"]
    names = [v.name for v in forward.inputs]
    unknown = [n for n in wrt_names if n not in names]
    if unknown:
        raise UsageError(f"--wrt {unknown[0]}: not an input of the graph (inputs: {', '.join(names)})")
    wrt = [i for i, v in enumerate(forward.inputs)
           if (v.name in wrt_names if wrt_names else v.dtype.is_floating_point)]
    start = time.perf_counter()
    try:
        joint = run_pipeline(backward_graph(forward, wrt))
    except TypeError as e:
        raise UsageError(str(e)) from None
    lowered.stages["joint"] = joint
    lowered.timings["joint"] = time.perf_counter() - start
    start = time.perf_counter()
    split = training_graphs(joint, len(forward.inputs), len(forward.outputs))
    lowered.stages["forward"], lowered.stages["backward"] = split.forward, split.backward
    lowered.timings["forward"] = lowered.timings["backward"] = (time.perf_counter() - start) / 2


def _split_target(target):
    path, sep, func = target.rpartition(":")
    if not sep or not path or not func:
        raise UsageError(f"expected FILE.py:FUNC, got {target!r}")
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    return path, func


def _load(path):
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        _print_user_traceback(e)
        raise UsageError(f"{path} raised while loading: {type(e).__name__}: {e}") from None
    return module


def _attribute(module, dotted, path):
    obj = module
    for part in dotted.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{path} has no function {dotted!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"{path}:{dotted} is a {type(obj).__name__}, not a function")
    return obj


def parse_spec(name, spec):
    """`f32[32,784]` -> a zero tensor of that shape and dtype."""
    import numpy as np

    from frontend import from_numpy

    m = re.fullmatch(r"\s*(\w+)\[([\d,\s]*)\]\s*", spec)
    if not m:
        raise UsageError(f"--arg {name}={spec}: expected DTYPE[D0,D1,...] such as f32[32,784]")
    try:
        aval = parse_aval(m.group(1), m.group(2))
    except ValueError as e:
        raise UsageError(f"--arg {name}={spec}: {e}") from None
    return from_numpy(np.zeros(aval.shape, aval.dtype.np))


def _inputs(args, module, compiled, path):
    if args.inputs:
        if args.arg:
            raise UsageError("give either --arg specs or --inputs, not both")
        made = _attribute(module, args.inputs, path)()
        if isinstance(made, dict):
            return (), made
        return (tuple(made) if isinstance(made, (tuple, list)) else (made,)), {}
    given = {}
    for item in args.arg:
        name, sep, spec = item.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"--arg {item!r}: expected NAME=SPEC such as x=f32[32,784]")
        given[name] = parse_spec(name, spec)
    params = inspect.signature(compiled.fn).parameters
    unknown = set(given) - set(params)
    if unknown:
        raise UsageError(f"{compiled.name} has no parameter {sorted(unknown)[0]!r} "
                         f"(parameters: {', '.join(params)})")
    missing = [p.name for p in params.values()
               if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in given]
    if missing:
        raise UsageError(f"missing --arg for parameter {missing[0]!r} of {compiled.name}")
    return (), given


def _print_user_traceback(exc):
    """The traceback without jitgrad's frames: the user's lines only."""
    from frontend.jit.trace_state import is_internal_file

    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not is_internal_file(f.filename) and not f.filename.startswith("<frozen")]
    if frames:
        print("Traceback (your code):", file=sys.stderr)
        print("".join(traceback.format_list(frames)).rstrip(), file=sys.stderr)
