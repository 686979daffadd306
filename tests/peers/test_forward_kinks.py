"""Forward mode at several kinks at once (issue 13): PyTorch's and JAX's own JVPs pass, wrong JVP twins fail.

A JVP is judged along the line ``t ↦ ⟨w, f(x + t·v)⟩``; where the line meets the kinks of several entries at
``t = 0`` (hardtanh at ``[1, −1]``: a concave and a convex kink), its one-sided slopes combine the entries' one-sided
slopes and no longer bound what a correct per-entry choice gives (PyTorch's 0 at both ends of hardtanh is outside).
Such a tangent is judged entry by entry, as the reverse mode is: ``jvp(v) = J·v`` for the Jacobian of the unit
tangents, and ``wᵀJ`` a gradient of ``⟨w, f⟩`` with each entry at a kink anywhere within its one-sided slopes.

Each function is checked at its kinks (facing both ways where it has two) mixed with smooth entries, in float32 and
float64. The wrong twins (``torch.autograd.Function`` with a correct ``backward`` and a wrong ``jvp``; ``jax.custom_jvp``)
plant one mistake each: the tangent ignored (the JVP of the all-ones tangent), a wrong slope on the smooth side, a
flipped sign, a slope outside the subdifferential at the kink, a tie counted twice; the correct twin of each passes.

Runtime: 161 tests, about 3 min on the shared 2-core machine at load 5–7 (65 s of CPU).
"""

from __future__ import annotations

import numpy as np
import pytest
from _frameworks import F, jax, jnp, torch, vj, vt  # skips this module without torch or jax

from verify.checks import CheckFailure, check_jvp

pytestmark = [pytest.mark.peers, pytest.mark.usefixtures("x64")]


# name: (f, its slope with the twin's choice at the kinks, the points: kinks both ways, and kinks among smooth entries)
ELEMENTWISE = {
    "hardtanh": (lambda x, m: m.clip(x, -1.0, 1.0), lambda x, m: 1.0 * (abs(x) < 1.0),
                 [[1.0, -1.0], [1.0, -1.0, 0.3, -2.0]]),
    "clamp01": (lambda x, m: m.clip(x, 0.0, 1.0), lambda x, m: 1.0 * ((x > 0.0) & (x < 1.0)),
                [[0.0, 1.0], [0.0, 1.0, 0.5, 2.0]]),
    "relu": (lambda x, m: m.where(x > 0.0, x, 0.0 * x), lambda x, m: 1.0 * (x > 0.0), [[0.0, 0.0], [0.0, 0.0, 0.5, -0.5]]),
    "leaky_relu": (lambda x, m: m.where(x > 0.0, x, 0.01 * x), lambda x, m: m.where(x > 0.0, 1.0 + 0.0 * x, 0.01 + 0.0 * x),
                   [[0.0, 0.0, 0.5, -0.5]]),
    "abs": (lambda x, m: abs(x), lambda x, m: m.sign(x), [[0.0, 0.0], [0.0, 0.0, 0.5, -0.5]]),
    "relu6": (lambda x, m: m.clip(x, 0.0, 6.0), lambda x, m: 1.0 * ((x > 0.0) & (x < 6.0)),
              [[0.0, 6.0], [0.0, 6.0, 3.0, -1.0]]),
    "hardsigmoid": (lambda x, m: m.clip(x / 6.0 + 0.5, 0.0, 1.0), lambda x, m: m.where(abs(x) < 3.0, 1.0 + 0.0 * x, 0.0 * x) / 6.0,
                    [[3.0, -3.0], [3.0, -3.0, 1.0, -4.0]]),
    "hardswish": (lambda x, m: x * m.clip((x + 3.0) / 6.0, 0.0, 1.0),
                  lambda x, m: m.where(x < -3.0, 0.0 * x, m.where(x > 3.0, 1.0 + 0.0 * x, (2.0 * x + 3.0) / 6.0)),
                  [[3.0, -3.0], [3.0, -3.0, 1.0, 4.0]]),
}

