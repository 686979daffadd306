r"""Optimizer update rules: one step over a flat parameter vector, with the state as explicit arrays.

Every rule is written once (DESIGN.md, "Write the math once"): a record (:class:`RuleSpec`: hyperparameters,
state, conventions, formula, source), its per-step scalars (:func:`_scalars`, host side, shared by every
backend) and one per-element core (the update of one entry from its effective gradient and state). The pieces
all rules share — ``maximize`` and L2 weight decay on g, decoupled decay as a factor on θ — are composed around
the core by generated wrappers (:func:`_wrapper`), conventions baked in as constants so the loops are
branch-free. The ``"cpu"``/``"parallel"`` (one ``@jit`` loop, on one or all threads) and ``"cuda"`` kernels are generated from
those functions by :func:`verify.kernels._compile.elementwise`, and the ``"numpy"`` backend applies the same
functions to whole arrays through NumPy's ufuncs (:func:`_numpy_twin`): no backend has its own arithmetic.
``backend=`` selects one (``None``: the process default, see :mod:`verify.kernels._backend`).

**Calling convention (the same for every rule).** ``<rule>_step(theta, grad, *state, t, **hyper)`` takes the
parameters ``theta``, the gradient ``grad`` and the rule's state arrays, all 1-D of one length and one float
dtype, and **updates ``theta`` and the state in place; it returns ``None``.** ``theta`` and the state must be
NumPy (or, for ``"cuda"``, device) arrays, writable, and distinct from each other and from ``grad``. Fresh
state comes from :func:`init_state`. ``t`` is the number of this step, counted from 1; rules whose update
depends on it (bias corrections, a schedule, PyTorch's first momentum step, ``lr_decay``) require it.
:func:`run_optimizer` runs a rule over a whole gradient sequence and returns the iterates — the ``run`` that
:func:`verify.check_optimizer` expects.

Rules (g is the gradient after the two options every rule has: ``maximize`` uses −g, and ``weight_decay`` λ
adds λθ — L2, PyTorch's ``weight_decay`` — or, with ``decoupled_weight_decay=True``, multiplies θ by 1 − α_tλ
before the step: PyTorch's AdamW form; ``decay_scale="schedule"`` uses 1 − η_tλ, the multiplier of the schedule
instead of the rate, as in Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019, Alg. 2):

================ ========================================================================= ==================
rule             update (α: ``lr``, a number or a :mod:`schedule <verify.kernels.schedules>`) state
================ ========================================================================= ==================
``sgd``          θ ← θ − α g                                                               —
``momentum``     b ← μ b + (1 − d) g (b₁ = g);  θ ← θ − α b                                ``b``
``ema_momentum`` m ← β m + (1 − β) g;  θ ← θ − α m                                         ``m``
``nesterov``     b ← μ b + g;  θ ← θ − α (g + μ b)                                         ``b``
``adagrad``      v ← v + g²;  θ ← θ − α/(1 + (t−1)δ) · g / √(v + ε)  [or /(√v + ε)]        ``v``
``adagrad_norm`` a ← a + ‖g‖²;  θ ← θ − α g / √(a + ε)                                     ``acc`` (1,)
``rmsprop``      v ← ρv + (1−ρ)g²; [ḡ ← ρḡ + (1−ρ)g]; b ← μb + g/(√(v − ḡ²) + ε); θ ← θ − αb ``v`` [``gavg``, ``b``]
``adam``         m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; [v̂ₘ ← max]; θ ← θ − α m̂/(√v̂ + ε)   ``m, v`` [``vmax``]
``adamw``        Adam with decoupled weight decay θ ← θ(1 − αλ)                            ``m, v`` [``vmax``]
``adamax``       m as Adam; u ← max(β₂u, |g| + ε);  θ ← θ − α/(1 − β₁ᵗ) · m/u               ``m, u``
``nadam``        μ_t = β₁(1 − ½·0.96^{tψ}); θ ← θ − α[(1−μ_t)g/(1−Πμ) + μ_{t+1}m/(1−Πμμ_{t+1})]/(√v̂+ε) ``m, v, mu_product``
``radam``        m, v as Adam; θ ← θ − α m̂ · (r_t √(1−β₂ᵗ)/(√v + ε) if ρ_t > 5 else 1)   ``m, v``
``adadelta``     v ← ρv + (1−ρ)g²; Δ = √(u + ε)/√(v + ε)·g; u ← ρu + (1−ρ)Δ²; θ ← θ − αΔ  ``v, u``
``lion``         c = β₁m + (1−β₁)g; m ← β₂m + (1−β₂)g;  θ ← θ(1 − αλ) − α sign(c)           ``m``
================ ========================================================================= ==================

The records (:data:`RULES`) give each rule's source and full formula. Conventions that differ between
libraries are named options (``eps_mode``, ``decay_scale``, ``amsgrad_max``, ``centered``…), never silent
choices; hyperparameter names follow PyTorch (``weight_decay``, ``amsgrad``, ``centered``,
``initial_accumulator_value``, ``lr_decay``, ``dampening``, ``momentum_decay``), with ``beta1``/``beta2`` for
its ``betas`` and ``rho`` for RMSprop's ``alpha``.

**Bad input** gets ``ValueError``/``TypeError`` naming the argument and the value, on every backend alike:
a negative ``lr``, ``eps`` or ``weight_decay``; a decay rate outside [0, 1); Nesterov without momentum or
with dampening; a schedule that returns a negative rate; ``theta`` or a state array that is not an array
(a list would silently lose the update); two arrays sharing memory (``m is v``); a NaN or inf in ``grad``,
``theta`` or the state. Those are counted in the same pass as the update — one pass over memory, as torch's
fused step makes (which checks nothing) — so the step has been applied when the ``ValueError`` is raised: it
names each array with its count and first bad entry, and says that theta and the state are not to be trusted
after it. A scan of ``grad`` ahead of the update would leave everything unchanged, but it is one more array
of memory traffic, 8 instead of Adam's 7 (Adam measured 0.82× torch's fused step with it, at parity without).
Float32 arrays are updated in float32 arithmetic (the hyperparameters are rounded to float32 first), so every
backend computes in the dtype it is given.

>>> import numpy as np
>>> theta, grad = np.array([1.0, -2.0]), np.array([0.5, 0.25])
>>> state = init_state("adam", 2)
>>> adam_step(theta, grad, state["m"], state["v"], 1, lr=0.1, beta1=0.9, beta2=0.999, eps=0.0, backend="cpu")
>>> theta  # Adam's first step is α·sign(g) when ε = 0
array([ 0.9, -2.1])
"""

from __future__ import annotations

import builtins
import dataclasses
import inspect
import itertools
import math
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from verify._jit import jit
from verify._validate import FLOAT_DTYPES, as_float_array, describe, require_choice, require_finite, require_scalar
from verify.kernels import _finite
from verify.kernels._backend import cuda_route, resolve_backend
from verify.kernels._compile import Compiled, elementwise, reduction
from verify.kernels.schedules import Schedule, step_number

__all__ = [
    "RULES",
    "RuleSpec",
    "Hyperparameter",
    "HYPERPARAMETERS",
    "OPTIMIZERS",
    "rule_spec",
    "validate_hyperparameters",
    "learning_rate",
    "bias_correction",
    "init_state",
    "state_names",
    "apply_step",
    "run_optimizer",
    "sgd_step",
    "momentum_step",
    "ema_momentum_step",
    "nesterov_step",
    "adagrad_step",
    "adagrad_norm_step",
    "rmsprop_step",
    "adam_step",
    "adamw_step",
    "adamax_step",
    "nadam_step",
    "radam_step",
    "adadelta_step",
    "lion_step",
]


# =========================================================================== the per-element updates
# One core per rule: the update Δ of one entry from its effective gradient g' and its state, and the new state.
# Pure arithmetic on values of the arrays' dtype (no float literals, which would promote float32 to float64 in
# Numba); conventions are integer modes, the same for every entry, so the compiled loops branch outside the
# arithmetic. Written with math.sqrt, max, abs and helpers declared in _NUMPY_TWINS, so that the NumPy backend
# applies the very same functions to whole arrays. The pieces every rule shares — maximize and L2 weight decay
# on g, decoupled decay as a factor on θ — are composed around the cores by _wrapper (optax's spirit).


@jit(inline="always", error_model="numpy")
def _gradient(g, theta, sign, l2):
    """g' = ±g + λθ: ``maximize`` flips the sign (sign = −1), L2 weight decay adds λθ (PyTorch's order)."""
    return sign * g + l2 * theta


