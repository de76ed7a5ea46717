"""A whole graph as LLVM modules with one exported entry.

`lower(graph)` decides where every value lives (graph inputs and outputs
in the caller's arrays, intermediates at the memory plan's offsets in one
arena, views as layouts over their base's buffer), emits one function per
step (a kernel's loop nest, a matmul, a gather, a copy where a view cannot
be read in place) and an entry `i32 jitgrad_entry(ptr args)` that runs
the steps in order. A kernel or matmul step worth more than waking other
cores costs (see `_tasks`) is split into tasks over slices of its outermost
loop, which the entry hands to the thread pool (library.PARALLEL_FOR) with
the step's pointers in a stack array; a task's result does not depend on
how many threads run it. `args` is the runtime's argument array:

    [input 0, ..., output buffer 0, ..., arena, error record]

An output the caller will copy into an input's memory anyway (an in-place
update such as an optimizer step, named in `lower`'s `donated`) may be
computed there instead, where that is safe (`_in_place`): the runtime then
passes the input's address as that output's buffer. The graph treats its
inputs as distinct memory, which an input written in place must be: the
entry first checks that each such input overlaps no other input, and
returns INPUTS_OVERLAP - i for the first input i that does, before any step.

LLVM compiles one module on one thread, and a training step's module took
it ~0.25 s. So a graph of many steps is lowered into up to `max_parts`
modules (`_part_count`): the first holds the entry, each step goes to the
module with the least code so far, and one in another module is called
through an external wrapper there (`<step>_run`, or its task), so the step
itself stays internal and IPSCCP still folds its constant range in. The
runtime loads the parts into one engine, but MCJIT does not resolve the
GOT relocations of calls between objects, so the entry calls the wrappers
through pointers the runtime puts in its argument array after the imports
(the manifest's `links`). native.py compiles the parts at once.

A brief graph, whose entry is called holding the GIL, also gets that entry
as a C function Python calls directly (python_entry.py).

The `Manifest` says the same in plain data for the runtime, which loads
the object code without knowing anything about the compiler.
"""
from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import llvmlite.ir as ir

from ..ir.graph import Graph
from ..ir.kernel import KERNEL_OP
from ..ops.movement import padded_region
from ..ops.registry import ELEMENTWISE, Aval, Group
from ..passes.memory import align_up, plan_memory, value_bytes
from . import gemm, indexing, library, parallel, scalar_ops, types
from .kernels import body_cost, emit_kernel
from .layout import Layout, view_of
from .loops import const
from .python_entry import emit_python_entry

ENTRY = "jitgrad_entry"
ALIGNMENT = 64
I32 = ir.IntType(32)
INPUTS_OVERLAP = -1  # the entry's status, less i, when input i is written in place and overlaps another
CHECKED_OPS = ("gather", "scatter_add")  # steps that can fail (an index out of bounds)
# Splitting: a task should be worth well over a worker's wakeup (~10 us), and
# there should be enough tasks for the atomic counter to balance uneven cores.
KERNEL_GRAIN = 1 << 18      # kernel loop iterations x body cost per task (~25 us of simple ops)
PARALLEL_MIN_WORK = 1 << 20  # below this a kernel runs on the caller alone
MAX_KERNEL_TASKS = 64
# Small products run far below the GEMM's peak (a side of 10 pads to a tile, K = 10 is mostly
# packing), so a few MFLOP already take 35-130 us: the MLP's [256,512] @ [512,10] took 130 us
# whole and 84 us in two row slabs, [10,256] @ [256,512] 52 and 36 us.
GEMM_GRAIN = 1 << 20         # multiply-adds x 2 per task
GEMM_MIN_WORK = 2 << 20      # below this a matmul runs on the caller alone
MAX_GEMM_TASKS = 16          # each takes its own GEMM scratch in the arena
# A graph with less work than this (element-ops, a matmul's multiply-adds) runs in a few
# microseconds: its entry is called holding the GIL, since releasing and taking it back
# costs more (0.07-0.09 us of a 2.8 us call of x * 2 + 1).
BRIEF_WORK = 1 << 14
# A module of its own costs ~5 ms of LLVM set-up and a thread: worth it from about this many steps.
STEPS_PER_PART = 8
MAX_PARTS = 4
CORES = os.cpu_count() or 1


