r"""The exact reference for every optimizer update rule, and the known alternative forms of each.

Every rule of :mod:`verify.kernels.optimizers` is written here a second time, coordinate by coordinate, in
the plainest form of its source, and run on the *exact* values of the floats it is given:

- in exact rational arithmetic (:class:`fractions.Fraction`) where only field operations occur
  (``sgd``, ``momentum``, ``ema_momentum``, ``nesterov``): the iterates are exact, and rounding them
  once gives the correctly rounded float64 result;
- with :mod:`mpmath` at :data:`REFERENCE_DPS` (60) significant digits where square roots appear
  (``adagrad``, ``adagrad_norm``, ``rmsprop``, ``adam``): T ≤ 50 steps of a few dozen operations each
  lose at most a few hundred units of 10⁻⁶⁰, far below one float64 ULP (10⁻¹⁶), so rounding the result
  to float64 is correct except in the astronomically rare case of a value within 10⁻⁵⁸ of a tie.

Division by zero (possible only with ε = 0, or in the mistaken forms below) gives ±inf or NaN as IEEE
arithmetic would, so the reference and a float implementation can be compared there too.

:func:`reference_run` is the truth; :func:`magnitude_run` runs the same recurrence on ``|g|`` in plain
floats, which bounds the size of every intermediate quantity and is what the rounding-error bound of
:func:`verify.check_optimizer` is built from. :func:`variants` lists, for a rule, the other libraries'
conventions and the common mistakes (bias correction ``1 + βᵗ`` as written in ``002_1388b78ad9a2d202.txt``,
``t`` counted from 0, state reset every step, β₁ and β₂ swapped, a missing ``(1 − β)``, the learning rate
applied twice, …), each runnable through the same exact reference, so that a failing implementation can
be told which of them it follows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import numpy as np

from verify._validate import as_float_array
from verify.kernels.optimizers import RULES, rule_spec, validate_hyperparameters

__all__ = [
    "REFERENCE_DPS",
    "EXACT_RULES",
    "ReferenceRun",
    "reference_run",
    "magnitude_run",
    "float_run",
    "Variant",
    "variants",
]

REFERENCE_DPS = 60
EXACT_RULES = frozenset({"sgd", "momentum", "ema_momentum", "nesterov"})


# --------------------------------------------------------------------------- arithmetic


class _Arithmetic:
    """Number conversion, square root and IEEE-like division for one kind of reference run."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "fraction":
            self.num = Fraction  # exact for every float
            self.sqrt = _no_sqrt
            self.nan, self.inf = math.nan, math.inf
        elif kind == "mpmath":
            self.num = mpmath.mpf  # exact for floats at >= 53 bits of working precision
            self.sqrt = mpmath.sqrt
            self.nan, self.inf = mpmath.nan, mpmath.inf
        else:  # "float": magnitudes only, never the truth
            self.num = float
            self.sqrt = math.sqrt
            self.nan, self.inf = math.nan, math.inf

    def value(self, v):
        """``v`` in this arithmetic (exactly, for floats and ints); strings (options) pass through."""
        if isinstance(v, str):
            return v
        if self.kind == "fraction":
            return v if isinstance(v, Fraction) else Fraction(v)
        if self.kind == "mpmath":
            return v if isinstance(v, mpmath.mpf) else mpmath.mpf(v)
        return float(v)

    def div(self, a, b):
        if b == 0:
            if a == 0 or a != a:
                return self.nan
            return self.inf if a > 0 else -self.inf
        return a / b

    def describe(self, dps: int) -> str:
        if self.kind == "fraction":
            return "exact rational arithmetic (fractions.Fraction)"
        if self.kind == "mpmath":
            return f"mpmath with {dps} significant digits"
        return "float64 (magnitudes)"


def _no_sqrt(x):  # pragma: no cover - a rule listed in EXACT_RULES never takes a square root
    raise TypeError("square root requested in exact rational arithmetic")