@jit(inline="always", error_model="numpy")
def _sign(x, one, zero):
    """sign(x) ∈ {−1, 0, +1} in the dtype of ``one`` (``jnp.sign``, which optax's Lion uses)."""
    return math.copysign(one, x) if x != zero else zero


@jit(inline="always", error_model="numpy")
def _sgd(ge, lr):
    # Δ = α g'
    return (lr * ge,)


@jit(inline="always", error_model="numpy")
def _momentum(ge, b, lr, mu, damp, nesterov):
    # b ← μb + c g' (c = 1 − d, or 1 at PyTorch's first step; EMA: c = 1 − β);  Δ = α b, or α(g' + μb) (Nesterov)
    b = mu * b + damp * ge
    if nesterov:
        return lr * (ge + mu * b), b
    return lr * b, b


@jit(inline="always", error_model="numpy")
def _adagrad(ge, v, lr, eps, inside):
    # v ← v + g'²;  Δ = α g' / √(v + ε) (inside) or α g' / (√v + ε)
    v = v + ge * ge
    if inside:
        return lr * ge / math.sqrt(v + eps), v
    return lr * ge / (math.sqrt(v) + eps), v


@jit(inline="always", error_model="numpy")
def _squared_gradient(theta, g, sign, l2):
    """g'² for AdaGrad-Norm's reduction ‖g'‖² (added up by the caller)."""
    ge = _gradient(g, theta, sign, l2)
    return ge * ge


@jit(inline="always", error_model="numpy")
def _rmsprop(ge, v, gavg, b, lr, rho, omr, mu, eps, zero, inside, centered, momentum):
    # v ← ρv + (1−ρ)g'²;  centered: ḡ ← ρḡ + (1−ρ)g', d = v − ḡ², else d = v;  s = g'/(√d + ε) or g'/√(d + ε);
    # with momentum: b ← μb + s, Δ = αb;  else Δ = αs.  v − ḡ² ≥ 0 exactly (ḡ² ≤ (Σwᵢ)Σwᵢgᵢ² ≤ v), but rounding
    # can make it negative when the variance is tiny: the maximum with 0 only moves it towards the exact value
    # (torch.optim.RMSprop returns NaN there)
    v = rho * v + omr * (ge * ge)
    d = v
    if centered:
        gavg = rho * gavg + omr * ge
        d = max(v - gavg * gavg, zero)
    if inside:
        s = ge / math.sqrt(d + eps)
    else:
        s = ge / (math.sqrt(d) + eps)
    if momentum:
        b = mu * b + s
        return lr * b, v, gavg, b
    return lr * s, v, gavg, b


@jit(inline="always", error_model="numpy")
def _adam(ge, m, v, vmax, step, b1, omb1, b2, omb2, eps, c, q, mode, amsgrad):
    # m ← β₁m + (1−β₁)g';  v ← β₂v + (1−β₂)g'²;  AMSGrad (1: on v, 2: on v̂ = qv): v_m ← max(v_m, v or qv);
    # Δ = s m / d with d = √v·c + ε (Kingma & Ba: c = 1/√(1−β₂ᵗ)), √(v·c + ε) (ε inside: c = 1/(1−β₂ᵗ)) or
    # √(v·c) + ε (the ε̂ form, s = α√(1−β₂ᵗ)/(1−β₁ᵗ)); see _adam_scalars
    m = b1 * m + omb1 * ge
    v = b2 * v + omb2 * (ge * ge)
    vd = v
    if amsgrad == 1:
        vmax = max(vmax, v)
        vd = vmax
    elif amsgrad == 2:
        vmax = max(vmax, v * q)
        vd = vmax
    if mode == 0:
        d = math.sqrt(vd) * c + eps
    elif mode == 1:
        d = math.sqrt(vd * c + eps)
    else:
        d = math.sqrt(vd * c) + eps
    return step * m / d, m, v, vmax


@jit(inline="always", error_model="numpy")
def _adamax(ge, m, u, step, b1, omb1, b2, eps):
    # m ← β₁m + (1−β₁)g';  u ← max(β₂u, |g'| + ε);  Δ = (α/(1 − β₁ᵗ)) m/u
    m = b1 * m + omb1 * ge
    u = max(b2 * u, abs(ge) + eps)
    return step * m / u, m, u


@jit(inline="always", error_model="numpy")
def _nadam(ge, m, v, cg, cm, b1, omb1, b2, omb2, inv_c2, eps):
    # m, v as Adam;  d = √(v/(1 − β₂ᵗ)) + ε;  Δ = c_g g'/d + c_m m/d (c_g, c_m: the momentum schedule)
    m = b1 * m + omb1 * ge
    v = b2 * v + omb2 * (ge * ge)
    d = math.sqrt(v * inv_c2) + eps
    return cg * ge / d + cm * m / d, m, v


@jit(inline="always", error_model="numpy")
def _radam(ge, m, v, step, rc, b1, omb1, b2, omb2, eps, rect):
    # m, v as Adam;  Δ = (α/(1 − β₁ᵗ)) m · (r_t √(1 − β₂ᵗ)/(√v + ε) if rectified else 1)
    m = b1 * m + omb1 * ge
    v = b2 * v + omb2 * (ge * ge)
    if rect:
        return step * m * (rc / (math.sqrt(v) + eps)), m, v
    return step * m, m, v


@jit(inline="always", error_model="numpy")
def _adadelta(ge, v, u, lr, rho, omr, eps):
    # v ← ρv + (1−ρ)g'²;  Δθ = √(u + ε)/√(v + ε) · g';  u ← ρu + (1−ρ)Δθ²;  Δ = α Δθ
    v = rho * v + omr * (ge * ge)
    delta = math.sqrt(u + eps) / math.sqrt(v + eps) * ge
    u = rho * u + omr * (delta * delta)
    return lr * delta, v, u


@jit(inline="always", error_model="numpy")
def _lion(ge, m, lr, b1, omb1, b2, omb2, one, zero):
    # Δ = α sign(β₁m + (1−β₁)g');  m ← β₂m + (1−β₂)g'
    direction = _sign(b1 * m + omb1 * ge, one, zero)
    m = b2 * m + omb2 * ge
    return lr * direction, m


# =========================================================================== the NumPy backend from the same functions

_NUMPY_MATH = types.SimpleNamespace(sqrt=np.sqrt, copysign=np.copysign)
_NUMPY_TWINS: dict[str, Callable] = {
    "_sign": lambda x, one, zero: np.where(x != zero, np.copysign(one, x), zero).astype(np.result_type(one)),
}


def _python_max(a, b):
    # Python's (and Numba's) max(a, b): b if b > a else a — with a NaN it keeps a, where np.maximum gives NaN
    return np.where(b > a, b, a)


def _python_min(a, b):
    return np.where(b < a, b, a)


_NUMPY_BUILTINS = {**vars(builtins), "max": _python_max, "min": _python_min, "abs": np.abs}


def _numpy_twin(element: Callable) -> Callable:
    """``element``'s Python source applied to whole arrays: ``math.sqrt``, ``max`` and ``abs`` become their
    ufuncs, helper kernels their own twins, and ``_sign`` its declared twin. No arithmetic is rewritten, so
    the NumPy backend computes the very expressions the compiled kernels do, in the same order and dtype."""
    py = getattr(element, "py_func", element)
    scope = dict(py.__globals__)
    scope["__builtins__"] = _NUMPY_BUILTINS
    scope["math"] = _NUMPY_MATH
    for name in py.__code__.co_names:
        if name in _NUMPY_TWINS:
            scope[name] = _NUMPY_TWINS[name]
        elif hasattr(scope.get(name), "py_func"):
            scope[name] = _numpy_twin(scope[name])
    return types.FunctionType(py.__code__, scope, py.__name__, py.__defaults__, py.__closure__)


# =========================================================================== compiled kernels


def _float_signatures(template: str) -> tuple[str, ...]:
    return tuple(template.format(f=f) for f in ("float32", "float64"))


def _shared(decayed: bool) -> tuple[str, ...]:
    """The scalars of the pieces every rule shares: decoupled decay's factor f always (f = 1 is exact: 1·θ = θ
    for every θ, NaN and inf included), maximize's sign and L2's λ only in the ``decayed`` kernels."""
    return ("sign", "l2", "factor") if decayed else ("factor",)


