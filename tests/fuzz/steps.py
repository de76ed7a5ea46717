"""The steps a fuzz program is made of: each draws the values it applies to
(through the program builder, programs._Builder) and returns Python source:
an expression, or statements that assign the builder's next name. Templates
cover the elementwise primitives (with broadcasting, Python scalars and
special constants), casts, reductions with dims and keepdim, movement and
indexing, concatenation, matmul (small, and big enough for the GEMM kernel's
tiles), losses and other composites, item assignment, in-place ops and
no_grad blocks. The builder keeps a step only if it runs."""
from __future__ import annotations

from hypothesis import strategies as st

from compiler import dtypes

# Python scalars a step may combine with a tensor (as PyTorch's promotion sees them).
SCALARS = ["2", "-1", "0", "1", "3", "0.5", "-0.0", "2.5", "-3.0", "1e-3", "1e30", "float('inf')",
           "-float('inf')", "float('nan')", "True", "False"]
EXPONENTS = ["2", "3", "0", "1", "-1", "0.5", "-0.5", "2.5", "-2", "float('inf')"]
MOSTLY = st.sampled_from([True, True, True, False])  # True 3 times in 4 (and when shrunk)


def _dim(draw, t, extra=0):
    n = max(t.ndim + extra, 1)
    return draw(st.integers(-n, n - 1))


def _dims(draw, t):
    """A reduction's `dim`: None, one dim, or a tuple of dims."""
    kind = draw(st.sampled_from(["one", "one", "none", "tuple"]))
    if kind == "none":
        return None
    if kind == "one" or t.ndim < 2:
        return _dim(draw, t)
    return tuple(draw(st.lists(st.integers(0, t.ndim - 1), min_size=1, max_size=t.ndim, unique=True)))


def _shape_text(shape) -> str:
    return str(tuple(shape))


def _reshape_target(draw, t):
    n = t.numel()
    shapes = [(n,), (-1,), t.shape[::-1], (1,) + t.shape, t.shape + (1,), tuple(s for s in t.shape if s != 1)]
    shapes += [(d, n // d) for d in (2, 3, 4) if n and n % d == 0] + [(n // 2, -1)] * (n % 2 == 0 and n > 0)
    shapes += [(1, -1)] + [()] * (n == 1) + [(0, 3), (3, 0, 1)] * (n == 0)
    return draw(st.sampled_from(shapes))


def _index(draw, t):
    """A basic index expression (ints, slices with steps, None, ...) for `t`."""
    items, ellipsis = [], False
    for n in t.shape[:draw(st.integers(min(t.ndim, 1), t.ndim))]:
        kind = draw(st.sampled_from(["slice", "int", "all", "slice", "none", "ellipsis"]))
        if kind == "int" and n > 0:
            items.append(str(draw(st.integers(-n, n - 1))))
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-n - 1, n + 1))
            start, stop = draw(bound), draw(bound)
            step = draw(st.sampled_from([None, None, 2, 3]))
            items.append(f"{'' if start is None else start}:{'' if stop is None else stop}"
                         + ("" if step is None else f":{step}"))
        elif kind == "none":
            items += ["None", ":"]
        elif kind == "ellipsis" and not ellipsis:
            ellipsis = True
            items.append("...")
            break
        else:
            items.append(":")
    return ", ".join(items) or "..."


# ---- the steps -------------------------------------------------------------------------------------
UNARY = ["-{a}", "{a}.abs()", "{a}.exp()", "{a}.log()", "{a}.log1p()", "{a}.sqrt()", "{a}.rsqrt()", "{a}.sin()",
         "{a}.cos()", "{a}.tanh()", "{a}.sigmoid()", "{a}.relu()", "{a}.floor()", "{a}.sign()", "{a}.square()",
         "{a}.reciprocal()", "F.gelu({a})", "F.gelu({a}, approximate='tanh')", "F.relu({a})", "{a}.detach()",
         "torch.tanh({a})", "{a}.logical_not()", "~{a}", "{a}.float()", "{a}.double()", "{a}.long()", "{a}.bool()",
         "{a}.int()", "{a}.clone()"]
