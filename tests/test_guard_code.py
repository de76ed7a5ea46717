"""The generated guard check (frontend/jit/guard_code.py) against the full
guard reading it replaces on the fast path.

For a state built of everything guards read (tensors, scalars, nested
lists/tuples/dicts, objects, a dict keyed by tensors, a long list of
parameters, a shared sub-object, an ndarray, a function, grad mode), each
mutation, alone and in random combinations (hypothesis), must be accepted
by the check exactly when the full reading's key is unchanged, and when
accepted the check must return the very tensors the full reading finds.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import frontend as torch
from frontend.jit.guard_code import guard_function
from frontend.jit.guards import MAX_ITEMS, Root, read_call


class Config:
    pass


def lookup(x):
    return x


def build():
    cfg = Config()
    shared = {"scale": 2.0}
    cfg.w = torch.ones(3, 2, requires_grad=True)
    cfg.b = torch.zeros(2)
    cfg.tied = cfg.b  # read twice: an alias entry
    cfg.lr, cfg.flag, cfg.name, cfg.none = 0.1, True, "adam", None
    cfg.nan = float("nan")
    cfg.layers = [torch.ones(2), (torch.zeros(1), 3)]
    cfg.opts = {"betas": (0.9, 0.999), "eps": 1e-8}
    cfg.state = {cfg.w: {"buf": torch.zeros(3, 2)}}
    cfg.params = [torch.ones(1, requires_grad=True) if i % 50 == 0 else torch.ones(1) for i in range(MAX_ITEMS + 5)]
    cfg.first, cfg.second = shared, shared
    cfg.table = np.arange(4)
    cfg.fn = lookup
    return cfg


def read(cfg, x):
    reading, _ = read_call(["x"], [Root("cfg", "object", cfg)], (x,), {})
    return reading


def mutate_tensor_value(cfg):
    cfg.b = cfg.tied = torch.full((2,), 5.0)  # same metadata: accepted, the new tensor is returned


def _under_no_grad(method, *args):
    with torch.no_grad():
        method(*args)


def replace_b(cfg, tensor):
    cfg.b = cfg.tied = tensor  # (the check reads a view's autograd fields through its properties)


MUTATIONS = {
    "nothing": lambda cfg: None,
    "in-place write": lambda cfg: _under_no_grad(cfg.b.add_, 1),  # as an optimizer writes (b may require grad)
    "another tensor, same metadata": mutate_tensor_value,
    "tensor shape": lambda cfg: setattr(cfg, "b", torch.zeros(3)),
    "tensor dtype": lambda cfg: setattr(cfg, "b", torch.zeros(2, dtype=torch.float64)),
    "requires_grad": lambda cfg: cfg.b.requires_grad_(),
    "a view, same metadata": lambda cfg: replace_b(cfg, torch.zeros(4)[:2]),
    "a view with history": lambda cfg: replace_b(cfg, (cfg.w * 1)[0]),
    "scalar value": lambda cfg: setattr(cfg, "lr", 0.2),
    "scalar type": lambda cfg: setattr(cfg, "lr", 1),
    "bool to int": lambda cfg: setattr(cfg, "flag", 1),
    "nan stays nan": lambda cfg: setattr(cfg, "nan", float("nan")),
    "nan to number": lambda cfg: setattr(cfg, "nan", 1.0),
    "string": lambda cfg: setattr(cfg, "name", "sgd"),
    "new attribute": lambda cfg: setattr(cfg, "extra", 1),
    "deleted attribute": lambda cfg: cfg.__dict__.pop("none", None),
    "dict key added": lambda cfg: cfg.opts.__setitem__("foo", 1),
    "dict value": lambda cfg: cfg.opts.__setitem__("eps", 1e-6),
    "tuple item": lambda cfg: cfg.opts.__setitem__("betas", (0.8, 0.999)),
    "tuple to list": lambda cfg: cfg.opts.__setitem__("betas", [0.9, 0.999]),
    "list grows": lambda cfg: cfg.layers.append(1),
    "nested tensor replaced": lambda cfg: cfg.layers.__setitem__(1, (torch.zeros(1), 4)),
    "two slots alias one tensor": lambda cfg: cfg.layers.__setitem__(0, cfg.w),
    "alias broken": lambda cfg: setattr(cfg, "tied", torch.zeros(2)),
    "alias kept": lambda cfg: setattr(cfg, "tied", cfg.b),
    "state keyed by another tensor": lambda cfg: cfg.state.__setitem__(torch.ones(1), {}),
    "state entry replaced": lambda cfg: cfg.state.__setitem__(cfg.w, {"buf": torch.zeros(3, 2)}),
    "long list: a parameter moves": lambda cfg: cfg.params.__setitem__(1, torch.ones(1, requires_grad=True)),
    "long list: a parameter swapped": lambda cfg: cfg.params.__setitem__(0, torch.ones(1, requires_grad=True)),
    "sharing broken": lambda cfg: setattr(cfg, "second", dict(cfg.first)),
    "shared value": lambda cfg: cfg.first.__setitem__("scale", 3.0),
    "ndarray replaced": lambda cfg: setattr(cfg, "table", np.arange(4)),
    "function replaced": lambda cfg: setattr(cfg, "fn", lambda x: x),
    "grad mode": lambda cfg: torch.set_grad_enabled(False),
}


def outcome(names):
    cfg, x = build(), torch.ones(4)
    reading = read(cfg, x)
    check = guard_function(reading)
    assert [id(t) for t in check((x,), {})] == [id(t) for _, t in reading.tensors]
    try:
        for name in names:
            MUTATIONS[name](cfg)
        again = read(cfg, x)
        accepted = check((x,), {})
    finally:
        torch.set_grad_enabled(True)
    return reading, again, accepted


def assert_agrees(reading, again, accepted):
    same_key = again.key == reading.key
    assert (accepted is not None) == same_key, (accepted is not None, same_key)
    if accepted is not None:
        assert [id(t) for t in accepted] == [id(t) for _, t in again.tensors]


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_check_accepts_exactly_when_the_key_is_unchanged(name):
    assert_agrees(*outcome([name]))


@pytest.mark.parametrize("name,accepted", [("nothing", True), ("in-place write", True),
                                           ("another tensor, same metadata", True), ("scalar value", False),
                                           ("sharing broken", False), ("grad mode", False)])
def test_examples_of_each_outcome(name, accepted):
    """Not vacuous: some mutations keep the key, others change it."""
    assert (outcome([name])[2] is not None) is accepted


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(sorted(MUTATIONS)), min_size=1, max_size=3))
def test_random_combinations_of_mutations(names):
    assert_agrees(*outcome(names))


def test_arguments_count_and_keywords_are_checked():
    x = torch.ones(2)
    reading, _ = read_call(["x", "y"], [], (x,), {"y": 1})
    check = guard_function(reading)
    assert check((x,), {"y": 1}) is not None
    assert check((x, 1), {}) is None
    assert check((x,), {"y": 1, "z": 2}) is None
    assert check((np.ones(2),), {"y": 1}) is None  # the full reading raises its TypeError