def _wrapper(core: Callable, state: tuple[str, ...], present: tuple[str, ...], scalars: tuple[str, ...],
             modes: Mapping[str, int], *, decayed: bool) -> Callable:
    """The per-element function of one kernel: ``core`` composed with the pieces every rule shares.

    ``decayed=False`` (no maximize, no L2 weight decay): θ' = fθ − Δ(g), with f = 1 − αλ for decoupled weight
    decay (AdamW, Lion) and f = 1 otherwise. ``decayed=True``: θ' = fθ − Δ(±g + λθ).
    State of ``state`` not in ``present`` (optional state this configuration does not use) enters as ``zero``
    and its new value is dropped. ``modes`` (conventions, as integers) are written into the call as constants, so
    that the compiled loop has no branch left (LLVM vectorises a branch-free loop; it does not unswitch every
    branch). Generated source, compiled like a hand-written function of this module.
    """
    absent = [s for s in state if s not in present]
    params = ["theta", "g", *present, *scalars, *_shared(decayed),
              *(("zero",) if absent and "zero" not in scalars else ())]
    gradient = "_gradient(g, theta, sign, l2)" if decayed else "g"
    outs = ["_d", *(s if s in present else f"_{s}" for s in state)]
    inputs = [s if s in present else "zero" for s in state]
    arguments = [gradient, *inputs, *scalars, *(str(int(v)) for v in modes.values())]
    theta = "theta * factor - _d"
    label = "_".join((*present, *(f"{k}{v}" for k, v in modes.items()))) or "stateless"
    name = f"_{core.__name__.lstrip('_')}_{label}{'_decayed' if decayed else ''}"
    source = (f"def {name}({', '.join(params)}):\n"
              f"    {', '.join(outs)}, = {core.__name__}({', '.join(arguments)})\n"
              f"    return {theta}, {''.join(p + ', ' for p in present)}\n")
    scope = {core.__name__: core, "_gradient": _gradient, "__name__": __name__}
    exec(compile(source, __file__, "exec"), scope)  # noqa: S102 - generated above from names
    function = scope[name]
    function.__qualname__ = name
    return jit(inline="always", error_model="numpy")(function)


#: The arrays every kernel counts NaN/inf in (before the update, in its one pass), then its state, in this order.
COUNTED = ("grad", "theta")


@dataclass(frozen=True)
class _Layout:
    """One kernel of a rule: the state arrays it updates, its scalar arguments, and its compiled variants."""

    state: tuple[str, ...]
    scalars: tuple[str, ...]
    compiled: Compiled
    numpy: Callable

    @property
    def counted(self) -> tuple[str, ...]:
        """The names of the counts the kernel returns (CPU) or adds into ``_counts`` (CUDA), in order."""
        return COUNTED + self.state


def _layouts(rule: str, core: Callable, state: tuple[str, ...], scalars: tuple[str, ...],
             modes: Callable[[tuple[str, ...]], Mapping[str, tuple[int, ...]]] = lambda present: {},
             presents: tuple[tuple[str, ...], ...] | None = None) -> dict:
    """Every kernel of a rule: for each combination of present state and of the values of its modes, one
    without and one with the shared pieces; keyed ``(present, decayed, mode values)``."""
    out = {}
    for present in presents or (state,):
        choices = modes(present)
        for values in itertools.product(*choices.values()):
            chosen = dict(zip(choices, values, strict=True))
            for decayed in (False, True):
                names = (*scalars, *_shared(decayed),
                         *(("zero",) if len(present) < len(state) and "zero" not in scalars else ()))
                element = _wrapper(core, state, present, scalars, chosen, decayed=decayed)
                arrays = ("theta", "grad", *present)
                sig = "void(" + ", ".join(["{f}[::1]"] * len(arrays) + ["{f}"] * len(names) + ["int64[::1]"]) + ")"
                label = "_".join((rule, *present, *(f"{k}{v}" for k, v in chosen.items()),
                                  *(("decayed",) if decayed else ())))
                compiled = elementwise(element, name=f"optimizer_{label}", arrays=arrays,
                                       assigned=("theta", *present), scalars=names,
                                       count_nonfinite=COUNTED + present, signatures=_float_signatures(sig),
                                       error_model="numpy")
                out[present, decayed, values] = _Layout(present, names, compiled, _numpy_twin(element))
    return out


_LAYOUTS: dict[str, dict] = {
    "sgd": _layouts("sgd", _sgd, (), ("lr",)),
    "momentum": _layouts("momentum", _momentum, ("b",), ("lr", "mu", "damp"), lambda p: {"nesterov": (0, 1)}),
    "adagrad": _layouts("adagrad", _adagrad, ("v",), ("lr", "eps"), lambda p: {"inside": (0, 1)}),
    "rmsprop": _layouts("rmsprop", _rmsprop, ("v", "gavg", "b"), ("lr", "rho", "omr", "mu", "eps", "zero"),
                        lambda p: {"inside": (0, 1), "centered": (int("gavg" in p),), "momentum": (int("b" in p),)},
                        presents=(("v",), ("v", "gavg"), ("v", "b"), ("v", "gavg", "b"))),
    "adam": _layouts("adam", _adam, ("m", "v", "vmax"), ("step", "b1", "omb1", "b2", "omb2", "eps", "c", "q"),
                     lambda p: {"mode": (0, 1, 2), "amsgrad": (1, 2) if "vmax" in p else (0,)},
                     presents=(("m", "v"), ("m", "v", "vmax"))),
    "adamax": _layouts("adamax", _adamax, ("m", "u"), ("step", "b1", "omb1", "b2", "eps")),
    "nadam": _layouts("nadam", _nadam, ("m", "v"), ("cg", "cm", "b1", "omb1", "b2", "omb2", "inv_c2", "eps")),
    "radam": _layouts("radam", _radam, ("m", "v"), ("step", "rc", "b1", "omb1", "b2", "omb2", "eps"),
                      lambda p: {"rect": (0, 1)}),
    "adadelta": _layouts("adadelta", _adadelta, ("v", "u"), ("lr", "rho", "omr", "eps")),
    "lion": _layouts("lion", _lion, ("m",), ("lr", "b1", "omb1", "b2", "omb2", "one", "zero")),
}
#: The modes of each rule's kernels, in the order of their keys (their values come from :func:`_scalars`).
_MODES = {"momentum": ("nesterov",), "adagrad": ("inside",), "rmsprop": ("inside", "centered", "momentum"),
          "adam": ("mode", "amsgrad"), "radam": ("rect",)}
# Rules that are another rule's kernel with other scalars (or other state names) share its compiled code.
_LAYOUTS["nesterov"] = _LAYOUTS["momentum"]
_LAYOUTS["ema_momentum"] = {(("m",), decayed, values): dataclasses.replace(layout, state=("m",))
                            for (_, decayed, values), layout in _LAYOUTS["momentum"].items()}
_LAYOUTS["adamw"] = _LAYOUTS["adam"]
_MODES.update(nesterov=_MODES["momentum"], ema_momentum=_MODES["momentum"], adamw=_MODES["adam"])


def _layout_for(rule: str, names: tuple[str, ...], scalars: Mapping) -> _Layout:
    """The kernel of ``rule`` for this state and step: the lean one unless maximize or L2 weight decay is on
    (decoupled decay is a factor in both)."""
    spec = RULES[rule]
    present = tuple(n for n in names if n not in spec.scalar_state)
    decayed = not (scalars["sign"] == 1.0 and scalars["l2"] == 0.0)
    modes = tuple(int(scalars[m]) for m in _MODES.get(rule, ()))
    return _LAYOUTS["sgd" if rule == "adagrad_norm" else rule][present, decayed, modes]


@jit(inline="always", error_model="numpy")
def _square_into(out, theta, g, sign, l2):
    # AdaGrad-Norm on the GPU: the squares g'² (rounded in the dtype, as on the CPU) into a float64 buffer,
    # which verify.kernels.cuda._device.device_sum then adds up in a fixed order
    return (_squared_gradient(theta, g, sign, l2),)


SQUARES = elementwise(_square_into, name="optimizer_squared_gradient", arrays=("out", "theta", "grad"),
                      assigned=("out",), scalars=("sign", "l2"),
                      signatures=_float_signatures("void(float64[::1], {f}[::1], {f}[::1], {f}, {f})"),
                      error_model="numpy")


@jit(forceinline=True, error_model="numpy")
def _sum_of_squares_part(theta, g, out, first, sign, l2):
    # AdaGrad-Norm on the CPU: one part's Σ g'² in float64, the squares rounded in the dtype first
    total = 0.0
    for i in range(g.shape[0]):
        total += np.float64(_squared_gradient(theta[i], g[i], sign, l2))
    out[0] = total


SUM_OF_SQUARES = reduction(_sum_of_squares_part, name="optimizer_sum_of_squared_gradients",
                           arrays=("theta", "grad", "out"), out="out", scalars=("sign", "l2"),
                           signatures=_float_signatures("void({f}[::1], {f}[::1], float64[:, ::1], {f}, {f})"),
                           error_model="numpy")
