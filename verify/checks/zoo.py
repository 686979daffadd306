"""A zoo of wrong and right gradients, as data, and the detection table against the peers.

Each :class:`ZooCase` is a function ``f(*args) -> float``, a gradient ``grad(*args)`` (w.r.t. ``args[0]``),
a point where the bug shows (or a typical point for a correct one), and a Hypothesis strategy of
points to search. ``bug`` is empty for a correct implementation, which every checker must accept.

The wrong ones are the mistakes people make when deriving a gradient by hand: a sign error, a missing
factor, a wrong branch, an off-by-one in one coordinate, mean-vs-sum scaling, an overflow for large
inputs, and cancellation that underflows to 0 where ``f`` resolves it (``1 − 1/(1+eˣ)`` is 0 where
``σ(x) ≈ 1e-18``, with every ``x`` in ``[−60, −30]`` so that ``f ≈ 1e-14``).
The right ones include valid subgradients at kinks (ReLU at 0, the hinge at its margin, ``max`` at a
tie), float32 gradients at float32 accuracy, and the same cancelling sigmoid where ``f`` is of order 1: its
error (``1.6e-18`` at ``x = −41``, ``f ≈ 3.3``) is below ``f``'s resolution, so no evaluation of ``f`` can observe
it — exactly as ``1 − tanh²`` at 20 (check_gradient's tolerance term (d)).

:func:`compare_with_peers` runs every case through ``verify.check_gradient``,
``torch.autograd.gradcheck`` (defaults: eps 1e-6, atol 1e-5, rtol 1e-3, full Jacobian) and
``jax.test_util.check_grads`` (reverse mode, one random direction, tolerance 1e-5 in float64),
whichever are installed, and returns one row per case and tool; :func:`format_table` lays them out.
The same functions run the large generated corpus (:mod:`verify.checks.corpus`); ``verify bench``
reuses them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ZooCase", "ZOO", "WRONG", "RIGHT", "TOOLS", "OUTCOMES", "get_case", "compare_with_peers", "tally",
           "format_table"]


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


def _one_large(low: float, high: float, rest_low: float, rest_high: float, size: int):
    """Vectors whose first entry is in [low, high] and the others in [rest_low, rest_high]."""
    def build():
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp

        first = st.floats(low, high, allow_nan=False)
        rest = hnp.arrays(np.float64, size - 1, elements=st.floats(rest_low, rest_high, allow_nan=False))
        return st.tuples(first, rest).map(lambda t: (np.concatenate([[t[0]], t[1]]),))
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
    ZooCase("underflow_to_zero", "σ(x) as 1 − 1/(1+eˣ): 0 where σ(x) ≈ 1e-18 and f ≈ 1e-14 resolves it", _softplus,
            _sigmoid_cancelling, (np.array([-41.0, -33.0, -50.0, -30.0]),), _vectors(-60, -30, size=4)),
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
    ZooCase("cancelling_sigmoid_below_f_resolution", "", _softplus, _sigmoid_cancelling,
            (np.array([-41.0, -3.0, 0.0, 2.5]),), _one_large(2.0, 30.0, -60.0, 30.0, size=4)),
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
#
# Each tool takes a case (anything with ``f``, ``grad``, ``point`` and ``wrong``: a ZooCase or a
# verify.checks.corpus.CorpusCase) and returns ("passed" | "failed" | "unverified", detail); an
# exception it raises is the outcome "error".


def _verify_check(case) -> tuple[str, str]:
    from verify.checks.failure import CheckFailure
    from verify.checks.gradient import check_gradient

    try:
        report = check_gradient(case.f, case.grad, case.point)
    except CheckFailure as exc:
        return "failed", str(exc).splitlines()[0]
    if getattr(report, "unverified", 0):
        return "unverified", f"{report.unverified} unverified entr{'y' if report.unverified == 1 else 'ies'}"
    return "passed", ""


def _as_float64(case) -> tuple[np.ndarray, tuple, np.dtype]:
    """The differentiated argument in float64 (the peers run in float64), the rest, and the case's dtype."""
    x0 = np.asarray(case.point[0])
    return x0.astype(np.float64), tuple(case.point[1:]), x0.dtype


def _grad_at(case, x64: np.ndarray, rest: tuple, dtype) -> np.ndarray:
    """The case's gradient at its own dtype (a float32 case's grad sees float32), returned in float64."""
    with np.errstate(all="ignore"):
        return np.asarray(case.grad(x64.astype(dtype), *rest), dtype=np.float64)


