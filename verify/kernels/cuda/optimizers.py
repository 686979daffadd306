r"""Optimizer steps as ``numba.cuda`` kernels (the ``"cuda"`` backend).

Mirrors :mod:`verify.kernels.optimizers`: the same rules, conventions (``eps_mode``), hyperparameter
validation and calling convention — every ``*_step`` updates ``theta`` and its state **in place** and
returns ``None``; :func:`run_optimizer` returns the (T, n) iterates. One thread per parameter.

- sgd: θ ← θ − α g (``000_42086e2af0f76780.txt``, Algorithm 2.1);
- momentum (heavy ball): b ← μ b + g, θ ← θ − α b (``001_02deb113427fab16.txt``, "Adding Momentum");
- ema_momentum: m ← β m + (1 − β) g, θ ← θ − α m (``002_1388b78ad9a2d202.txt``, "SG + Momentum (SGM)");
- nesterov: b ← μ b + g, θ ← θ − α (g + μ b) (``torch.optim.SGD(nesterov=True)``);
- adagrad: v ← v + g², θ ← θ − α g/√(v + ε) (``"inside"``, seed 002) or α g/(√v + ε) (``"outside"``);
- adagrad_norm: a ← a + ‖g‖², θ ← θ − α g/√(ε + a) (``001_02deb113427fab16.txt``);
- rmsprop: v ← ρ v + (1 − ρ) g², θ ← θ − α g/(√v + ε) (``"outside"``) or α g/√(v + ε) (``"inside"``);
- adam: Kingma & Ba 2015, Algorithm 1, with ``eps_mode`` ``"kingma"``, ``"keras"`` or ``"inside"``.

Arithmetic is in the dtype of ``theta`` (hyperparameters rounded to it first), as on the CPU backends;
the one reduction, ‖g‖² of AdaGrad-Norm, is accumulated in float64 in shared memory and rounded once.

Arrays: device arrays are updated in place on the device. Host arrays are copied to the device, updated,
and copied back into the caller's arrays (one round trip per call); for many steps use device arrays or
:func:`run_optimizer`, which moves ``theta0`` and ``grads`` to the device once and the iterates back once.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from verify._validate import describe
from verify.kernels.cuda._device import (
    DeviceArgs,
    device_sum,
    elementwise_grid,
    first_nonfinite,
    float_signatures,
    is_device_array,
    register,
)
from verify.kernels.optimizers import RULES, bias_correction, init_state, rule_spec, validate_hyperparameters

__all__ = [
    "OPTIMIZERS",
    "sgd_step",
    "momentum_step",
    "ema_momentum_step",
    "nesterov_step",
    "adagrad_step",
    "adagrad_norm_step",
    "rmsprop_step",
    "adam_step",
    "apply_step",
    "run_optimizer",
]

_EPS_MODES = {"adagrad": {"inside": 0, "outside": 1}, "rmsprop": {"outside": 0, "inside": 1},
              "adam": {"kingma": 0, "keras": 1, "inside": 2}}


# --------------------------------------------------------------------------------------------------
# Kernels (one thread per coordinate; scalars arrive in the dtype of theta)


@register(*float_signatures("void({f}[::1], {f}[::1], {f})"))
def _sgd_kernel(theta, grad, lr):
    i = cuda.grid(1)
    if i < theta.size:
        theta[i] -= lr * grad[i]


@register(*float_signatures("void({f}[::1], {f}[::1], {f}[::1], {f}, {f}, int64)"))
def _momentum_kernel(theta, grad, b, lr, mu, nesterov):
    i = cuda.grid(1)
    if i < theta.size:
        g = grad[i]
        bi = mu * b[i] + g
        b[i] = bi
        if nesterov == 1:
            theta[i] -= lr * (g + mu * bi)
        else:
            theta[i] -= lr * bi


@register(*float_signatures("void({f}[::1], {f}[::1], {f}[::1], {f}, {f}, {f})"))
def _ema_kernel(theta, grad, m, lr, beta, one_minus_beta):
    i = cuda.grid(1)
    if i < theta.size:
        mi = beta * m[i] + one_minus_beta * grad[i]
        m[i] = mi
        theta[i] -= lr * mi


@register(*float_signatures("void({f}[::1], {f}[::1], {f}[::1], {f}, {f}, {f}, {f}, int64)"))
def _second_moment_kernel(theta, grad, v, lr, rho, one_minus_rho, eps, eps_inside):
    # AdaGrad (rho = one_minus_rho = 1: v ← v + g²) and RMSprop (v ← ρ v + (1 − ρ) g²).
    i = cuda.grid(1)
    if i < theta.size:
        g = grad[i]
        vi = rho * v[i] + one_minus_rho * (g * g)
        v[i] = vi
        if eps_inside == 1:
            theta[i] -= lr * g / math.sqrt(vi + eps)
        else:
            theta[i] -= lr * g / (math.sqrt(vi) + eps)


@register(*float_signatures("void({f}[::1], {f}[::1], {f}[::1], {f}, {f})"))
def _scaled_step_kernel(theta, grad, acc, lr, eps):
    # AdaGrad-Norm's update once a = acc[0] holds the new accumulator: θ ← θ − α g / √(a + ε).
    i = cuda.grid(1)
    if i < theta.size:
        theta[i] -= (lr / math.sqrt(acc[0] + eps)) * grad[i]


@register(*float_signatures("void({f}[::1], {f})"))
def _add_scalar_kernel(acc, s):
    if cuda.grid(1) == 0:
        acc[0] = acc[0] + s


@register(*float_signatures("void({f}[::1], {f}[::1], {f}[::1], {f}[::1], {f}, {f}, {f}, {f}, {f}, {f}, {f}, {f}, {f}, int64)"))
def _adam_kernel(theta, grad, m, v, lr, b1, omb1, b2, omb2, eps, c1, c2, step, mode):
    i = cuda.grid(1)
    if i < theta.size:
        g = grad[i]
        mi = b1 * m[i] + omb1 * g
        vi = b2 * v[i] + omb2 * (g * g)
        m[i] = mi
        v[i] = vi
        if mode == 0:
            theta[i] -= lr * (mi / c1) / (math.sqrt(vi / c2) + eps)
        elif mode == 1:
            theta[i] -= step * mi / (math.sqrt(vi) + eps)
        else:
            theta[i] -= lr * (mi / c1) / math.sqrt(vi / c2 + eps)


@register(*float_signatures("void({f}[::1], {f}[:, ::1], int64)"))
def _store_row_kernel(theta, out, row):
    i = cuda.grid(1)
    if i < theta.size:
        out[row, i] = theta[i]


@register(*float_signatures("void({f}[::1], float64[::1])"))
def _squares_kernel(grad, out):
    i = cuda.grid(1)
    if i < grad.size:
        g = np.float64(grad[i])
        out[i] = g * g


# --------------------------------------------------------------------------------------------------
# Host side


class _Step:
    """The arrays of one step, on the device, and how to hand results back to host callers.

    ``check_grad=False`` skips the NaN/inf scan of ``grad`` (for :func:`run_optimizer`, which scans the
    whole sequence once instead of once per step).
    """

    def __init__(self, rule: str, theta, grad, state: dict, hyper: dict, *, check_grad: bool = True):
        self.hyper = validate_hyperparameters(rule, hyper)
        self.args = DeviceArgs()
        self.host: list = []
        self.theta = self._updated(theta, "theta", None, None)
        dtype = np.dtype(self.theta.dtype)
        n = self.theta.shape[0]
        self.grad = self.args.float(grad, "grad", ndim=1, dtype=dtype, finite=check_grad)
        if self.grad.shape[0] != n:
            raise ValueError(f"grad must have the shape of theta {(n,)}; got {tuple(self.grad.shape)}")
        self.state = {name: self._updated(value, name, dtype, 1 if name == "acc" else n)
                      for name, value in state.items()}
        self.cast = dtype.type
        self.scalars = {k: (self.cast(v) if isinstance(v, float) else v) for k, v in self.hyper.items()}
        self.grid = elementwise_grid(n)

    def _updated(self, value, name: str, dtype, length: int | None):
        """An array the step updates in place: a device array, or a writable host array copied back after."""
        on_host = not is_device_array(value)
        if on_host and not isinstance(value, np.ndarray):
            raise TypeError(f"{name} must be a NumPy or device array (it is updated in place); got {describe(value)}")
        if on_host and not value.flags.writeable:
            raise ValueError(f"{name} must be writable: the step updates it in place")
        arr = self.args.float(value, name, ndim=1, dtype=dtype, finite=False)
        if length is not None and arr.shape[0] != length:
            raise ValueError(f"{name} must have shape ({length},); got {tuple(arr.shape)}")
        if on_host:
            self.host.append((value, arr))
        return arr

    def launch(self, kernel, *args) -> None:
        if self.theta.shape[0]:
            blocks, threads = self.grid
            kernel[blocks, threads](*args)

    def finish(self) -> None:
        """Copy updated host arrays back into the caller's arrays (nothing to do for device arrays)."""
        for host, dev in self.host:
            dev.copy_to_host(host)