#: The parts of ‖g'‖²: the same for the serial and the parallel kernel, so both add the same numbers in one order.
_SQUARE_PARTS = 64


def _sum_of_squares(theta, grad, sign, l2, backend: str) -> float:
    partial = np.zeros((max(1, min(grad.shape[0], _SQUARE_PARTS)), 1))
    (SUM_OF_SQUARES.parallel if backend == "parallel" else SUM_OF_SQUARES.cpu)(theta, grad, partial, sign, l2)
    return math.fsum(partial[:, 0])


# =========================================================================== the catalogue of rules


@dataclass(frozen=True)
class Hyperparameter:
    """A numeric hyperparameter: its domain, and the values the strategies favour.

    ``low``/``high`` bound the domain (``high=None``: unbounded), ``high_inclusive`` whether ``high`` itself is
    allowed; ``typical`` are the values practitioners use (drawn first), ``draw`` the range drawn otherwise.
    """

    name: str
    meaning: str
    low: float = 0.0
    high: float | None = None
    high_inclusive: bool = False
    typical: tuple[float, ...] = ()
    draw: tuple[float, float] = (0.0, 1.0)

    def check(self, value: object) -> float:
        return require_scalar(value, self.name, low=self.low, high=self.high, high_inclusive=self.high_inclusive)


_RATE = dict(high=1.0, typical=(0.9, 0.5, 0.99, 0.999, 0.0, 0.25), draw=(0.0, 0.999))
HYPERPARAMETERS: dict[str, Hyperparameter] = {
    h.name: h
    for h in (
        Hyperparameter("lr", "step size α ≥ 0, or a schedule (verify.kernels.schedules)",
                       typical=(0.1, 0.01, 0.5, 1.0, 1e-3), draw=(1e-4, 1.0)),
        Hyperparameter("eps", "ε ≥ 0 (the term keeping the denominator away from 0)",
                       typical=(1e-8, 1e-3, 1.0, 1e-12, 0.1), draw=(1e-12, 1.0)),
        Hyperparameter("weight_decay", "λ ≥ 0", typical=(0.01, 0.1, 1e-4, 0.5), draw=(0.0, 1.0)),
        Hyperparameter("momentum", "μ ∈ [0, 1)", **_RATE),
        Hyperparameter("dampening", "d ∈ [0, 1]: the gradient enters the buffer with weight 1 − d", high=1.0,
                       high_inclusive=True, typical=(0.0, 0.1, 0.5, 0.9), draw=(0.0, 1.0)),
        Hyperparameter("beta", "β ∈ [0, 1)", **_RATE),
        Hyperparameter("beta1", "β₁ ∈ [0, 1) (PyTorch's betas[0])", **_RATE),
        Hyperparameter("beta2", "β₂ ∈ [0, 1) (PyTorch's betas[1])", **_RATE),
        Hyperparameter("rho", "ρ ∈ [0, 1) (PyTorch's RMSprop alpha, Adadelta rho)", **_RATE),
        Hyperparameter("lr_decay", "δ ≥ 0: AdaGrad's step α/(1 + (t − 1)δ)", typical=(0.0, 0.01, 0.1, 1.0)),
        Hyperparameter("initial_accumulator_value", "v₀ ≥ 0: AdaGrad's accumulator at the start",
                       typical=(0.0, 0.1, 1.0), draw=(0.0, 10.0)),
        Hyperparameter("momentum_decay", "ψ ≥ 0: NAdam's μ_t = β₁(1 − ½·0.96^{tψ})", typical=(4e-3, 0.0, 0.1)),
    )
}

_BOOL = (False, True)
_COMMON_OPTIONS = {"maximize": _BOOL, "decoupled_weight_decay": _BOOL, "decay_scale": ("lr", "schedule")}
_COMMON_DEFAULTS = {"maximize": False, "decoupled_weight_decay": False, "decay_scale": "lr"}

#: What each choice of an option means (for the docstrings and the checker's diagnoses).
OPTION_MEANINGS: dict[tuple[str, object], str] = {
    ("maximize", False): "minimising: θ moves along −g",
    ("maximize", True): "maximize=True: the step uses −g (ascent on the objective)",
    ("decoupled_weight_decay", False): "L2 weight decay: λθ added to the gradient (g ← g + λθ) instead of decoupled "
    "decay",
    ("decoupled_weight_decay", True): "decoupled weight decay θ ← θ(1 − α_tλ) before the step (PyTorch's AdamW) "
    "instead of L2",
    ("decay_scale", "lr"): "decoupled decay scaled by the learning rate: θ ← θ(1 − α_tλ) (PyTorch, optax)",
    ("decay_scale", "schedule"): "decoupled decay not scaled by the learning rate, only by the schedule: "
    "θ ← θ(1 − η_tλ) (Loshchilov & Hutter, ICLR 2019, Algorithm 2)",
    ("eps_mode", "inside"): "ε inside the square root: g / √(v + ε) (seed 002's AdaGrad; TensorFlow 1's and optax's "
    "RMSprop; optax's eps_root)",
    ("eps_mode", "outside"): "ε outside the square root: g / (√v + ε) (as in torch.optim.Adagrad and RMSprop, Duchi et "
    "al. 2011)",
    ("eps_mode", "kingma"): "ε outside the square root, after bias correction: α m̂ / (√v̂ + ε) (Kingma & Ba, "
    "Algorithm 1; torch.optim.Adam, optax.adam)",
    ("eps_mode", "keras"): "the ε̂ form α √(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε̂) (Kingma & Ba §2; Keras/TensorFlow)",
    ("amsgrad", False): "no AMSGrad maximum",
    ("amsgrad", True): "AMSGrad: the running maximum of the second moment in the denominator (Reddi et al. 2018)",
    ("amsgrad_max", "v"): "AMSGrad's maximum taken on v, then bias-corrected: √max(v)/√(1−β₂ᵗ) (torch.optim.Adam)",
    ("amsgrad_max", "v_hat"): "AMSGrad's maximum taken on the bias-corrected v̂ = v/(1−β₂ᵗ) (optax.amsgrad)",
    ("centered", False): "'centered' without centering: v used as it is, the squared mean ḡ² not subtracted",
    ("centered", True): "centered: the variance estimate v − ḡ² in the denominator (Graves 2013)",
}


@dataclass(frozen=True)
class RuleSpec:
    """What a rule is: hyperparameters, options (named conventions), state, formula and source.

    ``hyperparameters`` are required (drawn by the checker when not given); ``optional`` maps the others to
    their neutral defaults (0: the rule without that feature), which the checker neither draws nor passes.
    ``state`` names every state array a configuration may use, in kernel order (:func:`state_names` gives
    those of one configuration); ``scalar_state`` those of shape (1,); ``initial`` their starting values
    (a number, or the name of the hyperparameter holding it). ``options`` maps a convention to its choices,
    ``defaults`` gives the choice used when the caller names none. ``decoupled``: weight decay is always
    decoupled (AdamW, Lion). ``step_dependent``: the update needs the step number t whatever the options.
    ``torch`` names the ``torch.optim`` counterpart and maps its state keys to ours (the checker's adapter reads
    them back under our names).
    """

    name: str
    hyperparameters: tuple[str, ...]
    state: tuple[str, ...] = ()
    optional: Mapping[str, float] = field(default_factory=dict)
    options: Mapping[str, tuple] = field(default_factory=dict)
    defaults: Mapping[str, object] = field(default_factory=dict)
    scalar_state: frozenset[str] = frozenset()
    initial: Mapping[str, object] = field(default_factory=dict)
    optional_state: frozenset[str] = frozenset()
    decoupled: bool = False
    step_dependent: bool = False
    formula: str = ""
    source: str = ""
    torch: tuple[str, Mapping[str, str]] | None = None

    @property
    def takes_step_number(self) -> bool:
        return self.step_dependent

    @property
    def all_hyperparameters(self) -> tuple[str, ...]:
        return (*self.hyperparameters, *self.optional)


def _rule(name, hyperparameters, state=(), *, optional=(), options=None, defaults=None, weight_decay=True,
          **fields) -> RuleSpec:
    opts = dict(_COMMON_OPTIONS)
    defs = dict(_COMMON_DEFAULTS)
    if fields.get("decoupled"):
        del opts["decoupled_weight_decay"], defs["decoupled_weight_decay"]
    opts.update(options or {})
    defs.update(defaults or {})
    opt = {k: 0.0 for k in optional}
    if weight_decay and "weight_decay" not in hyperparameters:
        opt = {"weight_decay": 0.0, **opt}
    return RuleSpec(name, tuple(hyperparameters), tuple(state), opt, opts, defs, **fields)


