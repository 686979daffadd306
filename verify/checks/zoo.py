"""A zoo of wrong and right gradients, as data, and the detection table against the peers.

Each :class:`ZooCase` is a function ``f(*args) -> float``, a gradient ``grad(*args)`` (w.r.t. ``args[0]``),
a point where the bug shows (or a typical point for a correct one), and a Hypothesis strategy of
points to search. ``bug`` is empty for a correct implementation, which every checker must accept.

The wrong ones are the mistakes people make when deriving a gradient by hand: a sign error, a missing
factor, a wrong branch, an off-by-one in one coordinate, mean-vs-sum scaling, an overflow for large
inputs, and cancellation that underflows to 0 (``1 − 1/(1+eˣ)`` is 0 where ``σ(x) ≈ 1e-18``).
The right ones include valid subgradients at kinks (ReLU at 0, the hinge at its margin, ``max`` at a
tie) and float32 gradients at float32 accuracy.

:func:`compare_with_peers` runs every case through ``verify.check_gradient``,
``torch.autograd.gradcheck`` (defaults: eps 1e-6, atol 1e-5, rtol 1e-3, full Jacobian) and
``jax.test_util.check_grads`` (reverse mode, one random direction, tolerance 1e-5 / 2e-3 by dtype),
whichever are installed, and returns one row per case and tool; ``verify bench`` reuses it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ZooCase", "ZOO", "WRONG", "RIGHT", "get_case", "compare_with_peers", "format_table"]


@dataclass(frozen=True)
class ZooCase:
    """One implementation of a gradient: ``bug`` says what is wrong with it ("" if nothing)."""

    name: str
    bug: str
    f: Callable[..., Any]
    grad: Callable[..., np.ndarray]
    point: tuple
    strategy: Callable[[], Any]
    kink: bool = False

    @property
    def wrong(self) -> bool:
        return bool(self.bug)


# --- functions (NumPy ufuncs only, so they accept complex input and a leading batch axis) -------


def _sum_cos(x):
    return np.sum(np.cos(x), axis=-1)


def _sum_squares(x):
    return np.sum(x * x, axis=-1)


def _elu(x):
    return np.sum(np.where(x > 0, x, np.expm1(x)), axis=-1)


def _chain(x):
    return np.sum(x[..., :-1] * x[..., 1:], axis=-1)


def _onehot(y: np.ndarray, k: int, dtype) -> np.ndarray:
    return (y[:, None] == np.arange(k)[None, :]).astype(dtype)


def _cross_entropy(z, y):
    """Mean softmax cross-entropy: (1/N) Σ_n [log Σ_k exp z_nk − z_n,y_n]."""
    m = np.max(z.real, axis=-1, keepdims=True)
    lse = m[..., 0] + np.log(np.sum(np.exp(z - m), axis=-1))
    picked = np.sum(z * _onehot(y, z.shape[-1], np.float64), axis=-1)
    return np.mean(lse - picked, axis=-1)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softplus(x):
    return np.sum(np.log1p(np.exp(x)), axis=-1)


def _softplus_stable(x):
    return np.sum(np.logaddexp(0.0, x), axis=-1)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)


def _relu(x):
    return np.sum(np.maximum(x, 0.0), axis=-1)


def _hinge(s, y):
    return np.sum(np.maximum(0.0, 1.0 - y * s), axis=-1)


def _max(x):
    return np.max(x, axis=-1)


def _sum_tanh(x):
    return np.sum(np.tanh(x), axis=-1)


# --- gradients, right and wrong ------------------------------------------------------------------


def _ce_grad(z, y):
    return (_softmax(z) - _onehot(y, z.shape[-1], z.dtype)) / z.shape[0]


def _ce_grad_sum(z, y):
    return _softmax(z) - _onehot(y, z.shape[-1], z.dtype)  # BUG: forgot the 1/N of the mean


def _ce_grad_accurate(z, y):
    """(p − onehot)/N with the true class as −Σ_{k≠y} p_k: no cancellation when p_y → 1."""
    p = _softmax(z)
    mask = _onehot(y, z.shape[-1], bool)
    true_class = -np.sum(np.where(mask, 0, p), axis=-1, keepdims=True)
    return (np.where(mask, true_class, p) / z.shape[0]).astype(z.dtype)


def _chain_grad(x):
    g = np.zeros_like(x)
    g[:-1] += x[1:]
    g[1:] += x[:-1]
    return g


def _chain_grad_off_by_one(x):
    g = np.zeros_like(x)
    g[:-1] += x[1:]
    g[1:-1] += x[:-2]  # BUG: the slice stops one early, so the last coordinate misses its neighbour
    return g


def _sigmoid_overflowing(x):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(x) / (1.0 + np.exp(x))  # BUG: inf / inf = nan once exp overflows (x > 709.78)


def _sigmoid_cancelling(x):
    return 1.0 - 1.0 / (1.0 + np.exp(x))  # BUG: 1 − (1 − tiny) = 0 for x < −37


def _hinge_grad(s, y):
    return np.where(y * s <= 1.0, -y, 0.0)  # at the margin: −y, the left slope, a valid subgradient


def _max_grad(x):
    g = np.zeros_like(x)
    g[np.argmax(x)] = 1.0
    return g


# --- strategies (built lazily: hypothesis is imported only when searching) ------------------------


def _vectors(low: float, high: float, size: int = 6, dtype=np.float64):
    def build():
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp

        width = 32 if dtype == np.float32 else 64
        elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=width)
        return hnp.arrays(dtype, size, elements=elements).map(lambda x: (x,))
    return build


def _logits_and_labels(n: int = 4, k: int = 10, bound: float = 8.0, dtype=np.float64):
    def build():
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp

        width = 32 if dtype == np.float32 else 64
        z = hnp.arrays(dtype, (n, k), elements=st.floats(-bound, bound, width=width))
        y = hnp.arrays(np.int64, n, elements=st.integers(0, k - 1))
        return st.tuples(z, y)
    return build


def _scores_and_signs(n: int = 6):
    def build():
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp

        s = hnp.arrays(np.float64, n, elements=st.sampled_from([-1.0, 1.0]) | st.floats(-3, 3))
        y = hnp.arrays(np.float64, n, elements=st.sampled_from([-1.0, 1.0]))
        return st.tuples(s, y)
    return build


_RNG = np.random.default_rng(20240917)
_Z = _RNG.normal(size=(4, 10)) * 2.0
_Y = np.array([3, 0, 9, 3])
_X6 = np.array([-2.5, -0.75, 0.3, 1.2, 2.0, 3.1])

WRONG: tuple[ZooCase, ...] = (
    ZooCase("sign_error", "d/dx cos x written as +sin x", _sum_cos, lambda x: np.sin(x), (_X6,), _vectors(-4, 4)),
    ZooCase("missing_factor", "d/dx x² written as x (factor 2 missing)", _sum_squares, lambda x: x.copy(),
            (_X6,), _vectors(-4, 4)),
    ZooCase("negative_branch_only", "ELU' returns ELU(x) instead of ELU(x) + 1 for x < 0", _elu,
            lambda x: np.where(x > 0, 1.0, np.expm1(x)), (_X6,), _vectors(-4, 4)),
    ZooCase("one_coordinate_only", "off-by-one slice: the last coordinate misses a term", _chain,
            _chain_grad_off_by_one, (_X6,), _vectors(-4, 4)),
    ZooCase("mean_vs_sum", "gradient of the sum returned for the mean (factor N)", _cross_entropy, _ce_grad_sum,
            (_Z, _Y), _logits_and_labels()),
    ZooCase("large_inputs_only", "σ(x) as eˣ/(1+eˣ): nan once eˣ overflows (x > 709)", _softplus_stable,
            _sigmoid_overflowing, (np.array([-2.0, 0.5, 3.0, 800.0]),), _vectors(-1000, 1000, size=4)),
    ZooCase("underflow_to_zero", "σ(x) as 1 − 1/(1+eˣ): 0 where σ(x) ≈ 1e-18", _softplus, _sigmoid_cancelling,
            (np.array([-41.0, -3.0, 0.0, 2.5]),), _vectors(-60, 30, size=4)),
)

RIGHT: tuple[ZooCase, ...] = (
    ZooCase("sign_fixed", "", _sum_cos, lambda x: -np.sin(x), (_X6,), _vectors(-4, 4)),
    ZooCase("factor_fixed", "", _sum_squares, lambda x: 2.0 * x, (_X6,), _vectors(-4, 4)),
    ZooCase("elu", "", _elu, lambda x: np.where(x > 0, 1.0, np.exp(x)), (_X6,), _vectors(-4, 4)),
    ZooCase("chain", "", _chain, _chain_grad, (_X6,), _vectors(-4, 4)),
    ZooCase("cross_entropy_4x10", "", _cross_entropy, _ce_grad, (_Z, _Y), _logits_and_labels(bound=4.0)),
    ZooCase("softplus_tiny_gradients", "", _softplus, _sigmoid, (np.array([-41.0, -3.0, 0.0, 2.5]),),
            _vectors(-60, 30, size=4)),
    ZooCase("softplus_large_inputs", "", _softplus_stable, _sigmoid, (np.array([-2.0, 0.5, 3.0, 800.0]),),
            _vectors(-1000, 1000, size=4)),
    ZooCase("relu_at_kink", "", _relu, lambda x: (x > 0).astype(x.dtype), (np.array([-1.5, 0.0, 0.0, 2.0]),),
            _vectors(-2, 2, size=4), kink=True),
    ZooCase("hinge_at_margin", "", _hinge, _hinge_grad,
            (np.array([1.0, -1.0, 0.5, 2.0]), np.array([1.0, -1.0, 1.0, -1.0])), _scores_and_signs(), kink=True),
    ZooCase("max_at_tie", "", _max, _max_grad, (np.array([0.5, 2.0, 2.0, -1.0]),), _vectors(-2, 2, size=4),
            kink=True),
    ZooCase("float32_softplus", "", _softplus, _sigmoid, (np.array([-41.0, -3.0, 0.0, 2.5], np.float32),),
            _vectors(-60, 30, size=4, dtype=np.float32)),
    ZooCase("float32_tanh", "", _sum_tanh, lambda x: (1.0 / np.cosh(x) ** 2).astype(x.dtype),
            (np.array([-9.0, -0.5, 0.0, 3.0], np.float32),), _vectors(-20, 20, size=4, dtype=np.float32)),
    ZooCase("float32_cross_entropy", "", _cross_entropy, _ce_grad_accurate, (_Z.astype(np.float32), _Y),
            _logits_and_labels(dtype=np.float32)),
)

ZOO: tuple[ZooCase, ...] = WRONG + RIGHT


def case_named(cases: tuple[Any, ...], name: str, corpus: str) -> Any:
    """The case called ``name`` among ``cases`` (of this corpus or the layer corpus), else a KeyError listing them."""
    for case in cases:
        if case.name == name:
            return case
    raise KeyError(f"no {corpus} case {name!r}; choose from {[c.name for c in cases]}")


def get_case(name: str) -> ZooCase:
    return case_named(ZOO, name, "zoo")


# --- the peers --------------------------------------------------------------------------------------


def _verify_check(case: ZooCase) -> bool:
    from verify.checks.failure import CheckFailure
    from verify.checks.gradient import check_gradient

    try:
        check_gradient(case.f, case.grad, case.point)
    except CheckFailure:
        return False
    return True


def _torch_check(case: ZooCase) -> bool:
    import torch

    x0, rest = case.point[0], case.point[1:]

    class _Wrapped(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.tensor(float(case.f(x.detach().numpy(), *rest)), dtype=x.dtype)

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            g = np.asarray(case.grad(x.detach().numpy(), *rest), dtype=x.detach().numpy().dtype)
            return grad_out * torch.from_numpy(np.ascontiguousarray(g))

    x = torch.tensor(x0, requires_grad=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(torch.autograd.gradcheck(_Wrapped.apply, (x,), raise_exception=False))


def _jax_check(case: ZooCase) -> bool:
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    jax.config.update("jax_enable_x64", True)
    x0, rest = case.point[0], case.point[1:]
    dtype = x0.dtype

    def f_host(a):
        return np.asarray(case.f(np.asarray(a), *rest), dtype=dtype)

    def g_host(a):
        return np.asarray(case.grad(np.asarray(a), *rest), dtype=dtype)

    @jax.custom_vjp
    def wrapped(x):
        return jax.pure_callback(f_host, jax.ShapeDtypeStruct((), dtype), x)

    def fwd(x):
        return wrapped(x), x

    def bwd(x, cotangent):
        return (cotangent * jax.pure_callback(g_host, jax.ShapeDtypeStruct(x.shape, dtype), x),)

    wrapped.defvjp(fwd, bwd)
    try:
        check_grads(wrapped, (jnp.asarray(x0),), order=1, modes=("rev",))
    except AssertionError:
        return False
    return True


_TOOLS: dict[str, tuple[str, Callable[[ZooCase], bool]]] = {
    "verify": ("verify", _verify_check),
    "torch.autograd.gradcheck": ("torch", _torch_check),
    "jax.test_util.check_grads": ("jax", _jax_check),
}


def verdict(wrong: bool, passed: bool | None) -> str:
    """A tool's verdict on a case: ``caught`` / ``missed`` for a planted bug, ``ok`` / ``false alarm`` for a right
    implementation, ``n/a`` where the tool does not apply (``passed`` None)."""
    if passed is None:
        return "n/a"
    if wrong:
        return "missed" if passed else "caught"
    return "ok" if passed else "false alarm"


def median_seconds(run: Callable[[Any], object], case: Any, repeats: int) -> float:
    """The median wall time of ``run(case)`` over ``repeats`` runs (NaN for none)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(case)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) if times else float("nan")


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def compare_with_peers(
    cases: tuple[ZooCase, ...] = ZOO, *, repeats: int = 5, tools: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Run every case through every available tool: one row per (case, tool).

    A row: ``case``, ``bug`` ("" for a correct implementation), ``tool``, ``passed`` (the tool's
    verdict), ``outcome`` (``caught`` / ``missed`` for a wrong gradient, ``ok`` / ``false alarm`` for a
    right one, ``error: …`` if the tool raised) and ``ms`` (median wall time of one check over
    ``repeats`` runs, after one warm-up run that absorbs tracing and compilation). ``tools`` picks
    some of ``"verify"``, ``"torch.autograd.gradcheck"``, ``"jax.test_util.check_grads"`` (default:
    all that are installed). The peers see the same NumPy f and grad, wrapped as a
    ``torch.autograd.Function`` and as a ``jax.custom_vjp`` over ``jax.pure_callback`` (re-traced at
    every check, which is part of jax's time here).
    """
    rows = []
    for tool, (module, run) in _TOOLS.items():
        if (tools is not None and tool not in tools) or not _available(module):
            continue
        for case in cases:
            try:
                passed = run(case)
                ms = 1e3 * median_seconds(run, case, repeats)
                outcome = verdict(case.wrong, passed)
            except Exception as exc:  # noqa: BLE001 - a peer that crashes is a finding, not a stop
                passed, ms, outcome = None, float("nan"), f"error: {type(exc).__name__}: {exc}"[:120]
            rows.append({"case": case.name, "bug": case.bug, "tool": tool, "passed": passed,
                         "outcome": outcome, "ms": ms})
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`compare_with_peers` as a Markdown table, one line per case."""
    tools = list(dict.fromkeys(row["tool"] for row in rows))
    cases = list(dict.fromkeys(row["case"] for row in rows))
    cell = {(row["case"], row["tool"]): row for row in rows}
    header = "| case | wrong? | " + " | ".join(f"{t} (ms)" for t in tools) + " |"
    lines = [header, "|" + "---|" * (2 + len(tools))]
    for name in cases:
        bug = next(row["bug"] for row in rows if row["case"] == name)
        cells = []
        for t in tools:
            row = cell.get((name, t))
            cells.append("n/a" if row is None else f"{row['outcome']} ({row['ms']:.2f})")
        lines.append(f"| {name} | {bug or 'no'} | " + " | ".join(cells) + " |")
    for t in tools:
        mine = [row for row in rows if row["tool"] == t]
        caught = sum(row["outcome"] == "caught" for row in mine)
        wrong = sum(bool(row["bug"]) for row in mine)
        alarms = sum(row["outcome"] == "false alarm" for row in mine)
        right = sum(not row["bug"] for row in mine)
        lines.append(f"\n{t}: caught {caught}/{wrong} wrong gradients, {alarms}/{right} false alarms, "
                     f"median {np.nanmedian([row['ms'] for row in mine]):.2f} ms per check")
    return "\n".join(lines)