# --------------------------------------------------------------------------- the rules, coordinate-wise
# Each returns (Δ, new_state) with θ_t = θ_{t-1} − Δ. ``h`` holds converted numbers and the options.
# Keyword flags select the alternative forms listed by ``variants``; the defaults are the rule itself.


def _sgd(theta, g, state, t, h, A):
    return [h["lr"] * gi for gi in g], {}


def _momentum(theta, g, state, t, h, A):
    mu = h["momentum"]
    b = [mu * bi + gi for bi, gi in zip(state["b"], g, strict=True)]
    return [h["lr"] * bi for bi in b], {"b": b}


def _ema_momentum(theta, g, state, t, h, A):
    beta = h["beta"]
    m = [beta * mi + (1 - beta) * gi for mi, gi in zip(state["m"], g, strict=True)]
    return [h["lr"] * mi for mi in m], {"m": m}


def _nesterov(theta, g, state, t, h, A):
    mu = h["momentum"]
    b = [mu * bi + gi for bi, gi in zip(state["b"], g, strict=True)]
    return [h["lr"] * (gi + mu * bi) for gi, bi in zip(g, b, strict=True)], {"b": b}


def _adagrad(theta, g, state, t, h, A, *, include_current=True, root=True):
    v = [vi + gi * gi for vi, gi in zip(state["v"], g, strict=True)]
    used = v if include_current else state["v"]
    eps = h["eps"]
    if not root:
        den = [vi + eps for vi in used]
    elif h["eps_mode"] == "inside":
        den = [A.sqrt(vi + eps) for vi in used]
    else:
        den = [A.sqrt(vi) + eps for vi in used]
    return [h["lr"] * A.div(gi, di) for gi, di in zip(g, den, strict=True)], {"v": v}


def _adagrad_norm(theta, g, state, t, h, A, *, include_current=True, eps_outside=False):
    (acc,) = state["acc"]
    new = acc + sum((gi * gi for gi in g), A.num(0.0))
    used = new if include_current else acc
    den = A.sqrt(used) + h["eps"] if eps_outside else A.sqrt(h["eps"] + used)
    return [h["lr"] * A.div(gi, den) for gi in g], {"acc": [new]}


def _rmsprop(theta, g, state, t, h, A, *, ema=True, bias_correction=False):
    rho = h["rho"]
    w = (1 - rho) if ema else 1
    v = [rho * vi + w * gi * gi for vi, gi in zip(state["v"], g, strict=True)]
    c = (1 - rho**t) if bias_correction else 1
    vh = [A.div(vi, c) for vi in v]
    if h["eps_mode"] == "outside":
        den = [A.sqrt(x) + h["eps"] for x in vh]
    else:
        den = [A.sqrt(x + h["eps"]) for x in vh]
    return [h["lr"] * A.div(gi, di) for gi, di in zip(g, den, strict=True)], {"v": v}


def _adam(theta, g, state, t, h, A, *, bias=-1, ema1=True, ema2=True):
    b1, b2, lr, eps = h["beta1"], h["beta2"], h["lr"], h["eps"]
    w1 = (1 - b1) if ema1 else 1
    w2 = (1 - b2) if ema2 else 1
    m = [b1 * mi + w1 * gi for mi, gi in zip(state["m"], g, strict=True)]
    v = [b2 * vi + w2 * gi * gi for vi, gi in zip(state["v"], g, strict=True)]
    c1 = 1 + bias * b1**t if bias else 1
    c2 = 1 + bias * b2**t if bias else 1
    mode = h["eps_mode"]
    if mode == "kingma":
        delta = [lr * A.div(A.div(mi, c1), A.sqrt(A.div(vi, c2)) + eps) for mi, vi in zip(m, v, strict=True)]
    elif mode == "keras":
        step = A.div(lr * A.sqrt(c2), c1)
        delta = [step * A.div(mi, A.sqrt(vi) + eps) for mi, vi in zip(m, v, strict=True)]
    else:
        delta = [lr * A.div(A.div(mi, c1), A.sqrt(A.div(vi, c2) + eps)) for mi, vi in zip(m, v, strict=True)]
    return delta, {"m": m, "v": v}