_ADAM_SOURCE = "Kingma & Ba, 'Adam: A Method for Stochastic Optimization', ICLR 2015, Algorithm 1"
RULES: dict[str, RuleSpec] = {
    spec.name: spec
    for spec in (
        _rule("sgd", ("lr",), formula="θ ← θ − α g",
              source="000_42086e2af0f76780.txt, Algorithm 2.1; 002_1388b78ad9a2d202.txt, 'Stochastic Gradient (SG)'; "
              "torch.optim.SGD", torch=("SGD", {})),
        _rule("momentum", ("lr", "momentum"), ("b",), optional=("dampening",),
              formula="b₁ = g, b ← μ b + (1 − d) g afterwards (μ = 0: b = g);  θ ← θ − α b",
              source="001_02deb113427fab16.txt, 'Adding Momentum'; torch.optim.SGD(momentum=μ, dampening=d), "
              "whose buffer starts as a copy of the first gradient", torch=("SGD", {"momentum_buffer": "b"})),
        _rule("ema_momentum", ("lr", "beta"), ("m",), formula="m ← β m + (1 − β) g;  θ ← θ − α m",
              source="002_1388b78ad9a2d202.txt, 'SG + Momentum (SGM)'"),
        _rule("nesterov", ("lr", "momentum"), ("b",), optional=("dampening",),
              formula="b ← μ b + g;  θ ← θ − α (g + μ b)  (μ > 0, no dampening)",
              source="Sutskever et al. 2013 (cited in 002_1388b78ad9a2d202.txt); torch.optim.SGD(nesterov=True)",
              torch=("SGD", {"momentum_buffer": "b"})),
        _rule("adagrad", ("lr", "eps"), ("v",), optional=("lr_decay", "initial_accumulator_value"),
              options={"eps_mode": ("inside", "outside")}, defaults={"eps_mode": "inside"},
              initial={"v": "initial_accumulator_value"},
              formula="v₀ = initial_accumulator_value; v ← v + g²;  θ ← θ − α/(1 + (t−1)δ) · g / √(v + ε)  "
              "[eps_mode='outside': g / (√v + ε)]",
              source="002_1388b78ad9a2d202.txt, 'Adaptive Subgrad. (AdaGrad)' (ε inside); Duchi, Hazan & Singer, "
              "JMLR 2011, and torch.optim.Adagrad (ε outside)", torch=("Adagrad", {"sum": "v"})),
        _rule("adagrad_norm", ("lr", "eps"), ("acc",), scalar_state=frozenset({"acc"}),
              formula="a ← a + ‖g‖²;  θ ← θ − α g / √(a + ε)",
              source="001_02deb113427fab16.txt, 'Adding adaptive learning rates'"),
        _rule("rmsprop", ("lr", "rho", "eps"), ("v", "gavg", "b"), optional=("momentum",),
              optional_state=frozenset({"gavg", "b"}),
              options={"eps_mode": ("outside", "inside"), "centered": _BOOL},
              defaults={"eps_mode": "outside", "centered": False},
              formula="v ← ρv + (1−ρ)g²;  [centered: ḡ ← ρḡ + (1−ρ)g, v − ḡ² (≥ 0) for v];  d = √v + ε "
              "[eps_mode='inside': √(v + ε)];  with momentum μ: b ← μb + g/d, θ ← θ − αb;  else θ ← θ − α g/d",
              source="Tieleman & Hinton, lecture 6e, 2012 (named in 001_02deb113427fab16.txt); Graves 2013 (centered); "
              "torch.optim.RMSprop (alpha = ρ)",
              torch=("RMSprop", {"square_avg": "v", "grad_avg": "gavg", "momentum_buffer": "b"})),
        _rule("adam", ("lr", "beta1", "beta2", "eps"), ("m", "v", "vmax"), step_dependent=True,
              optional_state=frozenset({"vmax"}),
              options={"eps_mode": ("kingma", "keras", "inside"), "amsgrad": _BOOL, "amsgrad_max": ("v", "v_hat")},
              defaults={"eps_mode": "kingma", "amsgrad": False, "amsgrad_max": "v"},
              formula="m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  m̂ = m/(1−β₁ᵗ);  v̂ = v/(1−β₂ᵗ);  "
              "θ ← θ − α m̂ / (√v̂ + ε)  [amsgrad: v̂ from max over steps of v (or of v̂)]",
              source=f"{_ADAM_SOURCE} (cited in 002_1388b78ad9a2d202.txt, 'Adaptive Momentum (Adam)'); "
              "Reddi, Kale & Kumar, ICLR 2018 (AMSGrad); torch.optim.Adam",
              torch=("Adam", {"exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "vmax"})),
        _rule("adamw", ("lr", "beta1", "beta2", "eps", "weight_decay"), ("m", "v", "vmax"), decoupled=True,
              step_dependent=True, optional_state=frozenset({"vmax"}),
              options={"eps_mode": ("kingma", "keras", "inside"), "amsgrad": _BOOL, "amsgrad_max": ("v", "v_hat")},
              defaults={"eps_mode": "kingma", "amsgrad": False, "amsgrad_max": "v"},
              formula="θ ← θ(1 − α_tλ) [decay_scale='schedule': θ(1 − η_tλ)], then the Adam step",
              source="Loshchilov & Hutter, 'Decoupled Weight Decay Regularization', ICLR 2019, Algorithm 2; "
              "torch.optim.AdamW, optax.adamw",
              torch=("AdamW", {"exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "vmax"})),
        _rule("adamax", ("lr", "beta1", "beta2", "eps"), ("m", "u"), step_dependent=True,
              formula="m ← β₁m + (1−β₁)g;  u ← max(β₂u, |g| + ε);  θ ← θ − α/(1−β₁ᵗ) · m/u",
              source=f"{_ADAM_SOURCE}, Algorithm 2 (AdaMax); torch.optim.Adamax (ε inside the maximum)",
              torch=("Adamax", {"exp_avg": "m", "exp_inf": "u"})),
        _rule("nadam", ("lr", "beta1", "beta2", "eps", "momentum_decay"), ("m", "v", "mu_product"),
              scalar_state=frozenset({"mu_product"}), initial={"mu_product": 1.0}, step_dependent=True,
              formula="μ_t = β₁(1 − ½·0.96^{tψ});  Π_t = Π_{t−1}μ_t;  m, v as Adam;  d = √(v/(1−β₂ᵗ)) + ε;  "
              "θ ← θ − α(1−μ_t)/(1−Π_t) · g/d − α μ_{t+1}/(1−Π_tμ_{t+1}) · m/d",
              source="Dozat, 'Incorporating Nesterov Momentum into Adam', ICLR 2016 workshop; torch.optim.NAdam "
              "(momentum_decay ψ)", torch=("NAdam", {"exp_avg": "m", "exp_avg_sq": "v"})),
        _rule("radam", ("lr", "beta1", "beta2", "eps"), ("m", "v"), step_dependent=True,
              formula="m, v as Adam;  ρ∞ = 2/(1−β₂) − 1;  ρ_t = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ);  if ρ_t > 5: "
              "r_t = √((ρ_t−4)(ρ_t−2)ρ∞/((ρ∞−4)(ρ∞−2)ρ_t)), θ ← θ − α m̂ r_t √(1−β₂ᵗ)/(√v + ε);  else θ ← θ − α m̂",
              source="Liu et al., 'On the Variance of the Adaptive Learning Rate and Beyond', ICLR 2020, Algorithm 2; "
              "torch.optim.RAdam", torch=("RAdam", {"exp_avg": "m", "exp_avg_sq": "v"})),
        _rule("adadelta", ("lr", "rho", "eps"), ("v", "u"),
              formula="v ← ρv + (1−ρ)g²;  Δ = √(u + ε)/√(v + ε) · g;  u ← ρu + (1−ρ)Δ²;  θ ← θ − αΔ",
              source="Zeiler, 'ADADELTA: An Adaptive Learning Rate Method', 2012, Algorithm 1 (named in "
              "001_02deb113427fab16.txt); torch.optim.Adadelta (with lr)",
              torch=("Adadelta", {"square_avg": "v", "acc_delta": "u"})),
        _rule("lion", ("lr", "beta1", "beta2", "weight_decay"), ("m",), decoupled=True,
              formula="c = β₁m + (1−β₁)g;  θ ← θ − α(sign(c) + λθ);  m ← β₂m + (1−β₂)g",
              source="Chen et al., 'Symbolic Discovery of Optimization Algorithms', NeurIPS 2023, Program 1; "
              "optax.lion"),
    )
}

_BIAS_CORRECTED = frozenset({"adam", "adamw", "adamax", "nadam", "radam"})


def rule_spec(rule: str) -> RuleSpec:
    """The :class:`RuleSpec` of ``rule``; ``ValueError`` naming the known rules otherwise."""
    require_choice(rule, "rule", RULES)
    return RULES[rule]


# =========================================================================== hyperparameters


def learning_rate(lr: object, name: str = "lr"):
    """``lr`` validated: a number ≥ 0 (as a float), a :class:`~verify.kernels.schedules.Schedule`, or a callable
    ``lr(t)`` (checked each time it is called, by :func:`_rate`)."""
    if callable(lr):
        return lr
    return require_scalar(lr, name, low=0.0)


def _check_option(spec: RuleSpec, option: str, value: object):
    choices = spec.options[option]
    if choices == _BOOL:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{option} must be True or False; got {value!r} ({type(value).__name__})")
        return bool(value)
    return require_choice(value, option, choices)


def validate_hyperparameters(rule: str, hyper: Mapping[str, object], *, partial: bool = False) -> dict:
    """``hyper`` checked against ``rule``: numbers in range, options among their choices, no unknown names.

    Returns a new dict with every option and optional hyperparameter filled in from the rule's defaults. With
    ``partial=True`` missing required hyperparameters are allowed (the checker draws them).

    Raises:
        TypeError: an unknown or missing name, a value of the wrong type.
        ValueError: a value out of its domain, or a combination the rule does not define (Nesterov without
            momentum or with dampening, ``decay_scale``/``amsgrad_max`` where they do not apply).
    """
    spec = rule_spec(rule)
    known = set(spec.all_hyperparameters) | set(spec.options)
    unknown = sorted(set(hyper) - known)
    if unknown:
        raise TypeError(f"{rule}: unknown hyperparameter(s) {unknown}; {rule} takes {sorted(known)}")
    missing = [h for h in spec.hyperparameters if h not in hyper]
    if missing and not partial:
        raise TypeError(f"{rule}: missing hyperparameter(s) {missing}")
    out: dict = {}
    for name in spec.all_hyperparameters:
        if name in hyper:
            out[name] = learning_rate(hyper[name]) if name == "lr" else HYPERPARAMETERS[name].check(hyper[name])
        elif name in spec.optional:
            out[name] = spec.optional[name]
    for option in spec.options:
        out[option] = _check_option(spec, option, hyper.get(option, spec.defaults[option]))
    _check_combinations(spec, out, hyper)
    return out


#: Option choices that apply only together with another option's choice (the other is implied already by a
#: decoupled rule such as adamw): ``{(option, choice): {needed option: its choice}}``.
OPTION_PREREQUISITES = {
    ("decay_scale", "schedule"): {"decoupled_weight_decay": True},
    ("amsgrad_max", "v_hat"): {"amsgrad": True},
}


def _check_combinations(spec: RuleSpec, h: dict, given: Mapping) -> None:
    if spec.name == "nesterov":
        if "momentum" in h and h["momentum"] == 0.0:
            raise ValueError("nesterov needs momentum > 0 (with μ = 0 it is plain SGD; torch.optim.SGD refuses "
                             "nesterov=True with momentum=0); got momentum=0.0")
        if h["dampening"] != 0.0:
            raise ValueError(f"nesterov needs dampening = 0 (torch.optim.SGD refuses nesterov=True with "
                             f"dampening); got dampening={h['dampening']!r}")
    decoupled = spec.decoupled or h.get("decoupled_weight_decay", False)
    if "decay_scale" in given and h["decay_scale"] == "schedule" and not decoupled:
        raise ValueError("decay_scale='schedule' applies to decoupled weight decay only; pass "
                         "decoupled_weight_decay=True (or use adamw)")
    if "amsgrad_max" in given and h["amsgrad_max"] == "v_hat" and not h.get("amsgrad", False):
        raise ValueError("amsgrad_max='v_hat' applies only with amsgrad=True")
    if h.get("decay_scale") == "schedule" and decoupled and "lr" in h and not isinstance(h["lr"], (float, Schedule)):
        raise ValueError("decay_scale='schedule' needs lr as a number or a verify.kernels.schedules.Schedule (the "
                         f"multiplier η_t of a plain callable is not defined); got {h['lr']!r}")


def _rate(lr, t: int) -> tuple[float, float]:
    """(α_t, η_t) for step t: the rate and the schedule's multiplier (1 for a constant rate)."""
    if isinstance(lr, Schedule):
        return lr(t), lr.multiplier(t)
    if callable(lr):
        value = lr(t)
        try:
            return require_scalar(value, "lr", low=0.0), 1.0
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"the schedule lr(t) at step t = {t}: {exc}") from None
    return lr, 1.0


def bias_correction(beta: float, t: int) -> float:
    """``1 − βᵗ`` to within a few ULPs, as ``−expm1(t·log β)``.

    The direct ``1 − beta**t`` is exact in the subtraction but amplifies the rounding error of ``βᵗ`` by
    ``βᵗ/(1 − βᵗ)`` (≈ 500 for β = 0.999, t = 2); the form used here does not.

    >>> bias_correction(0.5, 2)
    0.75
    """
    if beta == 0.0:
        return 1.0
    return -math.expm1(t * math.log(beta))


def _needs_step_number(spec: RuleSpec, h: dict) -> str | None:
    """Why the update of this configuration depends on t (``None`` if it does not)."""
    if spec.step_dependent:
        return f"{spec.name}'s update depends on the step number"
    if callable(h.get("lr")):
        return "a learning-rate schedule is evaluated at t"
    if spec.name == "momentum" and h["dampening"] != 0.0:
        return "PyTorch's first momentum step is undamped (b₁ = g)"
    if spec.name == "adagrad" and h["lr_decay"] != 0.0:
        return "lr_decay scales the step by 1/(1 + (t − 1)δ)"
    return None


# =========================================================================== per-step scalars (written once, in float64)


def _decay(spec: RuleSpec, h: dict, lr_t: float, eta_t: float) -> dict:
    wd = h.get("weight_decay", 0.0)
    decoupled = spec.decoupled or h.get("decoupled_weight_decay", False)
    scale = lr_t if h.get("decay_scale", "lr") == "lr" else eta_t
    return {"sign": -1.0 if h["maximize"] else 1.0, "l2": 0.0 if decoupled else wd,
            "factor": 1.0 - scale * wd if decoupled else 1.0}


_ADAM_MODES = {"kingma": 0, "inside": 1, "keras": 2}


def _adam_scalars(h: dict, t: int, lr_t: float) -> dict:
    """Adam's per-step scalars: α/c₁ and c, chosen so that the denominator is √v̂ + ε (kingma: c = 1/√c₂),
    √(v̂ + ε) (inside: c = 1/c₂) or, with step α√c₂/c₁, √v + ε̂ (keras: c = 1); with AMSGrad on v̂ the maximum is
    already corrected (c = 1, or c₂ for the ε̂ form). c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ."""
    b1, b2 = h["beta1"], h["beta2"]
    c1, c2 = bias_correction(b1, t), bias_correction(b2, t)
    mode, on_v_hat = h["eps_mode"], h["amsgrad"] and h["amsgrad_max"] == "v_hat"
    if mode == "kingma":
        step, c = lr_t / c1, 1.0 if on_v_hat else 1.0 / math.sqrt(c2)
    elif mode == "inside":
        step, c = lr_t / c1, 1.0 if on_v_hat else 1.0 / c2
    else:
        step, c = lr_t * math.sqrt(c2) / c1, c2 if on_v_hat else 1.0
    return {"step": step, "b1": b1, "omb1": 1.0 - b1, "b2": b2, "omb2": 1.0 - b2, "eps": h["eps"], "c": c,
            "q": 1.0 / c2 if on_v_hat else 1.0, "mode": _ADAM_MODES[mode],
            "amsgrad": (2 if on_v_hat else 1) if h["amsgrad"] else 0}


def _nadam_mu(beta1: float, psi: float, t: int) -> float:
    return beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))


def _scalars(spec: RuleSpec, h: dict, t: int, state: Mapping[str, np.ndarray]) -> dict:
    """The kernel's scalar arguments for step t (floats, in float64; cast to the dtype by the caller)."""
    lr_t, eta_t = _rate(h["lr"], t)
    out = _decay(spec, h, lr_t, eta_t)
    rule = spec.name
    if rule == "sgd":
        out["lr"] = lr_t
    elif rule == "adagrad_norm":
        out.update(lr=lr_t, eps=h["eps"])
    elif rule in ("momentum", "nesterov", "ema_momentum"):
        mu = h["beta"] if rule == "ema_momentum" else h["momentum"]
        if rule == "ema_momentum":
            damp = 1.0 - mu
        else:  # PyTorch's buffer starts as a copy of the first gradient (undamped at t = 1), and with μ = 0 there
            damp = 1.0 if t == 1 or mu == 0.0 else 1.0 - h["dampening"]  # is no buffer: plain SGD
        out.update(lr=lr_t, mu=mu, damp=damp, nesterov=int(rule == "nesterov"))
    elif rule == "adagrad":
        out.update(lr=lr_t / (1.0 + (t - 1) * h["lr_decay"]), eps=h["eps"], inside=int(h["eps_mode"] == "inside"))
    elif rule == "rmsprop":
        out.update(lr=lr_t, rho=h["rho"], omr=1.0 - h["rho"], mu=h["momentum"], eps=h["eps"],
                   inside=int(h["eps_mode"] == "inside"), centered=int(h["centered"]),
                   momentum=int(h["momentum"] != 0.0))
    elif rule in ("adam", "adamw"):
        out.update(_adam_scalars(h, t, lr_t))
    elif rule == "adamax":
        out.update(step=lr_t / bias_correction(h["beta1"], t), b1=h["beta1"], omb1=1.0 - h["beta1"], b2=h["beta2"],
                   eps=h["eps"])
    elif rule == "nadam":
        b1, b2, psi = h["beta1"], h["beta2"], h["momentum_decay"]
        mu, mu_next = _nadam_mu(b1, psi, t), _nadam_mu(b1, psi, t + 1)
        product = float(state["mu_product"][0]) * mu
        out.update(cg=lr_t * (1.0 - mu) / (1.0 - product), cm=lr_t * mu_next / (1.0 - product * mu_next), b1=b1,
                   omb1=1.0 - b1, b2=b2, omb2=1.0 - b2, inv_c2=1.0 / bias_correction(b2, t), eps=h["eps"],
                   mu_product=product)
    elif rule == "radam":
        b1, b2 = h["beta1"], h["beta2"]
        c2 = bias_correction(b2, t)
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho_t = rho_inf - 2.0 * t * b2**t / c2
        rect = rho_t > 5.0
        r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) if rect else 0.0
        out.update(step=lr_t / bias_correction(b1, t), rc=r * math.sqrt(c2), rect=int(rect), b1=b1, omb1=1.0 - b1,
                   b2=b2, omb2=1.0 - b2, eps=h["eps"])
    elif rule == "adadelta":
        out.update(lr=lr_t, rho=h["rho"], omr=1.0 - h["rho"], eps=h["eps"])
    elif rule == "lion":
        out.update(lr=lr_t, b1=h["beta1"], omb1=1.0 - h["beta1"], b2=h["beta2"], omb2=1.0 - h["beta2"], one=1.0)
    else:  # pragma: no cover - every rule of RULES is listed above
        raise AssertionError(rule)
    out["zero"] = 0.0
    return out


# =========================================================================== state


def state_names(rule: str, hyper: Mapping[str, object] | None = None) -> tuple[str, ...]:
    """The state arrays ``rule`` uses with these options (``amsgrad`` adds ``vmax``; RMSprop's ``centered`` adds
    ``gavg`` and ``momentum > 0`` adds ``b``), in the order the step function takes them."""
    spec = rule_spec(rule)
    h = validate_hyperparameters(rule, dict(hyper or {}), partial=True)
    names = list(spec.state)
    if "vmax" in names and not h["amsgrad"]:
        names.remove("vmax")
    if rule == "rmsprop":
        if not h["centered"]:
            names.remove("gavg")
        if h["momentum"] == 0.0:
            names.remove("b")
    return tuple(names)


def init_state(rule: str, n: int, *, dtype=np.float64, **hyper) -> dict[str, np.ndarray]:
    """Fresh state of ``rule`` for ``n`` parameters: name → array ((1,) for scalar state).

    All zeros except where the rule starts elsewhere: AdaGrad's ``v`` at ``initial_accumulator_value``, NAdam's
    ``mu_product`` at 1. ``hyper`` chooses the optional state (``amsgrad=True``, ``centered=True``, ``momentum``).
    """
    spec = rule_spec(rule)
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}")
    dt = np.dtype(dtype)
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64; got {dt}")
    h = validate_hyperparameters(rule, hyper, partial=True)
    out = {}
    for name in state_names(rule, hyper):
        start = spec.initial.get(name, 0.0)
        value = h[start] if isinstance(start, str) else start
        out[name] = np.full(1 if name in spec.scalar_state else int(n), value, dtype=dt)
    return out


# =========================================================================== validation of arrays


def _updated_array(value: object, name: str, dtype, length: int | None) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array: the step updates it in place (a {type(value).__name__} "
                        f"would silently lose the update); got {describe(value)}")
    arr = as_float_array(value, name, ndim=1, dtype=dtype)
    if length is not None and arr.shape != (length,):
        raise ValueError(f"{name} must have shape ({length},); got {arr.shape}")
    if not arr.flags.writeable:
        raise ValueError(f"{name} must be writable: the step updates it in place")
    return arr


def _require_distinct(arrays: Mapping[str, np.ndarray]) -> None:
    names = list(arrays)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if np.shares_memory(arrays[a], arrays[b]):
                same = " (the same array)" if arrays[a] is arrays[b] else ""
                raise ValueError(f"{a} and {b} share memory{same}: each of theta, grad and the state must be its "
                                 "own array (an update of one would change the other mid-step)")


def _arrays(spec: RuleSpec, names: tuple[str, ...], theta, grad, state: Mapping):
    theta = _updated_array(theta, "theta", None, None)
    grad = as_float_array(grad, "grad", ndim=1, dtype=theta.dtype)
    if grad.shape != theta.shape:
        raise ValueError(f"grad must have the shape of theta {theta.shape}; got {grad.shape}")
    missing = [s for s in names if s not in state or state[s] is None]
    extra = [s for s in state if s not in names and state[s] is not None]
    if missing or extra:
        raise ValueError(f"state for {spec.name} with these options must hold {list(names)}; "
                         f"missing {missing}, not used {extra}")
    checked = {s: _updated_array(state[s], s, theta.dtype, 1 if s in spec.scalar_state else theta.shape[0])
               for s in names}
    for s in spec.scalar_state & set(names):  # one number each: checked before anything changes
        require_finite(checked[s], s)
    _require_distinct({"theta": theta, "grad": grad, **checked})
    return theta, grad, checked


def nonfinite_error(counts: Mapping[str, int], arrays: Mapping[str, object], to_host=np.asarray) -> ValueError:
    """The error for NaN/inf found in ``grad``, ``theta`` or the state during a step (see the module docstring).

    ``counts``: entries that were NaN/inf before the update, by array name (``grad`` first); ``arrays``: those
    arrays after the step. The message starts ``"<first array with a count> must be finite; "``."""
    parts = []
    for name, count in counts.items():
        if not count:
            continue
        values = to_host(arrays[name])
        bad = np.flatnonzero(~np.isfinite(values))
        entries = f"{count} NaN/inf entr{'y' if count == 1 else 'ies'}"
        if name == "grad":  # read only: as it was given
            parts.append(f"{name}[{bad[0]}] = {values[bad[0]].item()!r} ({entries})")
        else:
            now = f"; now {name}[{bad[0]}] = {values[bad[0]].item()!r}" if bad.size else ""
            parts.append(f"{name} held {entries} before this step{now}")
    first = next(name for name, count in counts.items() if count)
    return ValueError(f"{first} must be finite; " + "; ".join(parts) + ". grad, theta and the state are checked in "
                      "the same pass as the update (one pass over memory), so the step has been applied to every "
                      "entry, those included: theta and the state are not to be trusted after it (at those entries, "
                      "or at every entry where the rule couples them, as AdaGrad-Norm's ‖g‖² does): restore them "
                      "from a copy.")


def nonfinite_step_error(row: int, column: int, value) -> ValueError:
    """``run_optimizer``'s error for a NaN/inf in ``grads`` (every backend): the row, its step and the entry."""
    return ValueError(f"grads[{row}] (step {row + 1}) is not finite: grads[{row}, {column}] = {value.item()!r}")


# =========================================================================== one step


def _step(rule: str, theta, grad, state: Mapping, t, backend, hyper: Mapping) -> None:
    spec = rule_spec(rule)
    h = validate_hyperparameters(rule, hyper)
    name = resolve_backend(backend)
    if name == "cuda":
        from verify.kernels.cuda import optimizers as cuda_optimizers

        return cuda_optimizers.apply_step(rule, theta, grad, dict(state), t, **hyper)
    t = _step_number(spec, h, t)
    names = state_names(rule, h)
    theta, grad, arrays = _arrays(spec, names, theta, grad, state)
    cast = theta.dtype.type
    scalars = _scalars(spec, h, t, arrays)
    if rule == "adagrad_norm":
        counts = _adagrad_norm(theta, grad, arrays["acc"], scalars, cast, name)
    else:
        layout = _layout_for(rule, names, scalars)
        counts = _launch(layout, theta, grad, arrays, scalars, cast, name)
    if rule == "nadam":
        arrays["mu_product"][0] = cast(scalars["mu_product"])
    if any(counts.values()):
        raise nonfinite_error(counts, {"theta": theta, "grad": grad, **arrays})
    return None


def _step_number(spec: RuleSpec, h: dict, t) -> int:
    if t is None:
        why = _needs_step_number(spec, h)
        if why:
            raise TypeError(f"t (the number of this step, counted from 1) is required: {why}")
        return 1
    return step_number(t)


def _launch(layout: _Layout, theta, grad, state: dict, scalars: dict, cast, backend: str) -> dict:
    args = [theta, grad, *(state[s] for s in layout.state)]
    values = [cast(scalars[s]) for s in layout.scalars]
    named = {"theta": theta, "grad": grad, **state}
    if backend == "numpy":
        counts = {n: int(np.count_nonzero(~np.isfinite(named[n]))) for n in layout.counted}
        with np.errstate(all="ignore"):
            new = layout.numpy(*args, *values)
        for target, value in zip([theta, *args[2:]], new, strict=True):
            target[...] = value
        return counts
    kernel = layout.compiled.parallel if backend == "parallel" else layout.compiled.cpu
    return dict(zip(layout.counted, kernel(*args, *values), strict=True))


def _adagrad_norm(theta, grad, acc, scalars: dict, cast, backend: str) -> dict:
    sign, l2 = cast(scalars["sign"]), cast(scalars["l2"])
    before = acc[0]
    if backend == "numpy":
        with np.errstate(all="ignore"):
            squares = _numpy_twin(_squared_gradient)(theta, grad, sign, l2).astype(np.float64)
        total = float(np.sum(squares))
    else:
        total = _sum_of_squares(theta, grad, sign, l2, backend)
    new_acc = cast(before + cast(total))
    scale = float(cast(scalars["lr"])) / math.sqrt(float(new_acc) + float(cast(scalars["eps"])))
    counts = _launch(_layout_for("adagrad_norm", ("acc",), scalars), theta, grad, {}, dict(scalars, lr=scale), cast,
                     backend)
    acc[0] = new_acc
    return counts


# =========================================================================== the public step functions


def _make_step(spec: RuleSpec) -> Callable:
    P = inspect.Parameter
    required = [s for s in spec.state if s not in spec.optional_state]
    optional = [s for s in spec.state if s in spec.optional_state]
    params = [P("theta", P.POSITIONAL_OR_KEYWORD), P("grad", P.POSITIONAL_OR_KEYWORD),
              *(P(s, P.POSITIONAL_OR_KEYWORD) for s in required), P("t", P.POSITIONAL_OR_KEYWORD, default=None),
              *(P(s, P.KEYWORD_ONLY, default=None) for s in optional),
              *(P(h, P.KEYWORD_ONLY) for h in spec.hyperparameters),
              *(P(h, P.KEYWORD_ONLY, default=d) for h, d in spec.optional.items()),
              *(P(o, P.KEYWORD_ONLY, default=spec.defaults[o]) for o in spec.options),
              P("backend", P.KEYWORD_ONLY, default=None)]
    signature = inspect.Signature(params)
    settable = set(spec.all_hyperparameters) | set(spec.options)

    def step(*args, **kwargs) -> None:
        bound = signature.bind(*args, **kwargs)
        a = bound.arguments
        hyper = {k: v for k, v in a.items() if k in settable}
        state = {s: a[s] for s in spec.state if a.get(s) is not None}
        _step(spec.name, a["theta"], a["grad"], state, a.get("t"), a.get("backend"), hyper)

    step.__signature__ = signature
    step.__name__ = step.__qualname__ = f"{spec.name}_step"
    step.__module__ = __name__
    hyper_doc = "\n".join(f"        {h}: {HYPERPARAMETERS[h].meaning}" + (" (default 0)" if h in spec.optional else "")
                          for h in spec.all_hyperparameters)
    option_doc = "\n".join(f"        {o}: one of {spec.options[o]} (default {spec.defaults[o]!r})" for o in spec.options)
    step.__doc__ = (
        f"One {spec.name} step in place: {spec.formula}.\n\n    Source: {spec.source}.\n\n"
        f"    Args:\n        theta: parameters (n,), updated in place.\n        grad: gradient (n,), same dtype; "
        f"must be finite.\n        {', '.join(spec.state) or '(no state)'}: state arrays from init_state "
        f"(optional ones only when the options use them), updated in place.\n        t: the number of this step, "
        f"from 1.\n{hyper_doc}\n{option_doc}\n        backend: 'numpy', 'cpu', 'parallel' or 'cuda' (None: the "
        f"default).\n\n    The formula with every option, and the errors raised: see the module docstring."
    )
    return step


OPTIMIZERS: dict[str, Callable] = {rule: _make_step(spec) for rule, spec in RULES.items()}
sgd_step = OPTIMIZERS["sgd"]
momentum_step = OPTIMIZERS["momentum"]
ema_momentum_step = OPTIMIZERS["ema_momentum"]
nesterov_step = OPTIMIZERS["nesterov"]
adagrad_step = OPTIMIZERS["adagrad"]
adagrad_norm_step = OPTIMIZERS["adagrad_norm"]
rmsprop_step = OPTIMIZERS["rmsprop"]
adam_step = OPTIMIZERS["adam"]
adamw_step = OPTIMIZERS["adamw"]
adamax_step = OPTIMIZERS["adamax"]
nadam_step = OPTIMIZERS["nadam"]
radam_step = OPTIMIZERS["radam"]
adadelta_step = OPTIMIZERS["adadelta"]
lion_step = OPTIMIZERS["lion"]


@cuda_route("optimizers")
def apply_step(rule: str, theta, grad, state: Mapping[str, np.ndarray], t: int | None = None, *, backend=None,
               **hyper) -> None:
    """One step of ``rule`` in place, with the state as a dict (see :func:`init_state`).

    ``t`` (the step number from 1) is required where the update depends on it (see the module docstring).
    """
    _step(rule, theta, grad, state, t, backend, hyper)


@cuda_route("optimizers")
def run_optimizer(rule: str, theta0, grads, *, backend=None, return_state: bool = False, **hyper):
    """Run ``rule`` from ``theta0`` over the gradient sequence ``grads`` (T, n); return the (T, n) iterates.

    Row ``t − 1`` holds θ after step t. ``theta0`` is not modified. With ``return_state=True`` returns
    ``(iterates, states)`` where ``states[name]`` stacks the state after each step, shape (T, n) or (T, 1).
    ``functools.partial(run_optimizer, rule, backend=b)`` is a ``run`` for :func:`verify.check_optimizer`.

    >>> run_optimizer("sgd", [1.0], [[0.5], [0.25]], lr=0.5, backend="numpy")
    array([[0.75 ],
           [0.625]])
    """
    theta0 = as_float_array(theta0, "theta0", ndim=1)
    grads = as_float_array(grads, "grads", ndim=2, dtype=theta0.dtype)
    if grads.shape[1] != theta0.shape[0]:
        raise ValueError(f"grads must have shape (T, {theta0.shape[0]}) to match theta0; got {grads.shape}")
    require_finite(theta0, "theta0")
    count, first = _finite.first_bad(np.ascontiguousarray(grads), _finite.NONFINITE)
    if count:  # the whole sequence is given: refused before any step, as on the CUDA backend
        row, column = divmod(first, grads.shape[1])
        raise nonfinite_step_error(row, column, grads[row, column])
    validate_hyperparameters(rule, hyper)
    theta = theta0.copy()
    state = init_state(rule, theta.size, dtype=theta.dtype, **hyper)
    iterates = np.empty(grads.shape, dtype=theta.dtype)
    history = {k: np.empty((grads.shape[0], v.size), dtype=v.dtype) for k, v in state.items()}
    for t in range(1, grads.shape[0] + 1):
        grad = np.ascontiguousarray(grads[t - 1])
        try:
            apply_step(rule, theta, grad, state, t, backend=backend, **hyper)
        except ValueError as exc:  # theta or the state overflowed in an earlier step
            raise ValueError(f"step {t} of {grads.shape[0]}: {exc} (run_optimizer works on copies: theta0 and grads "
                             "are unchanged)") from exc
        iterates[t - 1] = theta
        for k, v in state.items():
            history[k][t - 1] = v
    return (iterates, history) if return_state else iterates