BINARY = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / {b}", "{a} % {b}", "{a} ** {b}", "torch.maximum({a}, {b})",
          "torch.minimum({a}, {b})", "{a} == {b}", "{a} != {b}", "{a} < {b}", "{a} <= {b}", "{a} > {b}",
          "{a} >= {b}", "{a} & {b}", "{a} | {b}", "{a} ^ {b}", "{a}.add({b}, alpha=2)", "{a}.sub({b}, alpha=0.5)"]
WITH_SCALAR = ["{a} + {c}", "{c} - {a}", "{a} - {c}", "{a} * {c}", "{a} / {c}", "{c} / {a}", "{a} % {c}",
               "{a} ** {e}", "{c} ** {a}", "{a} > {c}", "{a} <= {c}", "{a} == {c}", "{a}.clamp(min={c})",
               "{a}.clamp(max={c})", "{a}.clamp({c}, {c2})", "torch.where({a} > {c}, {a}, {c2})",
               "{a}.maximum(torch.full_like({a}, {c}))", "({a} > {c}) | ({a} < {c2})", "({a} >= {c}) ^ ({a} != {c2})",
               "({a} > {c}) & ~({a} == {c2})"]
REDUCE = ["{a}.sum({dims}, keepdim={k})", "{a}.sum()", "{a}.mean({dims}, keepdim={k})", "{a}.mean()",
          "{a}.var({dims}, keepdim={k})", "{a}.std({dims}, keepdim={k}, unbiased=False)",
          "{a}.amax({dims}, keepdim={k})", "{a}.amin({dims}, keepdim={k})", "{a}.max()", "{a}.min()",
          "{a}.max({d}, keepdim={k}).values", "{a}.min({d}, keepdim={k}).indices", "{a}.argmax()",
          "{a}.argmax({d}, keepdim={k})", "{a}.argmin({d})", "{a}.logsumexp({dims}, keepdim={k})",
          "{a}.norm()", "{a}.norm(1, {d})", "{a}.norm(float('inf'))", "{a}.softmax({d})", "{a}.log_softmax({d})",
          "F.softmax({a}, dim={d})", "F.layer_norm({a}, {a}.shape[-1:])"]
MOVE = ["{a}.reshape({shape})", "{a}.view(-1)", "{a}.flatten()", "{a}.permute({perm})", "{a}.transpose({d}, {d2})",
        "{a}.t()", "{a}.T", "{a}.squeeze()", "{a}.squeeze({d})", "{a}.unsqueeze({d1})", "{a}.expand({expand})",
        "{a}[{index}]", "{a}[{index}]"]


def _fill(draw, b, template, a, other=None):
    """`template` with its holes filled for value `a` (and `other`, a second value)."""
    t = b.values[a]
    holes = {"a": a, "b": other, "c": draw(st.sampled_from(SCALARS)), "c2": draw(st.sampled_from(SCALARS)),
             "e": draw(st.sampled_from(EXPONENTS)), "k": draw(st.booleans())}
    if "{dims}" in template:
        holes["dims"] = repr(_dims(draw, t))
    for hole, extra in (("d", 0), ("d2", 0), ("d1", 1)):
        if "{" + hole + "}" in template:
            holes[hole] = _dim(draw, t, extra)
    if "{shape}" in template:
        holes["shape"] = _shape_text(_reshape_target(draw, t))
    if "{perm}" in template:
        holes["perm"] = ", ".join(map(str, draw(st.permutations(range(t.ndim))))) or "()"
    if "{expand}" in template:
        lead = draw(st.lists(st.sampled_from([1, 2]), max_size=1))
        holes["expand"] = _shape_text(lead + [draw(st.sampled_from([1, 2, 3, -1])) if s == 1 else
                                              draw(st.sampled_from([s, -1])) for s in t.shape]) if t.ndim or lead \
            else "()"
    if "{index}" in template:
        holes["index"] = _index(draw, t)
    return template.format(**holes)


def _same_shape(b, a):
    shape = b.values[a].shape
    return lambda t: t.shape == shape