def _sgd(s: _Step, t: int) -> None:
    s.launch(_sgd_kernel, s.theta, s.grad, s.scalars["lr"])


def _heavy_ball(s: _Step, t: int) -> None:
    s.launch(_momentum_kernel, s.theta, s.grad, s.state["b"], s.scalars["lr"], s.scalars["momentum"], 0)


def _nesterov(s: _Step, t: int) -> None:
    s.launch(_momentum_kernel, s.theta, s.grad, s.state["b"], s.scalars["lr"], s.scalars["momentum"], 1)


def _ema(s: _Step, t: int) -> None:
    beta = s.scalars["beta"]
    s.launch(_ema_kernel, s.theta, s.grad, s.state["m"], s.scalars["lr"], beta, s.cast(1.0) - beta)


def _adagrad(s: _Step, t: int) -> None:
    one = s.cast(1.0)
    inside = 1 if s.hyper["eps_mode"] == "inside" else 0
    s.launch(_second_moment_kernel, s.theta, s.grad, s.state["v"], s.scalars["lr"], one, one, s.scalars["eps"], inside)


def _rmsprop(s: _Step, t: int) -> None:
    rho = s.scalars["rho"]
    inside = 1 if s.hyper["eps_mode"] == "inside" else 0
    s.launch(_second_moment_kernel, s.theta, s.grad, s.state["v"], s.scalars["lr"], rho, s.cast(1.0) - rho,
             s.scalars["eps"], inside)


