r"""Optimizer update rules: one step over a flat parameter vector, with the state as explicit arrays.

Backends ``"numpy"``, ``"cpu"`` (``@jit``) and ``"parallel"`` (``@parallel_jit``, ``prange`` over the
parameters), selected with ``backend=`` (``None``: the process default, see :mod:`verify.kernels._backend`).

**Calling convention (the same for every rule).** A step function takes the parameters ``theta``, the
gradient ``grad`` and the rule's state arrays, all 1-D of the same length and the same float dtype, and
**updates ``theta`` and the state in place; it returns ``None``.** Fresh state is all zeros
(:func:`init_state`). Hyperparameters are keyword-only. Adam also takes the step number ``t``, counted
from 1 (Kingma & Ba, Algorithm 1). :func:`run_optimizer` runs a rule over a whole gradient sequence and
returns the iterates, which is the ``run`` that :func:`verify.check_optimizer` expects.

Rules (``g`` is the gradient of the current step; every operation is elementwise; α is ``lr``):

============== ============================================================ ===========================
rule           update                                                       state
============== ============================================================ ===========================
``sgd``        θ ← θ − α g                                                  —
``momentum``   b ← μ b + g;  θ ← θ − α b   (heavy ball)                     ``b``
``ema_momentum`` m ← β m + (1 − β) g;  θ ← θ − α m   (SGM)                  ``m``
``nesterov``   b ← μ b + g;  θ ← θ − α (g + μ b)   (PyTorch form)           ``b``
``adagrad``    v ← v + g²;  θ ← θ − α g / √(v + ε)  or  α g / (√v + ε)      ``v``
``adagrad_norm`` a ← a + ‖g‖²;  θ ← θ − α g / √(ε + a)   (a is a scalar)    ``acc`` (shape (1,))
``rmsprop``    v ← ρ v + (1 − ρ) g²;  θ ← θ − α g / (√v + ε)  or  /√(v+ε)   ``v``
``adam``       m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − α m̂/(√v̂ + ε) ``m``, ``v``
============== ============================================================ ===========================

Conventions that differ between libraries are named options (``eps_mode``), never silent choices; each
docstring says which source or library uses which. Hyperparameters are validated: ``lr`` and ``eps``
must be finite and ≥ 0, every decay rate (``momentum``, ``beta``, ``beta1``, ``beta2``, ``rho``) must lie
in [0, 1); a violation raises ``ValueError``/``TypeError`` naming the argument.

Non-finite gradients are refused (``ValueError`` naming ``grad``) before anything is modified. Float32
arrays are updated in float32 arithmetic (the hyperparameters are rounded to float32 first), so every
backend computes in the dtype it is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numba import prange

from verify._jit import jit, parallel_jit
from verify._validate import as_float_array, describe, require_choice, require_finite, require_scalar
from verify.kernels._backend import cuda_route, dispatch
from verify.kernels._finite import count_nonfinite as _count_nonfinite_cpu
from verify.kernels._finite import count_nonfinite_parallel as _count_nonfinite_parallel

__all__ = [
    "RULES",
    "RuleSpec",
    "OPTIMIZERS",
    "rule_spec",
    "validate_hyperparameters",
    "bias_correction",
    "init_state",
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
]


# --------------------------------------------------------------------------- the catalogue of rules


@dataclass(frozen=True)
class RuleSpec:
    """What a rule is: its numeric hyperparameters, its named conventions and its state.

    ``options`` maps a convention name to its choices; ``defaults`` gives the choice used when the
    caller names none (the primary source's form, stated in the rule's docstring). ``state`` names the
    state arrays in the order the step function takes them; ``scalar_state`` those of shape (1,).
    """

    name: str
    hyperparameters: tuple[str, ...]
    state: tuple[str, ...] = ()
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    scalar_state: frozenset[str] = frozenset()
    takes_step_number: bool = False
    formula: str = ""
    source: str = ""


RULES: dict[str, RuleSpec] = {
    spec.name: spec
    for spec in (
        RuleSpec(
            "sgd", ("lr",),
            formula="θ ← θ − α g",
            source="000_42086e2af0f76780.txt, Algorithm 2.1; 002_1388b78ad9a2d202.txt, 'Stochastic Gradient (SG)'",
        ),
        RuleSpec(
            "momentum", ("lr", "momentum"), ("b",),
            formula="b ← μ b + g;  θ ← θ − α b",
            source="001_02deb113427fab16.txt, 'Adding Momentum'; torch.optim.SGD(momentum=μ)",
        ),
        RuleSpec(
            "ema_momentum", ("lr", "beta"), ("m",),
            formula="m ← β m + (1 − β) g;  θ ← θ − α m",
            source="002_1388b78ad9a2d202.txt, 'SG + Momentum (SGM)'",
        ),
        RuleSpec(
            "nesterov", ("lr", "momentum"), ("b",),
            formula="b ← μ b + g;  θ ← θ − α (g + μ b)",
            source="torch.optim.SGD(momentum=μ, nesterov=True); Sutskever et al. 2013 (cited in 002)",
        ),
        RuleSpec(
            "adagrad", ("lr", "eps"), ("v",),
            options={"eps_mode": ("inside", "outside")}, defaults={"eps_mode": "inside"},
            formula="v ← v + g²;  θ ← θ − α g / √(v + ε)  [eps_mode='outside': α g / (√v + ε)]",
            source="002_1388b78ad9a2d202.txt, 'Adaptive Subgrad. (AdaGrad)'; Duchi, Hazan & Singer 2011",
        ),
        RuleSpec(
            "adagrad_norm", ("lr", "eps"), ("acc",), scalar_state=frozenset({"acc"}),
            formula="a ← a + ‖g‖²;  θ ← θ − α g / √(ε + a)",
            source="001_02deb113427fab16.txt, 'Adding adaptive learning rates'",
        ),
        RuleSpec(
            "rmsprop", ("lr", "rho", "eps"), ("v",),
            options={"eps_mode": ("outside", "inside")}, defaults={"eps_mode": "outside"},
            formula="v ← ρ v + (1 − ρ) g²;  θ ← θ − α g / (√v + ε)  [eps_mode='inside': α g / √(v + ε)]",
            source="Tieleman & Hinton 2012, lecture 6e (named in 001); torch.optim.RMSprop",
        ),
        RuleSpec(
            "adam", ("lr", "beta1", "beta2", "eps"), ("m", "v"),
            options={"eps_mode": ("kingma", "keras", "inside")}, defaults={"eps_mode": "kingma"},
            takes_step_number=True,
            formula="m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  m̂ = m/(1−β₁ᵗ);  v̂ = v/(1−β₂ᵗ);  "
            "θ ← θ − α m̂ / (√v̂ + ε)",
            source="Kingma & Ba 2015, Algorithm 1 (cited in 002_1388b78ad9a2d202.txt, 'Adaptive Momentum (Adam)')",
        ),
    )
}

_DECAY_RATES = frozenset({"momentum", "beta", "beta1", "beta2", "rho"})


def rule_spec(rule: str) -> RuleSpec:
    """The :class:`RuleSpec` of ``rule``; ``ValueError`` naming the known rules otherwise."""
    require_choice(rule, "rule", RULES)
    return RULES[rule]


def _check_hyperparameter(name: str, value: object) -> float:
    if name in _DECAY_RATES:
        return require_scalar(value, name, low=0.0, high=1.0, high_inclusive=False)
    return require_scalar(value, name, low=0.0)  # lr and eps: finite and >= 0


def validate_hyperparameters(rule: str, hyper: Mapping[str, object], *, partial: bool = False) -> dict:
    """``hyper`` checked against ``rule``: numbers in range, options among their choices, no unknown names.

    Returns a new dict with every option filled in from the rule's defaults. With ``partial=True``
    missing numeric hyperparameters are allowed (the checker draws them).
    """
    spec = rule_spec(rule)
    known = set(spec.hyperparameters) | set(spec.options)
    unknown = sorted(set(hyper) - known)
    if unknown:
        raise TypeError(f"{rule}: unknown hyperparameter(s) {unknown}; {rule} takes {sorted(known)}")
    missing = [h for h in spec.hyperparameters if h not in hyper]
    if missing and not partial:
        raise TypeError(f"{rule}: missing hyperparameter(s) {missing}")
    out: dict = {}
    for name in spec.hyperparameters:
        if name in hyper:
            out[name] = _check_hyperparameter(name, hyper[name])
    for option, choices in spec.options.items():
        out[option] = require_choice(hyper.get(option, spec.defaults[option]), option, choices)
    return out


def bias_correction(beta: float, t: int) -> float:
    """``1 − βᵗ`` to within a few ULPs, as ``−expm1(t·log β)``.

    The direct ``1 − beta**t`` is exact in the subtraction but amplifies the rounding error of ``βᵗ`` by
    ``βᵗ/(1 − βᵗ)`` (≈ 500 for β = 0.999, t = 2); the form used here does not.
    """
    if beta == 0.0:
        return 1.0
    return -math.expm1(t * math.log(beta))


# --------------------------------------------------------------------------- validation of arrays


def _require_finite_grad(grad: np.ndarray, backend: str) -> None:
    if backend == "numpy":
        ok = bool(np.isfinite(grad).all())
    else:
        count = _count_nonfinite_parallel if backend == "parallel" else _count_nonfinite_cpu
        ok = count(grad) == 0
    if not ok:
        require_finite(grad, "grad")  # raises, naming the first bad entry


def _arrays(theta: object, grad: object, **state: object) -> tuple[np.ndarray, np.ndarray, dict]:
    """Validate the parameter, gradient and state arrays: 1-D, one float dtype, one length, writable."""
    theta = as_float_array(theta, "theta", ndim=1)
    grad = as_float_array(grad, "grad", ndim=1, dtype=theta.dtype)
    if grad.shape != theta.shape:
        raise ValueError(f"grad must have the shape of theta {theta.shape}; got {grad.shape}")
    if not theta.flags.writeable:
        raise ValueError("theta must be writable: the step updates it in place")
    checked = {}
    for name, value in state.items():
        arr = as_float_array(value, name, ndim=1, dtype=theta.dtype)
        want = (1,) if name == "acc" else theta.shape
        if arr.shape != want:
            raise ValueError(f"{name} must have shape {want}; got {arr.shape}")
        if not arr.flags.writeable:
            raise ValueError(f"{name} must be writable: the step updates it in place")
        checked[name] = arr
    return theta, grad, checked


def _prepare(rule: str, backend: str | None, theta, grad, state: dict, hyper: dict):
    """Shared front half of every step: validate everything, return arrays and dtype-cast scalars."""
    h = validate_hyperparameters(rule, hyper)
    theta, grad, state = _arrays(theta, grad, **state)
    name = dispatch(_BACKENDS, backend, rule)
    _require_finite_grad(grad, name)
    cast = theta.dtype.type
    scalars = {k: (cast(v) if isinstance(v, float) else v) for k, v in h.items()}
    return name, theta, grad, state, scalars, cast


_BACKENDS = {"numpy": "numpy", "cpu": "cpu", "parallel": "parallel"}


# --------------------------------------------------------------------------- sgd


@jit(error_model="numpy")
def _sgd_cpu(theta, grad, lr):
    for i in range(theta.size):
        theta[i] -= lr * grad[i]


@parallel_jit(error_model="numpy")
def _sgd_parallel(theta, grad, lr):
    for i in prange(theta.size):
        theta[i] -= lr * grad[i]


@cuda_route("optimizers")
def sgd_step(theta, grad, *, lr, backend=None) -> None:
    r"""One step of (stochastic) gradient descent, in place: ``θ ← θ − α g``.

    Source: ``000_42086e2af0f76780.txt``, Algorithm 2.1 "Online stochastic gradient descent training"
    (line 5: Θ ← Θ − η_t ĝ); ``002_1388b78ad9a2d202.txt``, "Stochastic Gradient (SG)".

    Args:
        theta: parameters (n,), updated in place.
        grad: gradient (n,), same dtype; must be finite.
        lr: step size α ≥ 0.
        backend: ``"numpy"``, ``"cpu"`` or ``"parallel"`` (``None``: the default).
    """
    name, theta, grad, _, h, _ = _prepare("sgd", backend, theta, grad, {}, {"lr": lr})
    if name == "numpy":
        theta -= h["lr"] * grad
    elif name == "cpu":
        _sgd_cpu(theta, grad, h["lr"])
    else:
        _sgd_parallel(theta, grad, h["lr"])


# --------------------------------------------------------------------------- heavy-ball momentum


@jit(error_model="numpy")
def _momentum_cpu(theta, grad, b, lr, mu):
    for i in range(theta.size):
        bi = mu * b[i] + grad[i]
        b[i] = bi
        theta[i] -= lr * bi


@parallel_jit(error_model="numpy")
def _momentum_parallel(theta, grad, b, lr, mu):
    for i in prange(theta.size):
        bi = mu * b[i] + grad[i]
        b[i] = bi
        theta[i] -= lr * bi


@cuda_route("optimizers")
def momentum_step(theta, grad, b, *, lr, momentum, backend=None) -> None:
    r"""One heavy-ball momentum step, in place: ``b ← μ b + g``, ``θ ← θ − α b``.

    Source: ``001_02deb113427fab16.txt``, "Adding Momentum": g_t = β g_{t−1} + ∇f(x_t),
    x_{t+1} = x_t − η g_t (β there is μ here). This is ``torch.optim.SGD(momentum=μ, dampening=0)``:
    PyTorch initialises the buffer to the first gradient, which is what ``μ·0 + g`` gives.
    For constant α it equals :func:`ema_momentum_step` with step α/(1 − μ) (see the tests).

    Args:
        theta: parameters (n,), updated in place.
        grad: gradient (n,).
        b: momentum buffer (n,), zeros at the start, updated in place.
        lr: step size α ≥ 0.
        momentum: μ ∈ [0, 1).
    """
    name, theta, grad, s, h, _ = _prepare("momentum", backend, theta, grad, {"b": b},
                                          {"lr": lr, "momentum": momentum})
    b = s["b"]
    if name == "numpy":
        b *= h["momentum"]
        b += grad
        theta -= h["lr"] * b
    elif name == "cpu":
        _momentum_cpu(theta, grad, b, h["lr"], h["momentum"])
    else:
        _momentum_parallel(theta, grad, b, h["lr"], h["momentum"])


# --------------------------------------------------------------------------- EMA momentum (SGM)


@jit(error_model="numpy")
def _ema_cpu(theta, grad, m, lr, beta, one_minus_beta):
    for i in range(theta.size):
        mi = beta * m[i] + one_minus_beta * grad[i]
        m[i] = mi
        theta[i] -= lr * mi


@parallel_jit(error_model="numpy")
def _ema_parallel(theta, grad, m, lr, beta, one_minus_beta):
    for i in prange(theta.size):
        mi = beta * m[i] + one_minus_beta * grad[i]
        m[i] = mi
        theta[i] -= lr * mi


@cuda_route("optimizers")
def ema_momentum_step(theta, grad, m, *, lr, beta, backend=None) -> None:
    r"""One step of SG with momentum in exponential-moving-average form, in place.

    ``m ← β m + (1 − β) g``, ``θ ← θ − α m``.

    Source: ``002_1388b78ad9a2d202.txt``, "SG + Momentum (SGM)". Unlike heavy ball (:func:`momentum_step`)
    the new gradient is damped by (1 − β); for constant α the two coincide after rescaling α.

    Args:
        theta: parameters (n,), updated in place.
        grad: gradient (n,).
        m: moving average (n,), zeros at the start, updated in place.
        lr: step size α ≥ 0.
        beta: β ∈ [0, 1).
    """
    name, theta, grad, s, h, cast = _prepare("ema_momentum", backend, theta, grad, {"m": m},
                                             {"lr": lr, "beta": beta})
    m = s["m"]
    omb = cast(1.0) - h["beta"]
    if name == "numpy":
        m *= h["beta"]
        m += omb * grad
        theta -= h["lr"] * m
    elif name == "cpu":
        _ema_cpu(theta, grad, m, h["lr"], h["beta"], omb)
    else:
        _ema_parallel(theta, grad, m, h["lr"], h["beta"], omb)


# --------------------------------------------------------------------------- Nesterov


@jit(error_model="numpy")
def _nesterov_cpu(theta, grad, b, lr, mu):
    for i in range(theta.size):
        g = grad[i]
        bi = mu * b[i] + g
        b[i] = bi
        theta[i] -= lr * (g + mu * bi)


@parallel_jit(error_model="numpy")
def _nesterov_parallel(theta, grad, b, lr, mu):
    for i in prange(theta.size):
        g = grad[i]
        bi = mu * b[i] + g
        b[i] = bi
        theta[i] -= lr * (g + mu * bi)


@cuda_route("optimizers")
def nesterov_step(theta, grad, b, *, lr, momentum, backend=None) -> None:
    r"""One Nesterov momentum step in PyTorch's form, in place.

    ``b ← μ b + g``, ``θ ← θ − α (g + μ b)``.

    Source: ``torch.optim.SGD(momentum=μ, nesterov=True, dampening=0)``; a reparametrisation of
    Sutskever et al. 2013 (cited in ``002_1388b78ad9a2d202.txt``), "NAG" in ``001_02deb113427fab16.txt``,
    "Modern Optimizers".

    Args:
        theta: parameters (n,), updated in place.
        grad: gradient (n,).
        b: momentum buffer (n,), zeros at the start, updated in place.
        lr: step size α ≥ 0.
        momentum: μ ∈ [0, 1).
    """
    name, theta, grad, s, h, _ = _prepare("nesterov", backend, theta, grad, {"b": b},
                                          {"lr": lr, "momentum": momentum})
    b = s["b"]
    mu = h["momentum"]
    if name == "numpy":
        b *= mu
        b += grad
        theta -= h["lr"] * (grad + mu * b)
    elif name == "cpu":
        _nesterov_cpu(theta, grad, b, h["lr"], mu)
    else:
        _nesterov_parallel(theta, grad, b, h["lr"], mu)


# --------------------------------------------------------------------------- AdaGrad

_ADAGRAD_MODES = {"inside": 0, "outside": 1}


@jit(error_model="numpy")
def _adagrad_cpu(theta, grad, v, lr, eps, mode):
    for i in range(theta.size):
        g = grad[i]
        vi = v[i] + g * g
        v[i] = vi
        if mode == 0:
            theta[i] -= lr * g / math.sqrt(vi + eps)
        else:
            theta[i] -= lr * g / (math.sqrt(vi) + eps)


@parallel_jit(error_model="numpy")
def _adagrad_parallel(theta, grad, v, lr, eps, mode):
    for i in prange(theta.size):
        g = grad[i]
        vi = v[i] + g * g
        v[i] = vi
        if mode == 0:
            theta[i] -= lr * g / math.sqrt(vi + eps)
        else:
            theta[i] -= lr * g / (math.sqrt(vi) + eps)


@cuda_route("optimizers")
def adagrad_step(theta, grad, v, *, lr, eps, eps_mode="inside", backend=None) -> None:
    r"""One AdaGrad step, in place: ``v ← v + g²``, then

    - ``eps_mode="inside"`` (default): ``θ ← θ − α g / √(v + ε)`` — ``002_1388b78ad9a2d202.txt``,
      "Adaptive Subgrad. (AdaGrad)", line 3;
    - ``eps_mode="outside"``: ``θ ← θ − α g / (√v + ε)`` — ``torch.optim.Adagrad`` (with
      ``lr_decay=0``, ``initial_accumulator_value=0``) and Duchi, Hazan & Singer 2011 (δI + diag(G)^{1/2}).

    The accumulator includes the current gradient before the step, as in both sources.

    Args:
        theta: parameters (n,), updated in place.
        grad: gradient (n,).
        v: sum of squared gradients (n,), zeros at the start, updated in place.
        lr: step size α ≥ 0.
        eps: ε ≥ 0 (with ε = 0 a coordinate whose gradients were all 0 gives 0/0 = NaN).
        eps_mode: ``"inside"`` or ``"outside"``.
    """
    name, theta, grad, s, h, _ = _prepare("adagrad", backend, theta, grad, {"v": v},
                                          {"lr": lr, "eps": eps, "eps_mode": eps_mode})
    v = s["v"]
    mode = _ADAGRAD_MODES[h["eps_mode"]]
    if name == "numpy":
        v += grad * grad
        denom = np.sqrt(v + h["eps"]) if mode == 0 else np.sqrt(v) + h["eps"]
        theta -= h["lr"] * grad / denom
    elif name == "cpu":
        _adagrad_cpu(theta, grad, v, h["lr"], h["eps"], mode)
    else:
        _adagrad_parallel(theta, grad, v, h["lr"], h["eps"], mode)


# --------------------------------------------------------------------------- AdaGrad-Norm


@jit(error_model="numpy")
def _adagrad_norm_cpu(theta, grad, acc, lr, eps):
    s = acc[0] * 0.0
    for i in range(grad.size):
        s += grad[i] * grad[i]
    a = acc[0] + s
    acc[0] = a
    scale = lr / math.sqrt(a + eps)
    for i in range(theta.size):
        theta[i] -= scale * grad[i]


@parallel_jit(error_model="numpy")
def _adagrad_norm_parallel(theta, grad, acc, lr, eps):
    s = acc[0] * 0.0
    for i in prange(grad.size):
        s += grad[i] * grad[i]
    a = acc[0] + s
    acc[0] = a
    scale = lr / math.sqrt(a + eps)
    for i in prange(theta.size):
        theta[i] -= scale * grad[i]


@cuda_route("optimizers")
def adagrad_norm_step(theta, grad, acc, *, lr, eps, backend=None) -> None:
    r"""One AdaGrad-Norm step (one scalar step size for all coordinates), in place.

    ``a ← a + ‖g‖²``, ``θ ← θ − α g / √(ε + a)``, so after t steps
    ``x_{t+1} = x_t − η / √(ε + Σ_{j≤t} ‖∇f(x_j)‖²) · ∇f(x_t)``.

    Source: ``001_02deb113427fab16.txt``, "Adding adaptive learning rates" (the slide says ε is "added
    to the numerator"; it is in the denominator, under the square root, in its own formula).

    Args:
        theta: parameters (n,), updated in place.
        grad: gradient (n,).
        acc: the scalar accumulator Σ‖g‖² as an array of shape (1,), zero at the start, updated in place.
        lr: step size α ≥ 0.
        eps: ε ≥ 0.
    """
    name, theta, grad, s, h, _ = _prepare("adagrad_norm", backend, theta, grad, {"acc": acc},
                                          {"lr": lr, "eps": eps})
    acc = s["acc"]
    if name == "numpy":
        acc += np.dot(grad, grad)
        theta -= (h["lr"] / np.sqrt(acc[0] + h["eps"])) * grad
    elif name == "cpu":
        _adagrad_norm_cpu(theta, grad, acc, h["lr"], h["eps"])
    else:
        _adagrad_norm_parallel(theta, grad, acc, h["lr"], h["eps"])


# --------------------------------------------------------------------------- RMSprop

_RMSPROP_MODES = {"outside": 0, "inside": 1}


@jit(error_model="numpy")
def _rmsprop_cpu(theta, grad, v, lr, rho, one_minus_rho, eps, mode):
    for i in range(theta.size):
        g = grad[i]
        vi = rho * v[i] + one_minus_rho * (g * g)
        v[i] = vi
        if mode == 0:
            theta[i] -= lr * g / (math.sqrt(vi) + eps)
        else:
            theta[i] -= lr * g / math.sqrt(vi + eps)


@parallel_jit(error_model="numpy")
def _rmsprop_parallel(theta, grad, v, lr, rho, one_minus_rho, eps, mode):
    for i in prange(theta.size):
        g = grad[i]
        vi = rho * v[i] + one_minus_rho * (g * g)
        v[i] = vi
        if mode == 0:
            theta[i] -= lr * g / (math.sqrt(vi) + eps)
        else:
            theta[i] -= lr * g / math.sqrt(vi + eps)


@cuda_route("optimizers")
def rmsprop_step(theta, grad, v, *, lr, rho, eps, eps_mode="outside", backend=None) -> None:
    r"""One RMSprop step, in place: ``v ← ρ v + (1 − ρ) g²``, then

    - ``eps_mode="outside"`` (default): ``θ ← θ − α g / (√v + ε)`` — ``torch.optim.RMSprop``
      (``alpha`` there is ρ here; ``centered=False``, ``momentum=0``);
    - ``eps_mode="inside"``: ``θ ← θ − α g / √(v + ε)`` — TensorFlow 1's ``ApplyRMSProp``.

    No bias correction (Tieleman & Hinton 2012, lecture 6e; named in ``001_02deb113427fab16.txt``,
    "Modern Optimizers"). Adam with β₁ = 0 is RMSprop *with* bias correction (see the tests).

    Args:
        theta: parameters (n,), updated in place.
        grad: gradient (n,).
        v: moving average of g² (n,), zeros at the start, updated in place.
        lr: step size α ≥ 0.
        rho: decay ρ ∈ [0, 1).
        eps: ε ≥ 0.
        eps_mode: ``"outside"`` or ``"inside"``.
    """
    name, theta, grad, s, h, cast = _prepare("rmsprop", backend, theta, grad, {"v": v},
                                             {"lr": lr, "rho": rho, "eps": eps, "eps_mode": eps_mode})
    v = s["v"]
    mode = _RMSPROP_MODES[h["eps_mode"]]
    omr = cast(1.0) - h["rho"]
    if name == "numpy":
        v *= h["rho"]
        v += omr * (grad * grad)
        denom = np.sqrt(v) + h["eps"] if mode == 0 else np.sqrt(v + h["eps"])
        theta -= h["lr"] * grad / denom
    elif name == "cpu":
        _rmsprop_cpu(theta, grad, v, h["lr"], h["rho"], omr, h["eps"], mode)
    else:
        _rmsprop_parallel(theta, grad, v, h["lr"], h["rho"], omr, h["eps"], mode)


# --------------------------------------------------------------------------- Adam

_ADAM_MODES = {"kingma": 0, "keras": 1, "inside": 2}


@jit(error_model="numpy")
def _adam_moments(g, m, v, b1, omb1, b2, omb2):
    return b1 * m + omb1 * g, b2 * v + omb2 * (g * g)


# One loop per eps_mode (rather than a branch inside one loop) so that LLVM vectorises each of them.
# α/c1 and 1/√c2 (or 1/c2) are scalars formed once per step, as torch does: one √ and one ÷ per element.


@jit(error_model="numpy")
def _adam_cpu(theta, grad, m, v, lr, b1, omb1, b2, omb2, eps, c1, c2, step, mode):
    if mode == 0:
        for i in range(theta.size):
            mi, vi = _adam_moments(grad[i], m[i], v[i], b1, omb1, b2, omb2)
            m[i], v[i] = mi, vi
            theta[i] -= c1 * mi / (math.sqrt(vi) * c2 + eps)
    elif mode == 1:
        for i in range(theta.size):
            mi, vi = _adam_moments(grad[i], m[i], v[i], b1, omb1, b2, omb2)
            m[i], v[i] = mi, vi
            theta[i] -= step * mi / (math.sqrt(vi) + eps)
    else:
        for i in range(theta.size):
            mi, vi = _adam_moments(grad[i], m[i], v[i], b1, omb1, b2, omb2)
            m[i], v[i] = mi, vi
            theta[i] -= c1 * mi / math.sqrt(vi * c2 + eps)


@parallel_jit(error_model="numpy")
def _adam_parallel(theta, grad, m, v, lr, b1, omb1, b2, omb2, eps, c1, c2, step, mode):
    if mode == 0:
        for i in prange(theta.size):
            mi, vi = _adam_moments(grad[i], m[i], v[i], b1, omb1, b2, omb2)
            m[i], v[i] = mi, vi
            theta[i] -= c1 * mi / (math.sqrt(vi) * c2 + eps)
    elif mode == 1:
        for i in prange(theta.size):
            mi, vi = _adam_moments(grad[i], m[i], v[i], b1, omb1, b2, omb2)
            m[i], v[i] = mi, vi
            theta[i] -= step * mi / (math.sqrt(vi) + eps)
    else:
        for i in prange(theta.size):
            mi, vi = _adam_moments(grad[i], m[i], v[i], b1, omb1, b2, omb2)
            m[i], v[i] = mi, vi
            theta[i] -= c1 * mi / math.sqrt(vi * c2 + eps)


def _adam_numpy(theta, grad, m, v, lr, b1, omb1, b2, omb2, eps, c1, c2, step, mode):
    m *= b1
    m += omb1 * grad
    v *= b2
    v += omb2 * (grad * grad)
    if mode == 0:
        denom = np.sqrt(v)
        denom *= c2
        denom += eps
        theta -= c1 * m / denom
    elif mode == 1:
        denom = np.sqrt(v)
        denom += eps
        theta -= step * m / denom
    else:
        theta -= c1 * m / np.sqrt(v * c2 + eps)


@cuda_route("optimizers")
def adam_step(theta, grad, m, v, t, *, lr, beta1, beta2, eps, eps_mode="kingma", backend=None) -> None:
    r"""One Adam step, in place (Kingma & Ba 2015, Algorithm 1).

    .. math::
        m ← β₁ m + (1 − β₁) g,\quad v ← β₂ v + (1 − β₂) g²,\quad
        \hat m = m / (1 − β₁^t),\quad \hat v = v / (1 − β₂^t)

    then, by ``eps_mode``:

    - ``"kingma"`` (default): ``θ ← θ − α m̂ / (√v̂ + ε)`` — Algorithm 1 of the paper;
      ``torch.optim.Adam`` and ``optax.adam`` compute the same thing;
    - ``"keras"``: ``θ ← θ − α_t m / (√v + ε̂)`` with ``α_t = α √(1 − β₂ᵗ) / (1 − β₁ᵗ)`` — the "more
      efficient" order of Section 2 of the paper, used by Keras and TensorFlow's Adam, whose ``epsilon``
      is ε̂; it equals ``"kingma"`` with the step-dependent ε = ε̂ / √(1 − β₂ᵗ), not with ε = ε̂;
    - ``"inside"``: ``θ ← θ − α m̂ / √(v̂ + ε)`` (optax's ``eps_root`` with ``eps = 0``).

    ``t`` is the number of this step, counting from 1: the first step uses 1 − β₁ and 1 − β₂.
    ``002_1388b78ad9a2d202.txt``, "Adaptive Momentum (Adam)" writes the corrections as ``1 + β̂ᵗ``;
    that is not Kingma & Ba's rule (see :mod:`verify.symbolic.optimizers`, which reproduces it to show
    the difference). Bias corrections are computed by :func:`bias_correction` to a few ULPs.

    Args:
        theta: parameters (n,), updated in place.
        grad: gradient (n,).
        m, v: first and second moment estimates (n,), zeros at the start, updated in place.
        t: the step number, an integer ≥ 1.
        lr: step size α ≥ 0.
        beta1, beta2: decay rates in [0, 1).
        eps: ε ≥ 0.
        eps_mode: ``"kingma"``, ``"keras"`` or ``"inside"``.
    """
    name, theta, grad, s, h, cast = _prepare(
        "adam", backend, theta, grad, {"m": m, "v": v},
        {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "eps_mode": eps_mode},
    )
    t = _check_step_number(t)
    b1, b2 = h["beta1"], h["beta2"]
    c1 = bias_correction(float(b1), t)
    c2 = bias_correction(float(b2), t)
    mode = _ADAM_MODES[h["eps_mode"]]
    # scalars formed once per step: α/c1, and 1/√c2 (kingma: √v̂ = √v·(1/√c2)) or 1/c2 (inside: v̂ = v·(1/c2))
    lr_c1 = cast(float(h["lr"]) / c1)
    inv_c2 = cast(1.0 / c2 if mode == 2 else 1.0 / math.sqrt(c2))
    step = cast(float(h["lr"]) * math.sqrt(c2) / c1)
    args = (theta, grad, s["m"], s["v"], h["lr"], b1, cast(1.0) - b1, b2, cast(1.0) - b2, h["eps"], lr_c1, inv_c2,
            step, mode)
    {"numpy": _adam_numpy, "cpu": _adam_cpu, "parallel": _adam_parallel}[name](*args)


def _check_step_number(t: object) -> int:
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)):
        raise TypeError(f"t must be an integer step number counted from 1; got {t!r} ({type(t).__name__})")
    if t < 1:
        raise ValueError(f"t must be >= 1 (Adam counts steps from 1, Kingma & Ba Algorithm 1); got {int(t)}")
    return int(t)


# --------------------------------------------------------------------------- generic interface

OPTIMIZERS = {
    "sgd": sgd_step,
    "momentum": momentum_step,
    "ema_momentum": ema_momentum_step,
    "nesterov": nesterov_step,
    "adagrad": adagrad_step,
    "adagrad_norm": adagrad_norm_step,
    "rmsprop": rmsprop_step,
    "adam": adam_step,
}


def init_state(rule: str, n: int, *, dtype=np.float64) -> dict[str, np.ndarray]:
    """Fresh (all-zero) state of ``rule`` for ``n`` parameters: name → array ((1,) for scalar state)."""
    spec = rule_spec(rule)
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}")
    return {s: np.zeros(1 if s in spec.scalar_state else int(n), dtype=dtype) for s in spec.state}


@cuda_route("optimizers")
def apply_step(rule: str, theta, grad, state: Mapping[str, np.ndarray], t: int, *, backend=None, **hyper) -> None:
    """One step of ``rule`` in place, with the state as a dict (see :func:`init_state`).

    ``t`` (the step number from 1) is used by the rules that need it (Adam) and checked by all.
    """
    spec = rule_spec(rule)
    validate_hyperparameters(rule, hyper)
    t = _check_step_number(t)
    missing = [s for s in spec.state if s not in state]
    if missing:
        raise ValueError(f"state for {rule} must hold {list(spec.state)}; missing {missing}")
    arrays = [state[s] for s in spec.state]
    if spec.takes_step_number:
        arrays.append(t)
    OPTIMIZERS[rule](theta, grad, *arrays, backend=backend, **hyper)


@cuda_route("optimizers")
def run_optimizer(rule: str, theta0, grads, *, backend=None, return_state: bool = False, **hyper):
    """Run ``rule`` from ``theta0`` over the gradient sequence ``grads`` (T, n); return the (T, n) iterates.

    Row ``t − 1`` holds θ after step t. ``theta0`` is not modified. With ``return_state=True`` returns
    ``(iterates, states)`` where ``states[name]`` stacks the state after each step, shape (T, n) or (T, 1).
    ``functools.partial(run_optimizer, rule, backend=b)`` is a ``run`` for :func:`verify.check_optimizer`.
    """
    theta0 = as_float_array(theta0, "theta0", ndim=1)
    grads = as_float_array(grads, "grads", ndim=2, dtype=theta0.dtype)
    if grads.shape[1] != theta0.shape[0]:
        raise ValueError(f"grads must have shape (T, {theta0.shape[0]}) to match theta0; got {grads.shape}")
    validate_hyperparameters(rule, hyper)
    theta = theta0.copy()
    state = init_state(rule, theta.size, dtype=theta.dtype)
    iterates = np.empty(grads.shape, dtype=theta.dtype)
    history = {k: np.empty((grads.shape[0], v.size), dtype=v.dtype) for k, v in state.items()}
    for t in range(1, grads.shape[0] + 1):
        grad = np.ascontiguousarray(grads[t - 1])
        try:
            apply_step(rule, theta, grad, state, t, backend=backend, **hyper)
        except ValueError as exc:
            if "grad must be finite" in str(exc):
                raise ValueError(f"grads[{t - 1}] (step {t}) is not finite: {describe(grad)}") from exc
            raise
        iterates[t - 1] = theta
        for k, v in state.items():
            history[k][t - 1] = v
    return (iterates, history) if return_state else iterates