TORCH_BUILTINS = {
    "hardtanh": F.hardtanh, "clamp01": lambda x: torch.clamp(x, 0, 1), "relu": torch.relu,
    "leaky_relu": F.leaky_relu, "abs": torch.abs, "relu6": F.relu6, "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
}
JAX_BUILTINS = {
    "hardtanh": jax.nn.hard_tanh, "clamp01": lambda x: jnp.clip(x, 0.0, 1.0), "relu": jax.nn.relu,
    "leaky_relu": jax.nn.leaky_relu, "abs": jnp.abs, "relu6": jax.nn.relu6, "hardsigmoid": jax.nn.hard_sigmoid,
    "hardswish": jax.nn.hard_swish,
}
TIES = [[1.0, 1.0, -2.0, 0.5], [2.0, 2.0, 2.0]]
MIN_TIES = [[-2.0, -2.0, 1.0, 0.5]]
REDUCTIONS_TORCH = {
    "max": (lambda x: torch.max(x), TIES), "amax": (lambda x: torch.amax(x), TIES),
    "min": (lambda x: torch.min(x), MIN_TIES),
    "maximum": (lambda x: torch.maximum(x, torch.tensor([1.0, 0.0, 0.5, 0.0], dtype=x.dtype)),
                [[1.0, 0.0, -0.5, 2.0]]),
    "sum_hardtanh": (lambda x: F.hardtanh(x).sum(), [[1.0, -1.0, 0.3, -2.0]]),
    "softshrink": (F.softshrink, [[0.5, -0.5, 0.2, 1.0]]),
    "relu_difference": (lambda x: F.relu(x[:2]) - F.relu(x[2:]), [[0.0, 0.0, 0.0, 0.0]]),
    "hinge": (lambda x: torch.clamp(1 - x * torch.tensor([1.0, -1.0, 1.0], dtype=x.dtype), min=0).mean(),
              [[1.0, -1.0, 0.5]]),
    "l1_loss": (lambda x: F.l1_loss(x, torch.tensor([1.0, 2.0, 0.0], dtype=x.dtype)), [[1.0, 2.0, 0.5]]),
    "relu_layer": (lambda x: torch.relu(x @ torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=x.dtype))
                   @ torch.tensor([1.0, -2.0], dtype=x.dtype), [[2.0, -2.0]]),
    "clamp_256": (lambda x: torch.clamp(x, 0, 1), [[0.0, 1.0, 0.5, 2.0] * 64]),  # an image with saturated pixels
}
REDUCTIONS_JAX = {
    "max": (jnp.max, TIES), "min": (jnp.min, MIN_TIES),
    "maximum": (lambda x: jnp.maximum(x, jnp.array([1.0, 0.0, 0.5, 0.0], dtype=x.dtype)), [[1.0, 0.0, -0.5, 2.0]]),
    "sum_hardtanh": (lambda x: jax.nn.hard_tanh(x).sum(), [[1.0, -1.0, 0.3, -2.0]]),
}
DTYPES = ("float32", "float64")


# PyTorch's float64 hardsigmoid backward uses the float32 constant 1.0f/6.0f (a true positive of the reverse mode,
# tests/peers/test_torch_builtins.py), so its forward mode is checked in float32 only
REVERSE_WRONG = {("hardsigmoid", "float64")}


def _label(point):
    return str(point) if len(point) <= 8 else f"{len(point)} entries"


def _builtin_cases(table, reductions):
    for name, fn in table.items():
        for point in ELEMENTWISE[name][2]:
            for dtype in DTYPES:
                if table is TORCH_BUILTINS and (name, dtype) in REVERSE_WRONG:
                    continue
                yield pytest.param(fn, point, dtype, id=f"{name}-{dtype}-{_label(point)}")
    for name, (fn, points) in reductions.items():
        for point in points:
            for dtype in DTYPES:
                yield pytest.param(fn, point, dtype, id=f"{name}-{dtype}-{_label(point)}")


@pytest.mark.parametrize(("fn", "point", "dtype"), list(_builtin_cases(TORCH_BUILTINS, REDUCTIONS_TORCH)))
def test_pytorch_forward_mode_at_kinks_passes(fn, point, dtype):
    report = vt.check_function(fn, (torch.tensor(point, dtype=getattr(torch, dtype)),), forward=True)
    assert report.forward_checked == 1


@pytest.mark.parametrize(("fn", "point", "dtype"), list(_builtin_cases(JAX_BUILTINS, REDUCTIONS_JAX)))
def test_jax_forward_mode_at_kinks_passes(fn, point, dtype):
    report = vj.check_function(fn, (jnp.array(point, dtype=dtype),), forward=True)
    assert report.forward_checked == 1


# --- wrong JVP twins -------------------------------------------------------------------------------

# mistake: the JVP as a function of (slope s, tangent v, at a kink k)
MISTAKES = {
    "right": lambda s, v, k: s * v,
    "tangent ignored": lambda s, v, k: s,
    "wrong slope on the smooth side": lambda s, v, k: (1.25 * s + 0.1) * v,
    "flipped sign": lambda s, v, k: -s * v,
    "slope outside the subdifferential at the kink": lambda s, v, k: (s + 2.0 * k) * v,
}