def _adagrad_norm(s: _Step, t: int) -> None:
    n = s.theta.shape[0]
    total = s.cast(0.0)
    if n:
        squares = cuda.device_array(n, dtype=np.float64)
        s.launch(_squares_kernel, s.grad, squares)
        total = s.cast(device_sum(squares))  # one scalar back: the step size depends on it
    _add_scalar_kernel[1, 1](s.state["acc"], total)
    s.launch(_scaled_step_kernel, s.theta, s.grad, s.state["acc"], s.scalars["lr"], s.scalars["eps"])


def _adam(s: _Step, t: int) -> None:
    cast = s.cast
    b1, b2 = s.scalars["beta1"], s.scalars["beta2"]
    c1 = cast(bias_correction(float(b1), t))
    c2 = cast(bias_correction(float(b2), t))
    step = cast(float(s.scalars["lr"]) * math.sqrt(float(c2)) / float(c1))
    s.launch(_adam_kernel, s.theta, s.grad, s.state["m"], s.state["v"], s.scalars["lr"], b1, cast(1.0) - b1,
             b2, cast(1.0) - b2, s.scalars["eps"], c1, c2, step, _EPS_MODES["adam"][s.hyper["eps_mode"]])


_IMPLS = {"sgd": _sgd, "momentum": _heavy_ball, "ema_momentum": _ema, "nesterov": _nesterov,
          "adagrad": _adagrad, "adagrad_norm": _adagrad_norm, "rmsprop": _rmsprop, "adam": _adam}


def _run_step(rule: str, theta, grad, state: dict, t: int, hyper: dict, *, check_grad: bool = True) -> None:
    s = _Step(rule, theta, grad, state, hyper, check_grad=check_grad)
    _IMPLS[rule](s, t)
    s.finish()


def _step_number(t: object) -> int:
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)):
        raise TypeError(f"t must be an integer step number counted from 1; got {t!r} ({type(t).__name__})")
    if t < 1:
        raise ValueError(f"t must be >= 1 (Adam counts steps from 1, Kingma & Ba Algorithm 1); got {int(t)}")
    return int(t)


def sgd_step(theta, grad, *, lr) -> None:
    """θ ← θ − α g, in place (see :func:`verify.kernels.optimizers.sgd_step`)."""
    _run_step("sgd", theta, grad, {}, 1, {"lr": lr})


def momentum_step(theta, grad, b, *, lr, momentum) -> None:
    """Heavy ball, in place: b ← μ b + g, θ ← θ − α b."""
    _run_step("momentum", theta, grad, {"b": b}, 1, {"lr": lr, "momentum": momentum})


def nesterov_step(theta, grad, b, *, lr, momentum) -> None:
    """Nesterov (PyTorch form), in place: b ← μ b + g, θ ← θ − α (g + μ b)."""
    _run_step("nesterov", theta, grad, {"b": b}, 1, {"lr": lr, "momentum": momentum})


def ema_momentum_step(theta, grad, m, *, lr, beta) -> None:
    """EMA momentum (SGM), in place: m ← β m + (1 − β) g, θ ← θ − α m."""
    _run_step("ema_momentum", theta, grad, {"m": m}, 1, {"lr": lr, "beta": beta})


def adagrad_step(theta, grad, v, *, lr, eps, eps_mode="inside") -> None:
    """AdaGrad, in place: v ← v + g², θ ← θ − α g/√(v + ε) (``"inside"``) or α g/(√v + ε) (``"outside"``)."""
    _run_step("adagrad", theta, grad, {"v": v}, 1, {"lr": lr, "eps": eps, "eps_mode": eps_mode})