def step_unary(draw, b):
    return _fill(draw, b, draw(st.sampled_from(UNARY)), b.pick())


def step_binary(draw, b):
    a = b.pick()
    # Most often an operand of a shape that broadcasts with a's; sometimes anything (mostly rejected).
    other = b.pick(_broadcasts_with(b.values[a])) if draw(MOSTLY) else b.pick()
    return _fill(draw, b, draw(st.sampled_from(BINARY)), a, other)


def _broadcasts_with(x):
    def test(t):
        return all(p == q or p == 1 or q == 1 for p, q in zip(reversed(x.shape), reversed(t.shape)))
    return test


def step_scalar(draw, b):
    return _fill(draw, b, draw(st.sampled_from(WITH_SCALAR)), b.pick())


def step_where(draw, b):
    a = b.pick()
    cond = b.pick(lambda t: t.dtype is dtypes.bool_ and _broadcasts_with(b.values[a])(t))
    if cond is None:
        return None
    return f"torch.where({cond}, {a}, {b.pick(_broadcasts_with(b.values[a]))})"


def step_reduce(draw, b):
    return _fill(draw, b, draw(st.sampled_from(REDUCE)), b.pick())


def step_move(draw, b):
    return _fill(draw, b, draw(st.sampled_from(MOVE)), b.pick(lambda t: t.ndim > 0) or b.pick())


def step_concat(draw, b):
    a = b.pick(lambda t: t.ndim > 0)
    if a is None:
        return None
    x = b.values[a]
    d = draw(st.integers(0, x.ndim - 1))
    if draw(st.booleans()):
        other = b.pick(lambda t: t.ndim == x.ndim and all(p == q for i, (p, q) in enumerate(zip(x.shape, t.shape))
                                                            if i != d))
        return f"torch.cat([{a}, {other}, {a}], {d})"
    return f"torch.stack([{a}, {b.pick(_same_shape(b, a))}], {_dim(draw, x, 1)})"


def step_matmul(draw, b):
    a = b.pick(lambda t: t.ndim >= 1 and t.dtype is not dtypes.bool_)
    if a is None:
        return None
    x = b.values[a]
    kind = draw(st.sampled_from(["new", "new", "gram", "existing"]))
    if kind == "gram" and x.ndim == 2:
        return f"{a}.T @ {a}" if draw(st.booleans()) else f"torch.matmul({a}, {a}.t())"
    if kind == "existing":
        return f"{a} @ {b.pick(lambda t: t.ndim >= 1 and t.shape[0 if t.ndim == 1 else -2] == x.shape[-1])}"
    m = draw(st.sampled_from([None, 1, 2, 3]))
    w = b.new_input((x.shape[-1],) if m is None else (x.shape[-1], m), x.dtype)
    return f"{a} @ {w}" if x.ndim != 3 or m is None else f"{a}.bmm({w}.expand({x.shape[0]}, -1, -1))"


def step_gemm(draw, b):
    """A matmul big enough for the GEMM kernel's full tiles, packing and blocking, maybe of a transpose."""
    dtype = draw(st.sampled_from([dtypes.float32, dtypes.float64, dtypes.int64]))
    m, k, n = (draw(st.sampled_from(sizes)) for sizes in ([7, 1, 4, 13, 33], [16, 1, 5, 33, 70], [17, 1, 3, 8, 40]))
    if draw(st.booleans()):
        return f"{b.new_input((m, k), dtype, big=True)} @ {b.new_input((k, n), dtype, big=True)}"
    return f"{b.new_input((k, m), dtype, big=True)}.t() @ {b.new_input((n, k), dtype, big=True)}.T"


def step_wide(draw, b):
    """A long row: vectorized loops with their remainders, long reductions."""
    shape = (draw(st.sampled_from([1, 2, 3, 5])),) * draw(st.booleans()) + (draw(st.sampled_from(
        [33, 31, 64, 67, 129, 257])),)
    a = b.new_input(shape, draw(st.sampled_from([dtypes.float32, dtypes.float64, dtypes.int64])), big=True)
    return _fill(draw, b, draw(st.sampled_from(REDUCE + UNARY + WITH_SCALAR)), a)