def _tasks(work: int, items: int, grain: int, most: int, least_work: int) -> int:
    """How many tasks to split `items` into: 1 when the work is too small."""
    if work < least_work or items < 2:
        return 1
    return max(1, min(most, items, work // grain))


@dataclass
class Manifest:
    """What the runtime needs to call the entry: plain data (JSON in the disk cache)."""

    entry: str
    inputs: list  # [shape, dtype name] per graph input
    buffers: list  # [shape, dtype name] per output buffer the runtime allocates
    outputs: list  # per graph output: ["buffer", k] or ["input", i]
    arena_bytes: int
    errors: list = field(default_factory=list)  # messages by error code - 1; {0} is the bad index
    imports: list = field(default_factory=list)  # library functions (library.py) it calls, by name
    links: list = field(default_factory=list)  # its own functions in other parts the entry calls, by name
    donated: list = field(default_factory=list)  # [buffer k, input i]: k may be passed as i's memory
    inputs_overlap: int = INPUTS_OVERLAP  # status - i: input i, written, overlaps another (runtime raises)
    brief: bool = False  # little work and no threads: call the entry holding the GIL (BRIEF_WORK)
    python_entry: str | None = None  # for a brief graph: the entry as a C function of Python's (python_entry.py)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Step:
    """One call the entry makes: `fn(pointers..., [start, stop])`."""

    fn: ir.Function
    operands: list  # what each pointer argument is (see `pointer` in _emit_entry)
    extent: int | None = None  # items [0, extent) for steps that take a range
    tasks: int = 1  # > 1: the range is cut into this many tasks for the pool
    scratch_per_task: int = 0  # bytes of ("scratch",) each task gets to itself


@dataclass
class Lowered:
    modules: list[ir.Module]  # the first holds the entry
    manifest: Manifest


def lower(graph: Graph, donated: dict[int, int] | None = None, max_parts: int | None = None) -> Lowered:
    """`donated`: graph output position -> graph input position, for outputs
    the caller stores into that input's memory (see the module docstring).
    `max_parts`: modules at most (default: most_parts())."""
    return _ProgramBuilder(graph, donated or {}, most_parts() if max_parts is None else max_parts).build()


def most_parts() -> int:
    """Modules a graph may be lowered into: this machine's cores, up to MAX_PARTS."""
    return min(MAX_PARTS, CORES)


def gemm_import_of(matmul) -> str:
    """The library GEMM a matmul node calls (library.py)."""
    return library.gemm_import(matmul.out.dtype.name, gemm.form(*matmul.out.shape[-2:]))


def _part_count(graph: Graph, max_parts: int) -> int:
    return max(1, min(max_parts, len(graph.nodes) // STEPS_PER_PART))


def _instructions(module: ir.Module) -> int:
    return sum(len(block.instructions) for fn in module.functions for block in fn.blocks)


class _ProgramBuilder:
    def __init__(self, graph: Graph, donated: dict[int, int], max_parts: int):
        self.graph = graph
        self.donated = donated
        self.parts = [ir.Module(name=graph.name if k == 0 else f"{graph.name}.part{k}")
                      for k in range(_part_count(graph, max_parts))]
        self.module = self.parts[0]  # where the step being emitted goes
        self.layouts: dict = {}
        self.views: dict = {}  # view value -> the value owning its buffer
        self.steps: list[_Step] = []
        self.errors: list[str] = []
        self.imports: list[str] = []
        self.links: list[str] = []

    def build(self) -> Lowered:
        graph = self.graph
        for i, v in enumerate(graph.inputs):
            self.layouts[v] = Layout.contiguous(("in", i), v.shape)
        outputs = list(dict.fromkeys(v for v in graph.outputs if v.node is not None))
        self.output_buffer = {v: k for k, v in enumerate(outputs)}
        self._find_views()
        in_place = self._in_place()
        plan = plan_memory(graph, ALIGNMENT, views=self.views)
        self.slots = plan.slots
        self.scratch = align_up(plan.peak_bytes, ALIGNMENT)
        code = [0] * len(self.parts)  # IR instructions in each part so far
        for step, node in enumerate(graph.nodes):
            if node.out not in self.views:
                k = code.index(min(code))
                self.module = self.parts[k]
                self._emit_node(step, node)
                code[k] = _instructions(self.module)
        self.module = self.parts[0]
        scratch_bytes = max((s.tasks * s.scratch_per_task for s in self.steps), default=0)
        entry = self._emit_entry(len(graph.inputs), len(outputs), in_place)
        brief = all(step.tasks == 1 for step in self.steps) and sum(map(_work, graph.nodes)) <= BRIEF_WORK
        manifest = Manifest(
            ENTRY,
            [[list(v.shape), v.dtype.name] for v in graph.inputs],
            [[list(v.shape), v.dtype.name] for v in outputs],
            [["buffer", self.output_buffer[v]] if v.node is not None else ["input", graph.inputs.index(v)]
             for v in graph.outputs],
            self.scratch + scratch_bytes,
            self.errors,
            self.imports,
            self.links,
            [[self.output_buffer[v], i] for v, i in in_place.items()],
            brief=brief,
            python_entry=emit_python_entry(entry, len(graph.inputs) + len(outputs)).name if brief else None,
        )
        return Lowered(self.parts, manifest)

    # ---- where values live ---------------------------------------------------
    def _find_views(self):
        """Give every node result a layout. Movement results are read in
        place when they are not graph outputs (those get their own buffer)
        and strides can express them; the rest own a buffer, keyed by
        ("value", v) until the memory plan places it."""
        for node in self.graph.nodes:
            view = None
            if node.out not in self.output_buffer and node.prim.group is Group.MOVEMENT:
                view = view_of(node.op, node.attrs, self.layouts[node.inputs[0]], node.out.shape)
            if view is not None:
                self.layouts[node.out] = view
                self.views[node.out] = self.views.get(node.inputs[0], node.inputs[0])
            else:
                self.layouts[node.out] = Layout.contiguous(("value", node.out), node.out.shape)

    def _in_place(self) -> dict:
        """The donated outputs this code may compute in their input's memory:
        output value -> input position. Writing one there must not change
        what any step reads, nor leave a half-updated input behind when a
        call fails. So the value is held by one output position only, has its
        input's shape and dtype and is not a view; the input is not returned
        as itself, is read by no later step (by its own only element for
        element, in an elementwise kernel), and no step from there on can
        fail."""
        graph = self.graph
        step_of = {node.out: s for s, node in enumerate(graph.nodes)}
        last_check = max((s for s, node in enumerate(graph.nodes) if node.op in CHECKED_OPS), default=-1)
        returned = Counter(graph.outputs)
        reads = defaultdict(list)  # buffer owner -> (step, node, the value read)
        for s, node in enumerate(graph.nodes):
            if node.out not in self.views:  # a view reads nothing: its readers read its base
                for v in node.inputs:
                    reads[self.views.get(v, v)].append((s, node, v))
        in_place = {}
        for position, i in sorted(self.donated.items()):
            value, source = graph.outputs[position], graph.inputs[i]
            s = step_of.get(value)
            if (s is None or s <= last_check or value in self.views or returned[value] != 1 or source in returned
                    or value.aval != source.aval or i in in_place.values()):
                continue
            if all(t < s or (t == s and v is source and _elementwise(node)) for t, node, v in reads[source]):
                in_place[value] = i
        return in_place

    # ---- steps ---------------------------------------------------------------
    def _emit_node(self, step: int, node):
        name = f"step{step}_{node.op}"
        out = self.layouts[node.out]
        ins = [self.layouts[v] for v in node.inputs]
        dtype = node.out.dtype
        if node.op == KERNEL_OP:
            self._kernel(name, node.attrs["body"], ins, out)
        elif node.prim.group in ELEMENTWISE or node.prim.group is Group.REDUCE or node.op in ("full", "expand"):
            self._kernel(name, _single_node_body(node), ins, out)
        elif node.op in ("reshape", "permute", "slice"):
            view = view_of(node.op, node.attrs, ins[0], node.out.shape)
            if view is not None:  # a view returned as an output: copy it out
                self._copy(name, view, out, dtype)
            else:  # a reshape of strided data: copy in the input's order
                self._copy(name, ins[0], Layout.contiguous(out.buffer, ins[0].shape), dtype)
        elif node.op == "pad":
            self._kernel(name + "_fill", _fill_body(node.out.aval), [], out)
            self._copy(name, ins[0], self._padded_region(node, out), dtype)
        elif node.op == "concat":
            start = 0
            for i, layout in enumerate(ins):
                stop = start + layout.shape[node.attrs["axis"]]
                self._copy(f"{name}_{i}", layout, self._concat_region(node, out, start, stop), dtype)
                start = stop
        elif node.op == "matmul":
            fn = indexing.emit_matmul(self.module, name, node, *ins)
            items = indexing.matmul_items(node).items
            flops = 2 * math.prod(node.out.shape) * node.inputs[0].shape[-1]
            self.steps.append(_Step(fn, [(out, dtype), (ins[0], dtype), (ins[1], dtype), ("scratch",),
                                         ("import", self._import(gemm_import_of(node)))],
                                    items, _tasks(flops, items, GEMM_GRAIN, MAX_GEMM_TASKS, GEMM_MIN_WORK),
                                    gemm.scratch_bytes(dtype.name)))
        elif node.op == "gather":
            fn = indexing.emit_gather(self.module, name, node, ins[0], ins[1], self._error(node, 0))
            self.steps.append(_Step(fn, [(out, dtype), (ins[0], dtype), (ins[1], node.inputs[1].dtype), ("error",)]))
        elif node.op == "scatter_add":
            self._copy(name + "_base", ins[0], out, dtype)
            fn = indexing.emit_scatter_add(self.module, name, node, ins[1], ins[2], self._error(node, 0))
            self.steps.append(_Step(fn, [(out, dtype), (ins[1], node.inputs[1].dtype), (ins[2], dtype), ("error",)]))
        elif node.op == "iota":
            self.steps.append(_Step(indexing.emit_iota(self.module, name, node), [(out, dtype)]))
        else:
            raise NotImplementedError(f"LLVM backend: no code generation for {node.op}")

    def _kernel(self, name, body, ins, out):
        kernel = emit_kernel(self.module, name, body, [layout.strides for layout in ins], out.strides)
        operands = [(out, body.outputs[0].dtype)] + [(layout, v.dtype) for layout, v in zip(ins, body.inputs)]
        tasks = _tasks(kernel.work, kernel.extent, KERNEL_GRAIN, MAX_KERNEL_TASKS, PARALLEL_MIN_WORK)
        self.steps.append(_Step(kernel.fn, operands, kernel.extent, tasks))

    def _copy(self, name, source: Layout, target: Layout, dtype):
        body = Graph(name)
        body.set_outputs([body.add_input("x", Aval(tuple(source.shape), dtype))])
        self._kernel(name, body, [source], target)

    @staticmethod
    def _padded_region(node, out: Layout) -> Layout:
        return out.sliced(*padded_region(node.inputs[0].shape, node.attrs["config"]), node.inputs[0].shape)

    @staticmethod
    def _concat_region(node, out: Layout, start, stop) -> Layout:
        axis = node.attrs["axis"]
        starts = [0] * len(out.shape)
        stops = list(out.shape)
        starts[axis], stops[axis] = start, stop
        shape = list(out.shape)
        shape[axis] = stop - start
        return out.sliced(starts, stops, [1] * len(shape), tuple(shape))

    def _import(self, name: str) -> int:
        if name not in self.imports:
            self.imports.append(name)
        return self.imports.index(name)

    def _error(self, node, input_index) -> int:
        assert node.op in CHECKED_OPS, f"{node.op} can fail: add it to CHECKED_OPS"
        axis = node.attrs["axis"]
        size = node.inputs[input_index].shape[axis]
        self.errors.append(f"index {{0}} is out of bounds for dimension {axis} with size {size}")
        return len(self.errors)

    # ---- the entry -------------------------------------------------------------
    def _emit_entry(self, n_inputs: int, n_buffers: int, in_place: dict) -> ir.Function:
        fn = ir.Function(self.module, ir.FunctionType(I32, [types.PTR]), ENTRY)
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        (args,) = fn.args

        def arg(k):
            return b.load(b.gep(args, [const(k)], inbounds=True, source_etype=types.PTR), typ=types.PTR)

        for i in sorted(set(self.donated.values())):
            self._refuse_overlapping_inputs(b, arg, i)

        bases = {("in", i): arg(i) for i in range(n_inputs)}
        bases.update({("out", k): arg(n_inputs + k) for k in range(n_buffers)})
        arena, error = arg(n_inputs + n_buffers), arg(n_inputs + n_buffers + 1)
        if any(step.tasks > 1 for step in self.steps):
            self._import(library.PARALLEL_FOR)  # now, so that the imports are all known before the links
        def pointer(item):
            if item == ("scratch",):
                return b.gep(arena, [const(self.scratch)], inbounds=True, source_etype=types.I8)
            if item == ("error",):
                return error
            if item[0] == "import":
                return arg(n_inputs + n_buffers + 2 + item[1])
            if item[0] == "link":  # a function of this part, or its address from the argument array
                fn = item[1]
                if fn.module is self.module:
                    return fn
                self.links.append(fn.name)
                return arg(n_inputs + n_buffers + 2 + len(self.imports) + len(self.links) - 1)
            layout, dtype = item
            kind, key = layout.buffer
            if kind == "value" and key in self.output_buffer:
                base = bases[("out", self.output_buffer[key])]
            elif kind == "value":
                base = b.gep(arena, [const(self.slots[key].offset)], inbounds=True, source_etype=types.I8)
            else:
                base = bases[layout.buffer]
            return types.element_pointer(b, base, dtype, const(layout.offset)) if layout.offset else base

        for step in self.steps:
            # Steps stay out of line: inlined into one large entry, their noalias
            # arguments become alias scopes whose queries in GVN and DSE grow faster
            # than the function (O3 of the MLP training step: 0.6 s instead of 0.16 s),
            # for no speed at run time (IPSCCP still folds the constant ranges in).
            step.fn.attributes.add("noinline")
            pointers = [pointer(o) for o in step.operands]
            if step.tasks > 1:
                task = pointer(("link", self._task(step, len(pointers))))
                self._call_in_tasks(b, step, pointers, task, pointer(("import", self._import(library.PARALLEL_FOR))))
                continue
            ranged = [const(0), const(step.extent)] if step.extent is not None else []
            if step.fn.module is self.module:
                result = b.call(step.fn, pointers + ranged)
            else:
                run = self._run_wrapper(step, ranged)
                result = b.call(types.FunctionPointer(pointer(("link", run)), run.function_type), pointers)
            if step.fn.function_type.return_type == I32:
                failed = b.icmp_signed("!=", result, ir.Constant(I32, 0))
                with b.if_then(failed, likely=False):
                    b.ret(result)
        b.ret(ir.Constant(I32, 0))
        return fn

    def _refuse_overlapping_inputs(self, b: ir.IRBuilder, arg, i: int):
        """Return INPUTS_OVERLAP - i when input i, which the caller writes,
        shares memory with another input: the graph reads them as distinct
        values, and an in-place write to i would change what later steps
        read of the other."""
        inputs = self.graph.inputs
        start = b.ptrtoint(arg(i), types.I64)
        end = b.add(start, const(value_bytes(inputs[i])))
        overlap = ir.Constant(types.I1, 0)
        for j, other in enumerate(inputs):
            if j != i and value_bytes(other) and value_bytes(inputs[i]):
                other_start = b.ptrtoint(arg(j), types.I64)
                other_end = b.add(other_start, const(value_bytes(other)))
                overlap = b.or_(overlap, b.and_(b.icmp_unsigned("<", start, other_end),
                                                b.icmp_unsigned("<", other_start, end)))
        with b.if_then(overlap, likely=False):
            b.ret(ir.Constant(I32, INPUTS_OVERLAP - i))

    def _call_in_tasks(self, b: ir.IRBuilder, step: _Step, pointers, task, parallel_for):
        """parallel_for(task, ctx, tasks), ctx holding the step's pointers."""
        with b.goto_entry_block():
            ctx = b.alloca(types.PTR, len(pointers), name=f"{step.fn.name}_ctx")
        for k, p in enumerate(pointers):
            b.store(p, b.gep(ctx, [const(k)], inbounds=True, source_etype=types.PTR))
        b.call(types.FunctionPointer(parallel_for, parallel.PARALLEL_FOR_TYPE), [task, ctx, const(step.tasks)])

    def _run_wrapper(self, step: _Step, ranged) -> ir.Function:
        """An external `<step>_run(pointers...)` in the step's part, which
        calls the step with its constant range."""
        fn_type = ir.FunctionType(step.fn.function_type.return_type,
                                  step.fn.function_type.args[:len(step.operands)])
        fn = ir.Function(step.fn.module, fn_type, f"{step.fn.name}_run")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        result = b.call(step.fn, list(fn.args) + ranged)
        if fn_type.return_type == I32:
            b.ret(result)
        else:
            b.ret_void()
        return fn

    def _task(self, step: _Step, n_pointers: int) -> ir.Function:
        """`void task(ptr ctx, i64 t)`: the step over the t-th of `tasks` near-equal slices of its range."""
        fn = ir.Function(step.fn.module, parallel.TASK_TYPE, f"{step.fn.name}_task")
        if step.fn.module is self.module:
            fn.linkage = "internal"
        ctx, t = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        pointers = [b.load(b.gep(ctx, [const(k)], inbounds=True, source_etype=types.PTR), typ=types.PTR)
                    for k in range(n_pointers)]
        if step.scratch_per_task:
            k = step.operands.index(("scratch",))
            pointers[k] = b.gep(pointers[k], [b.mul(t, const(step.scratch_per_task))], source_etype=types.I8)
        # slice t is [t * extent // tasks, (t + 1) * extent // tasks): sizes differ by at most one
        start, stop = (b.udiv(b.mul(x, const(step.extent)), const(step.tasks)) for x in (t, b.add(t, const(1))))
        b.call(step.fn, pointers + [start, stop])
        b.ret_void()
        return fn


def _work(node) -> int:
    """Roughly what a node's step costs, in element-ops: the larger of what
    it reads and writes, times the cost of an element (kernels.body_cost);
    a matmul's multiply-adds."""
    if node.op == "matmul":
        return math.prod(node.out.shape) * node.inputs[0].shape[-1]
    elements = max([math.prod(node.out.shape)] + [math.prod(v.shape) for v in node.inputs])
    return elements * (body_cost(node.attrs["body"]) if node.op == KERNEL_OP else scalar_ops.cost(node.op, node.out.dtype))


def _elementwise(node) -> bool:
    """Whether `node` reads each input element only to write the output
    element at the same index: elementwise ops and constants, no movement."""
    body = node.attrs["body"].nodes if node.op == KERNEL_OP else [node]
    return all(n.prim.group in ELEMENTWISE or n.prim.group is Group.SOURCE for n in body)


def _single_node_body(node) -> Graph:
    body = Graph(f"{node.op}_body")
    params = [body.add_input(f"in{i}", v.aval) for i, v in enumerate(node.inputs)]
    body.set_outputs([body.add(node.op, params, node.attrs)])
    return body


def _fill_body(aval) -> Graph:
    body = Graph("zeros")
    body.set_outputs([body.add("full", (), {"value": 0, "shape": aval.shape, "dtype": aval.dtype})])
    return body