def _at_kink(name, x):
    f, slope, _ = ELEMENTWISE[name]
    kinks = {"hardtanh": (-1.0, 1.0), "clamp01": (0.0, 1.0), "relu": (0.0,), "leaky_relu": (0.0,), "abs": (0.0,),
             "relu6": (0.0, 6.0), "hardsigmoid": (-3.0, 3.0), "hardswish": (-3.0, 3.0)}[name]
    return sum(1.0 * (x == k) for k in kinks)


def _torch_twin(name, mistake):
    f, slope, _ = ELEMENTWISE[name]
    rule = MISTAKES[mistake]

    class Twin(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return f(x, torch)

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * slope(x, torch).to(x.dtype)

        @staticmethod
        def jvp(ctx, v):
            (x,) = ctx.saved_tensors
            return rule(slope(x, torch).to(x.dtype), v, _at_kink(name, x).to(x.dtype)).to(x.dtype)

    return Twin.apply


def _twin_cases(names=tuple(ELEMENTWISE)):
    for name in names:
        for mistake in MISTAKES:
            dtype = DTYPES[(len(name) + len(mistake)) % 2]  # each function meets both dtypes over its mistakes
            yield pytest.param(name, mistake, dtype, id=f"{name}-{mistake}-{dtype}")


@pytest.mark.parametrize(("name", "mistake", "dtype"), list(_twin_cases()))
def test_torch_jvp_twins_at_kinks(name, mistake, dtype):
    point = ELEMENTWISE[name][2][-1]  # kinks among smooth entries
    x = torch.tensor(point, dtype=getattr(torch, dtype))
    fn = _torch_twin(name, mistake)
    if mistake == "right":
        assert vt.check_function(fn, (x,), forward=True).forward_checked == 1
        return
    with pytest.raises(CheckFailure) as info:
        vt.check_function(fn, (x,), forward=True)
    assert "forward-mode (jvp) derivative" in str(info.value)


def _jax_twin(name, mistake):
    f, slope, _ = ELEMENTWISE[name]
    rule = MISTAKES[mistake]

    @jax.custom_jvp
    def twin(x):
        return f(x, jnp)

    @twin.defjvp
    def _(primals, tangents):
        (x,), (v,) = primals, tangents
        return f(x, jnp), rule(slope(x, jnp).astype(x.dtype), v, _at_kink(name, x).astype(x.dtype)).astype(x.dtype)

    return twin


@pytest.mark.parametrize(("name", "mistake", "dtype"), list(_twin_cases(("hardtanh", "relu6", "abs", "hardswish"))))
def test_jax_jvp_twins_at_kinks(name, mistake, dtype):
    # forward mode alone (a custom_jvp's reverse mode is its JVP transposed: it would fail first)
    twin = _jax_twin(name, mistake)
    f = lambda x: np.asarray(twin(jnp.asarray(x)))  # noqa: E731
    jvp = lambda v, x: np.asarray(jax.jvp(twin, (jnp.asarray(x),), (jnp.asarray(v),))[1])  # noqa: E731
    point = (np.array(ELEMENTWISE[name][2][-1], dtype=dtype),)
    if mistake == "right":
        assert check_jvp(f, jvp, point).tangents == 3
        return
    with pytest.raises(CheckFailure):
        check_jvp(f, jvp, point)


def _max_twin(mistake):
    """max over a vector: its JVP the tangent at the first maximum (right), or summed over the tied maxima."""

    class Max(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return torch.max(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.save_for_forward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * torch.nn.functional.one_hot(torch.argmax(x), x.numel()).to(x.dtype)

        @staticmethod
        def jvp(ctx, v):
            (x,) = ctx.saved_tensors
            if mistake == "right":
                return v[torch.argmax(x)]
            if mistake == "tie counted twice":
                return (v * (x == torch.max(x)).to(x.dtype)).sum()
            return torch.ones((), dtype=x.dtype)  # the tangent ignored

    return Max.apply


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mistake", ["right", "tie counted twice", "tangent ignored"])
def test_max_twins_at_a_tie(mistake, dtype):
    x = torch.tensor(TIES[0], dtype=getattr(torch, dtype))
    if mistake == "right":
        assert vt.check_function(_max_twin(mistake), (x,), forward=True).forward_checked == 1
        return
    with pytest.raises(CheckFailure) as info:
        vt.check_function(_max_twin(mistake), (x,), forward=True)
    assert "forward-mode (jvp) derivative" in str(info.value)


def test_the_report_says_a_tangent_was_judged_entry_by_entry():
    report = vt.check_function(F.hardtanh, (torch.tensor([1.0, -1.0], dtype=torch.float64),))
    assert any("judged entry by entry" in note for note in report["inputs[0]"].jvp.notes)