def step_index(draw, b):
    """Integer-tensor indexing (a gather) with indices made in range: `% n`."""
    a = b.pick(lambda t: t.ndim > 0 and t.shape[0] > 0)
    i = b.pick(lambda t: 0 < t.ndim <= 2)
    if a is None or i is None:
        return None
    shape = b.values[a].shape
    if len(shape) >= 2 and shape[1] > 0 and draw(st.booleans()):
        return f"{a}[:, {i}.long() % {shape[1]}]"
    return f"{a}[{i}.long() % {shape[0]}]"


def step_setitem(draw, b):
    """Item assignment into a clone: a tensor or a scalar written through a basic index."""
    a = b.pick(lambda t: t.ndim > 0)
    if a is None:
        return None
    index = _index(draw, b.values[a])
    value = draw(st.sampled_from(SCALARS)) if draw(st.booleans()) else b.pick(lambda t: t.ndim <= 1)
    return [f"{b.out} = {a}.clone()", f"{b.out}[{index}] = {value}"]


def step_inplace(draw, b):
    """In-place arithmetic on a clone, or on a view of one (the write reaches the clone)."""
    a = b.pick()
    op = draw(st.sampled_from(["add_", "sub_", "mul_", "div_", "clamp_"]))
    arg = draw(st.sampled_from(SCALARS)) if draw(st.booleans()) else b.pick(_broadcasts_with(b.values[a]))
    call = f"{op}(min={arg})" if op == "clamp_" else f"{op}({arg})"
    if b.values[a].ndim and draw(st.booleans()):
        return [f"{b.out} = {a}.clone()", f"{b.out}[{_index(draw, b.values[a])}].{call}"]
    return [f"{b.out} = {a}.clone()", f"{b.out}.{call}"]


def step_no_grad(draw, b):
    """A step under no_grad: its result is a constant to autograd."""
    inner = draw(st.sampled_from([step_unary, step_binary, step_scalar, step_reduce]))(draw, b)
    return None if inner is None else ["with torch.no_grad():", f"    {b.out} = {inner}"]


def step_loss(draw, b):
    a = b.pick(lambda t: t.dtype.is_floating_point)
    if a is None:
        return None
    x = b.values[a]
    kind = draw(st.sampled_from(["mse", "bce", "ce", "nll"]))
    if kind in ("mse", "bce"):
        other = b.pick(lambda t: t.shape == x.shape and t.dtype.is_floating_point)
        fn = "F.mse_loss" if kind == "mse" else "F.binary_cross_entropy_with_logits"
        return f"{fn}({a}, {other}, reduction={draw(st.sampled_from(['mean', 'sum', 'none']))!r})"
    if x.ndim != 2 or x.shape[1] == 0:
        return None
    target = b.new_input((x.shape[0],), dtypes.int64, index_bound=x.shape[1])
    if kind == "ce":
        return f"F.cross_entropy({a}, {target})"
    return f"F.nll_loss({a}.log_softmax(1), {target}, reduction='sum')"


def step_constant(draw, b):
    a = b.pick(lambda t: t.ndim > 0)
    if a is None:
        return None
    n = b.values[a].shape[-1]
    values = ", ".join(draw(st.lists(st.sampled_from(["1.0", "-0.0", "2.5", "float('nan')", "float('inf')", "-3.0"]),
                                     min_size=n, max_size=n)))
    return draw(st.sampled_from([f"{a} * torch.tensor([{values}])", f"{a} + torch.arange({n})",
                                 f"torch.zeros_like({a}) + {a}", f"torch.ones_like({a}) - {a}"]))


STEPS = [(step_unary, 6), (step_binary, 6), (step_scalar, 4), (step_where, 1), (step_reduce, 5), (step_move, 5),
         (step_concat, 1), (step_matmul, 2), (step_index, 1), (step_setitem, 1), (step_loss, 1), (step_constant, 1),
         (step_gemm, 1), (step_wide, 1), (step_inplace, 2), (step_no_grad, 1)]
WEIGHTED_STEPS = [s for s, w in STEPS for _ in range(w)]