_STEPS: dict[str, Callable] = {
    "sgd": _sgd,
    "momentum": _momentum,
    "ema_momentum": _ema_momentum,
    "nesterov": _nesterov,
    "adagrad": _adagrad,
    "adagrad_norm": _adagrad_norm,
    "rmsprop": _rmsprop,
    "adam": _adam,
}


# --------------------------------------------------------------------------- running a rule


@dataclass(frozen=True)
class ReferenceRun:
    """The trajectory of a rule, exact, and rounded to float64.

    ``iterates[t-1]`` is θ after step t; ``updates[t-1]`` is Δ_t with θ_t = θ_{t−1} − Δ_t; ``states[name]``
    stacks the state after each step, shape (T, n) or (T, 1). ``exact_*`` keep the unrounded values
    (:class:`fractions.Fraction` or ``mpmath.mpf``).
    """

    rule: str
    hyper: dict
    arithmetic: str
    iterates: np.ndarray
    updates: np.ndarray
    states: dict[str, np.ndarray]
    exact_iterates: tuple = field(repr=False, default=())
    exact_states: dict = field(repr=False, default_factory=dict)


def _to_float_array(rows) -> np.ndarray:
    return np.array([[float(x) for x in row] for row in rows], dtype=np.float64)


def _run(
    rule: str,
    theta0: np.ndarray,
    grads: np.ndarray,
    hyper: Mapping,
    arithmetic: str,
    *,
    flags: Mapping | None = None,
    transform: Callable[[dict], dict] | None = None,
    reset: bool = False,
    t_map: Callable[[int], int] | None = None,
    dps: int = REFERENCE_DPS,
) -> ReferenceRun:
    """Run ``rule`` (or one of its alternative forms) without validating ``hyper``."""
    spec = RULES[rule]
    A = _Arithmetic(arithmetic)
    step = _STEPS[rule]
    flags = dict(flags or {})
    n = theta0.shape[0]
    with mpmath.workdps(dps):
        h = {k: A.value(v) for k, v in hyper.items()}
        if transform is not None:  # applied to the exact values, so that e.g. α² and 1 − β are exact
            h = {k: A.value(v) for k, v in transform(h).items()}
        zero = A.num(0.0)

        def fresh():
            return {s: [zero] * (1 if s in spec.scalar_state else n) for s in spec.state}

        theta = [A.num(x) for x in theta0.tolist()]
        state = fresh()
        iterates, updates = [], []
        states = {s: [] for s in spec.state}
        for t, row in enumerate(grads.tolist(), start=1):
            if reset:
                state = fresh()
            g = [A.num(x) for x in row]
            delta, state = step(theta, g, state, t_map(t) if t_map else t, h, A, **flags)
            theta = [a - d for a, d in zip(theta, delta, strict=True)]
            iterates.append(theta)
            updates.append(delta)
            for s in spec.state:
                states[s].append(state[s])
        T = len(iterates)
        return ReferenceRun(
            rule=rule,
            hyper=dict(hyper),
            arithmetic=A.describe(dps),
            iterates=_to_float_array(iterates).reshape(T, n),
            updates=_to_float_array(updates).reshape(T, n),
            states={s: _to_float_array(v).reshape(T, -1) for s, v in states.items()},
            exact_iterates=tuple(tuple(r) for r in iterates),
            exact_states={s: tuple(tuple(r) for r in v) for s, v in states.items()},
        )


def _inputs(theta0, grads) -> tuple[np.ndarray, np.ndarray]:
    theta0 = as_float_array(theta0, "theta0", ndim=1)
    grads = as_float_array(grads, "grads", ndim=2)
    if grads.shape[1] != theta0.shape[0]:
        raise ValueError(f"grads must have shape (T, {theta0.shape[0]}) to match theta0; got {grads.shape}")
    return theta0, grads