def _torch_check(case) -> tuple[str, str]:
    import warnings

    import torch

    x64, rest, dtype = _as_float64(case)

    class _Wrapped(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            with np.errstate(all="ignore"):
                return torch.tensor(float(case.f(x.detach().numpy(), *rest)), dtype=torch.float64)

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            g = _grad_at(case, x.detach().numpy(), rest, dtype)
            return grad_out * torch.from_numpy(np.ascontiguousarray(g))

    x = torch.tensor(x64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ok = torch.autograd.gradcheck(_Wrapped.apply, (x,), raise_exception=False)
    return ("passed", "") if ok else ("failed", "gradcheck returned False")


def _jax_check(case) -> tuple[str, str]:
    """check_grads at float64 under the scoped ``jax.enable_x64`` (the caller's global setting is left alone)."""
    import jax

    with jax.enable_x64(True):
        return _jax_check_float64(case)


def _jax_check_float64(case) -> tuple[str, str]:
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    x64, rest, dtype = _as_float64(case)

    def f_host(a):
        with np.errstate(all="ignore"):
            return np.asarray(case.f(np.asarray(a), *rest), dtype=np.float64)

    def g_host(a):
        return _grad_at(case, np.asarray(a), rest, dtype)

    @jax.custom_vjp
    def wrapped(x):
        return jax.pure_callback(f_host, jax.ShapeDtypeStruct((), jnp.float64), x)

    def fwd(x):
        return wrapped(x), x

    def bwd(x, cotangent):
        return (cotangent * jax.pure_callback(g_host, jax.ShapeDtypeStruct(x.shape, jnp.float64), x),)

    wrapped.defvjp(fwd, bwd)
    try:
        check_grads(wrapped, (jnp.asarray(x64),), order=1, modes=("rev",))
    except AssertionError as exc:
        return "failed", str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "AssertionError"
    return "passed", ""


_TOOLS: dict[str, tuple[str, Callable[[Any], tuple[str, str]]]] = {
    "verify": ("verify", _verify_check),
    "torch.autograd.gradcheck": ("torch", _torch_check),
    "jax.test_util.check_grads": ("jax", _jax_check),
}
TOOLS = tuple(_TOOLS)

# The outcome of one check: a wrong gradient is caught or missed, a right one passed or a false alarm;
# "unverified" (verify only: an entry no reference could resolve) and "error" (the tool raised) are
# neither, for both kinds.
OUTCOMES = ("caught", "missed", "passed", "false alarm", "unverified", "error")


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


def _outcome(wrong: bool, verdict: str) -> str:
    if verdict == "unverified":
        return "unverified"
    if wrong:
        return "missed" if verdict == "passed" else "caught"
    return "passed" if verdict == "passed" else "false alarm"


def compare_with_peers(
    cases=ZOO, *, repeats: int = 5, tools: tuple[str, ...] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every case through every available tool: one row per (case, tool).

    ``cases``: ZooCases, or anything with ``name``, ``f``, ``grad``, ``point`` (``point[0]`` is
    differentiated) and ``wrong`` — e.g. :class:`verify.checks.corpus.CorpusCase`, whose ``family``,
    ``kind``, ``mutation``, ``implementation``, ``dtype`` and ``tags`` are copied into the row.

    A row: ``case``, ``bug`` ("" for a correct implementation), ``tool``, ``passed`` (the tool's
    verdict: True, False, or None when unverified or the tool raised), ``outcome`` (one of
    :data:`OUTCOMES`), ``detail`` (the first line of the failure, or the error) and ``ms`` (the median
    wall time of one check over ``repeats`` runs after the verdict's run, which absorbs tracing and
    compilation; with ``repeats=0`` the time of the verdict's run itself, after one untimed warm-up
    check of the first case per tool). ``tools`` picks some of
    :data:`TOOLS` (default: all that are installed). The peers see the same NumPy f and grad, in
    float64 (a float32 case's grad still computes in float32): ``torch.autograd.gradcheck`` with its
    defaults (eps 1e-6, atol 1e-5, rtol 1e-3) on a ``torch.autograd.Function`` whose backward is
    ``grad``, and ``jax.test_util.check_grads`` (order 1, modes ("rev",), jax_enable_x64) on a
    ``jax.custom_vjp`` over ``jax.pure_callback`` (re-traced at every check, which is part of jax's
    time here). ``progress(done, total)`` is called after each check.
    """
    rows = []
    chosen = [(tool, run) for tool, (module, run) in _TOOLS.items()
              if (tools is None or tool in tools) and _available(module)]
    total, done = len(chosen) * len(cases), 0
    for tool, run in chosen:
        if repeats == 0 and cases:
            try:  # one untimed run: the first check would otherwise carry the JIT compile or trace of the tool
                run(cases[0])
            except Exception:  # noqa: BLE001 - its outcome is recorded below
                pass
        for case in cases:
            try:
                start = time.perf_counter()
                said, detail = run(case)
                first = time.perf_counter() - start
                ms = 1e3 * (median_seconds(run, case, repeats) if repeats else first)
                outcome = _outcome(case.wrong, said)
                passed = None if said == "unverified" else said == "passed"
            except Exception as exc:  # noqa: BLE001 - a tool that crashes is a finding, not a stop
                passed, ms, outcome = None, float("nan"), "error"
                detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            rows.append({"case": case.name, "bug": getattr(case, "bug", ""), "tool": tool, "passed": passed,
                         "outcome": outcome, "detail": detail, "ms": ms, **_labels(case)})
            done += 1
            if progress is not None:
                progress(done, total)
    return rows


def _labels(case) -> dict[str, Any]:
    family = getattr(case, "family", None)
    return {
        "kind": getattr(case, "kind", "mutant" if case.wrong else "correct"),
        "family": getattr(family, "name", family) or case.name,
        "mutation": getattr(case, "mutation", "") or ("" if not case.wrong else "zoo"),
        "implementation": getattr(case, "implementation", ""),
        "dtype": str(np.asarray(case.point[0]).dtype),
        "tags": tuple(getattr(case, "tags", ())),
    }


def tally(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per tool: the count of each outcome, ``wrong`` and ``right`` (the cases of each kind) and the
    median and total milliseconds per check."""
    out: dict[str, dict[str, Any]] = {}
    for tool in dict.fromkeys(row["tool"] for row in rows):
        mine = [row for row in rows if row["tool"] == tool]
        counts = {o: sum(row["outcome"] == o for row in mine) for o in OUTCOMES}
        ms = [row["ms"] for row in mine]
        out[tool] = {**counts, "wrong": sum(bool(row["bug"]) or row.get("kind") == "mutant" for row in mine),
                     "right": sum(not (bool(row["bug"]) or row.get("kind") == "mutant") for row in mine),
                     "median_ms": float(np.nanmedian(ms)) if mine else float("nan"),
                     "total_s": float(np.nansum(ms)) / 1e3}
    return out


def _summary_line(tool: str, t: dict[str, Any]) -> str:
    line = (f"{tool}: caught {t['caught']}/{t['wrong']} wrong gradients, {t['false alarm']}/{t['right']} false "
            f"alarms")
    extra = [f"{t[o]} {o}" for o in ("unverified", "error") if t[o]]
    if extra:
        line += " (" + ", ".join(extra) + ")"
    return line + f", median {t['median_ms']:.2f} ms per check"


def format_table(rows: list[dict[str, Any]], *, per_case: bool = True, by: str | None = None) -> str:
    """The rows of :func:`compare_with_peers` as Markdown: one line per case (``per_case``), a table of
    the outcomes grouped ``by`` a row field (e.g. ``"mutation"``, ``"family"``, ``"implementation"``,
    ``"dtype"``, ``"tags"``), and one summary line per tool."""
    tools = list(dict.fromkeys(row["tool"] for row in rows))
    lines: list[str] = []
    if per_case:
        cases = list(dict.fromkeys(row["case"] for row in rows))
        cell = {(row["case"], row["tool"]): row for row in rows}
        bugs = {}
        for row in rows:
            bugs.setdefault(row["case"], row["bug"])
        lines += ["| case | wrong? | " + " | ".join(f"{t} (ms)" for t in tools) + " |",
                  "|" + "---|" * (2 + len(tools))]
        for name in cases:
            cells = []
            for t in tools:
                row = cell.get((name, t))
                cells.append("n/a" if row is None else f"{row['outcome']} ({row['ms']:.2f})")
            lines.append(f"| {name} | {bugs[name] or 'no'} | " + " | ".join(cells) + " |")
    if by is not None:
        lines += ["", _grouped(rows, by, tools)]
    totals = tally(rows)
    lines.append("")
    lines += [_summary_line(t, totals[t]) for t in tools]
    return "\n".join(lines).strip("\n")


def _grouped(rows, by: str, tools) -> str:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        keys = row.get(by, "")
        for key in (keys if isinstance(keys, tuple) else (keys,)) or ("",):
            groups.setdefault((str(key), row["tool"]), []).append(row)
    out = [f"| {by} | tool | caught | missed | passed | false alarm | unverified | error |", "|---" * 8 + "|"]
    for key in sorted({k for k, _ in groups}):
        for tool in tools:
            mine = groups.get((key, tool))
            if not mine:
                continue
            counts = [sum(r["outcome"] == o for r in mine) for o in OUTCOMES]
            out.append(f"| {key or '—'} | {tool} | " + " | ".join(str(c) for c in counts) + " |")
    return "\n".join(out)