def rmsprop_step(theta, grad, v, *, lr, rho, eps, eps_mode="outside") -> None:
    """RMSprop, in place: v ← ρ v + (1 − ρ) g², θ ← θ − α g/(√v + ε) (``"outside"``) or α g/√(v + ε)."""
    _run_step("rmsprop", theta, grad, {"v": v}, 1, {"lr": lr, "rho": rho, "eps": eps, "eps_mode": eps_mode})


def adagrad_norm_step(theta, grad, acc, *, lr, eps) -> None:
    """AdaGrad-Norm, in place: a ← a + ‖g‖², θ ← θ − α g/√(ε + a); ``acc`` has shape (1,)."""
    _run_step("adagrad_norm", theta, grad, {"acc": acc}, 1, {"lr": lr, "eps": eps})


def adam_step(theta, grad, m, v, t, *, lr, beta1, beta2, eps, eps_mode="kingma") -> None:
    """Adam (Kingma & Ba 2015, Algorithm 1), in place; ``t`` counts from 1. ``eps_mode``: ``"kingma"``
    (θ ← θ − α m̂/(√v̂ + ε)), ``"keras"`` (θ ← θ − α_t m/(√v + ε̂)) or ``"inside"`` (θ ← θ − α m̂/√(v̂ + ε))."""
    t = _step_number(t)
    _run_step("adam", theta, grad, {"m": m, "v": v}, t,
              {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "eps_mode": eps_mode})


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


def apply_step(rule: str, theta, grad, state, t: int, **hyper) -> None:
    """One step of ``rule`` in place with the state as a dict of arrays (host or device)."""
    spec = rule_spec(rule)
    t = _step_number(t)
    missing = [name for name in spec.state if name not in state]
    if missing:
        raise ValueError(f"state for {rule} must hold {list(spec.state)}; missing {missing}")
    _run_step(rule, theta, grad, {name: state[name] for name in spec.state}, t, hyper)


def _require_finite_steps(d_grads) -> None:
    """Every row of ``grads`` finite, checked in one scan; the CPU backends' message names the step."""
    found = first_nonfinite(d_grads) if d_grads.size else None
    if found:
        _, (row, column), value = found
        raise ValueError(f"grads[{row}] (step {row + 1}) is not finite: grads[{row}, {column}] = {value.item()!r}")


def run_optimizer(rule: str, theta0, grads, *, return_state: bool = False, **hyper):
    """Run ``rule`` from ``theta0`` over ``grads`` (T, n) on the device; the (T, n) iterates.

    ``theta0`` and ``grads`` go to the device once (``grads`` is scanned for NaN/inf once), every step
    runs there, and the iterates (and, with ``return_state=True``, the stacked state after each step)
    come back once — or stay on the device when an input was a device array. ``theta0`` is not modified.
    """
    spec = rule_spec(rule)
    validate_hyperparameters(rule, hyper)
    args = DeviceArgs()
    d_theta0 = args.float(theta0, "theta0", ndim=1)
    d_grads = args.float(grads, "grads", ndim=2, dtype=d_theta0.dtype, finite=False)
    n_steps, n = d_grads.shape
    if n != d_theta0.shape[0]:
        raise ValueError(f"grads must have shape (T, {d_theta0.shape[0]}) to match theta0; got {tuple(d_grads.shape)}")
    _require_finite_steps(d_grads)
    dtype = np.dtype(d_theta0.dtype)
    theta = cuda.device_array(n, dtype=dtype)
    theta.copy_to_device(d_theta0)
    state = {k: cuda.to_device(v) for k, v in init_state(rule, n, dtype=dtype).items()}
    iterates = cuda.device_array((n_steps, n), dtype=dtype)
    history = {k: cuda.device_array((n_steps, v.shape[0]), dtype=dtype) for k, v in state.items()}
    for t in range(1, n_steps + 1):
        _run_step(rule, theta, d_grads[t - 1], {k: state[k] for k in spec.state}, t, hyper, check_grad=False)
        _store(theta, iterates, t - 1)
        for k, v in state.items():
            _store(v, history[k], t - 1)
    if return_state:
        return args.out(iterates), {k: args.out(v) for k, v in history.items()}
    return args.out(iterates)


def _store(vector, out, row: int) -> None:
    if vector.shape[0]:
        blocks, threads = elementwise_grid(vector.shape[0])
        _store_row_kernel[blocks, threads](vector, out, row)


assert set(OPTIMIZERS) == set(RULES), "every CPU rule needs a CUDA kernel"