def reference_run(rule: str, theta0, grads, *, dps: int = REFERENCE_DPS, **hyper) -> ReferenceRun:
    """The exact trajectory of ``rule`` from ``theta0`` over the gradient sequence ``grads`` (T, n).

    Fresh (zero) state, steps counted from 1, ``hyper`` as for the kernels (options default to the
    rule's primary form). Runs in :class:`fractions.Fraction` for :data:`EXACT_RULES` and in mpmath at
    ``dps`` digits otherwise; every input float is converted exactly.
    """
    theta0, grads = _inputs(theta0, grads)
    h = validate_hyperparameters(rule, hyper)
    return _run(rule, theta0, grads, h, "fraction" if rule in EXACT_RULES else "mpmath", dps=dps)


def float_run(rule: str, theta0, grads, **hyper) -> ReferenceRun:
    """The same recurrence in plain float64 Python arithmetic: fast, approximate, **never the truth**.

    :func:`verify.check_optimizer` uses it only to reject, without the exact run, trajectories that are
    wrong by far more than any rounding (while it searches and shrinks a failing input).
    """
    theta0, grads = _inputs(theta0, grads)
    h = validate_hyperparameters(rule, hyper)
    return _run(rule, theta0.astype(np.float64), grads.astype(np.float64), h, "float")


def magnitude_run(rule: str, grads, **hyper) -> ReferenceRun:
    """``rule`` run in float64 from θ = 0 on ``|grads|``: the size of every update and state.

    Every rule here is monotone in ``|g|`` coordinate-wise (its state is a non-negative combination of
    past ``g`` or a function of ``g²``), so ``|Δ_t|`` and the state magnitudes of this run bound those
    of the true run and of every partial sum formed on the way: they are the scale that rounding errors
    are measured against (Higham, *Accuracy and Stability of Numerical Algorithms*, §3).
    """
    grads = as_float_array(grads, "grads", ndim=2)
    h = validate_hyperparameters(rule, hyper)
    return _run(rule, np.zeros(grads.shape[1]), np.abs(grads), h, "float")


# --------------------------------------------------------------------------- alternative forms


@dataclass(frozen=True)
class Variant:
    """Another library's convention or a common mistake, runnable through the exact reference.

    ``rule`` is the reference rule it runs; ``transform`` maps the checked rule's hyperparameters (with
    options filled in) to that rule's; ``flags`` select an alternative form inside the rule; ``reset``
    zeroes the state before every step; ``t_map`` changes the step number the rule sees.
    """

    name: str
    description: str
    kind: str  # "convention" or "mistake"
    rule: str
    transform: Callable[[dict], dict] | None = None
    flags: Mapping = field(default_factory=dict)
    reset: bool = False
    t_map: Callable[[int], int] | None = None

    def hyper(self, hyper: Mapping) -> dict:
        return dict(self.transform(dict(hyper))) if self.transform else dict(hyper)

    def reference(self, theta0, grads, hyper: Mapping, *, dps: int = REFERENCE_DPS) -> ReferenceRun:
        """The exact trajectory of this form (same arithmetic as :func:`reference_run`)."""
        theta0, grads = _inputs(theta0, grads)
        sqrt_free = self.rule in EXACT_RULES
        return _run(self.rule, theta0, grads, dict(hyper), "fraction" if sqrt_free else "mpmath",
                    flags=self.flags, transform=self.transform, reset=self.reset, t_map=self.t_map, dps=dps)

    def magnitudes(self, grads, hyper: Mapping) -> ReferenceRun:
        grads = as_float_array(grads, "grads", ndim=2)
        return _run(self.rule, np.zeros(grads.shape[1]), np.abs(grads), dict(hyper), "float",
                    flags=self.flags, transform=self.transform, reset=self.reset, t_map=self.t_map)


def _with(**changes) -> Callable[[dict], dict]:
    """A transform that replaces hyperparameters by functions of the old ones."""

    def transform(h: dict) -> dict:
        out = dict(h)
        for key, fn in changes.items():
            out[key] = fn(h)
        return out

    return transform


def _only(*keys: str, **extra) -> Callable[[dict], dict]:
    """A transform to another rule: keep ``keys``, add ``extra`` (values: functions of the old hyper)."""

    def transform(h: dict) -> dict:
        out = {k: h[k] for k in keys}
        out.update({k: fn(h) for k, fn in extra.items()})
        return out

    return transform


_EPS_FORMS = {
    "adagrad": {
        "inside": "ε inside the square root: α g / √(v + ε) (eps_mode='inside', seed 002's AdaGrad)",
        "outside": "ε outside the square root: α g / (√v + ε) (eps_mode='outside', as in torch.optim.Adagrad "
        "and Duchi et al. 2011)",
    },
    "rmsprop": {
        "outside": "ε outside the square root: α g / (√v + ε) (eps_mode='outside', as in torch.optim.RMSprop)",
        "inside": "ε inside the square root: α g / √(v + ε) (eps_mode='inside', as in TensorFlow 1's RMSProp)",
    },
    "adam": {
        "kingma": "ε outside the square root, after bias correction: α m̂ / (√v̂ + ε) (eps_mode='kingma', "
        "Kingma & Ba Algorithm 1, torch.optim.Adam)",
        "keras": "the ε̂ form α √(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε̂) (eps_mode='keras', as in Keras/TensorFlow)",
        "inside": "ε inside the square root: α m̂ / √(v̂ + ε) (eps_mode='inside', optax's eps_root)",
    },
}


def _common(rule: str) -> list[Variant]:
    out = [
        Variant("lr_squared", "the learning rate applied twice (α² in place of α)", "mistake", rule,
                _with(lr=lambda h: h["lr"] * h["lr"])),
        Variant("double_step", "the update applied twice per step (2α in place of α)", "mistake", rule,
                _with(lr=lambda h: 2 * h["lr"])),
        Variant("ascent", "the update added instead of subtracted (θ + α·…: gradient ascent)", "mistake", rule,
                _with(lr=lambda h: -h["lr"])),
    ]
    if RULES[rule].state:
        out.append(Variant("reset", "the optimizer state reset to zero before every step (no memory across "
                           "steps)", "mistake", rule, reset=True))
    return out


def variants(rule: str, hyper: Mapping | None = None) -> list[Variant]:
    """The known alternative forms of ``rule``: other conventions first, then common mistakes.

    ``hyper`` (optional) supplies the options in use (e.g. ``eps_mode``) so that the *other* choices are
    listed as conventions.
    """
    spec = rule_spec(rule)
    options = {k: (hyper or {}).get(k, spec.defaults[k]) for k in spec.options}
    out: list[Variant] = []
    if rule in _EPS_FORMS:
        for mode, text in _EPS_FORMS[rule].items():
            if mode != options["eps_mode"]:
                out.append(Variant(f"eps_mode={mode}", text, "convention", rule, _with(eps_mode=lambda h, m=mode: m)))
    out.extend(_SPECIFIC.get(rule, lambda: [])())
    out.extend(_common(rule))
    return out


def _momentum_variants() -> list[Variant]:
    mu = lambda h: h["momentum"]
    return [
        Variant("ema_momentum", "EMA momentum m ← μ m + (1 − μ) g (seed 002's SGM; PyTorch with dampening = μ) "
                "instead of heavy ball b ← μ b + g", "convention", "ema_momentum", _only("lr", beta=mu)),
        Variant("nesterov", "Nesterov momentum θ ← θ − α (g + μ b) (PyTorch nesterov=True)", "convention",
                "nesterov", _only("lr", "momentum")),
    ]


def _ema_variants() -> list[Variant]:
    beta = lambda h: h["beta"]
    return [
        Variant("heavy_ball", "heavy-ball momentum b ← β b + g: the factor (1 − β) on the gradient is missing",
                "mistake", "momentum", _only("lr", momentum=beta)),
        Variant("swapped_weights", "β and 1 − β swapped: m ← (1 − β) m + β g", "mistake", "ema_momentum",
                _with(beta=lambda h: 1 - h["beta"])),
    ]


def _nesterov_variants() -> list[Variant]:
    return [
        Variant("heavy_ball", "heavy-ball momentum θ ← θ − α b (the Nesterov look-ahead term μ b is missing)",
                "convention", "momentum", _only("lr", "momentum")),
    ]


def _adagrad_variants() -> list[Variant]:
    return [
        Variant("stale_accumulator", "the accumulator used before adding the current g² (v updated after the "
                "step)", "mistake", "adagrad", flags={"include_current": False}),
        Variant("no_sqrt", "the square root missing: α g / (v + ε)", "mistake", "adagrad", flags={"root": False}),
    ]


def _adagrad_norm_variants() -> list[Variant]:
    return [
        Variant("per_coordinate", "a per-coordinate accumulator v ← v + g² (AdaGrad) instead of the scalar "
                "Σ‖g‖²", "convention", "adagrad", _only("lr", "eps", eps_mode=lambda h: "inside")),
        Variant("eps_outside", "ε outside the square root: α g / (√a + ε)", "convention", "adagrad_norm",
                flags={"eps_outside": True}),
        Variant("stale_accumulator", "the accumulator used before adding the current ‖g‖²", "mistake",
                "adagrad_norm", flags={"include_current": False}),
    ]


def _rmsprop_variants() -> list[Variant]:
    return [
        Variant("bias_corrected", "with Adam's bias correction v̂ = v / (1 − ρᵗ) (Adam with β₁ = 0)",
                "convention", "rmsprop", flags={"bias_correction": True}),
        Variant("missing_one_minus_rho", "the factor (1 − ρ) missing: v ← ρ v + g²", "mistake", "rmsprop",
                flags={"ema": False}),
        Variant("swapped_weights", "ρ and 1 − ρ swapped: v ← (1 − ρ) v + ρ g²", "mistake", "rmsprop",
                _with(rho=lambda h: 1 - h["rho"])),
        Variant("adagrad", "AdaGrad's running sum v ← v + g² instead of a moving average", "mistake", "adagrad",
                _only("lr", "eps", "eps_mode")),
    ]


def _adam_variants() -> list[Variant]:
    return [
        Variant("bias_plus", "bias corrections 1 + βᵗ instead of 1 − βᵗ, as written in seed 002 "
                "(002_1388b78ad9a2d202.txt, 'Adaptive Momentum (Adam)')", "mistake", "adam", flags={"bias": 1}),
        Variant("no_bias_correction", "no bias correction (m̂ = m, v̂ = v)", "mistake", "adam", flags={"bias": 0}),
        Variant("t_from_0", "the step counter t counted from 0 (bias corrections 1 − β^(t−1): division by zero "
                "at the first step)", "mistake", "adam", t_map=lambda t: t - 1),
        Variant("t_stuck", "the step counter never advanced (t = 1 at every step)", "mistake", "adam",
                t_map=lambda t: 1),
        Variant("swapped_betas", "β₁ and β₂ swapped", "mistake", "adam",
                _with(beta1=lambda h: h["beta2"], beta2=lambda h: h["beta1"])),
        Variant("missing_one_minus_beta1", "the factor (1 − β₁) missing: m ← β₁ m + g", "mistake", "adam",
                flags={"ema1": False}),
        Variant("missing_one_minus_beta2", "the factor (1 − β₂) missing: v ← β₂ v + g²", "mistake", "adam",
                flags={"ema2": False}),
        Variant("no_first_moment", "β₁ ignored (m = g: RMSprop with bias correction)", "mistake", "adam",
                _with(beta1=lambda h: 0.0)),
    ]


_SPECIFIC: dict[str, Callable[[], list[Variant]]] = {
    "momentum": _momentum_variants,
    "ema_momentum": _ema_variants,
    "nesterov": _nesterov_variants,
    "adagrad": _adagrad_variants,
    "adagrad_norm": _adagrad_norm_variants,
    "rmsprop": _rmsprop_variants,
    "adam": _adam_variants,
}
