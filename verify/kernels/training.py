r"""Training drivers: minibatch stochastic gradient descent and full-batch gradient descent.

Both take a ``loss_and_grad(theta, inputs, targets) -> (value, gradient)`` callable over a flat parameter
vector, so they work with any loss of :mod:`verify.kernels.losses` composed with any model (a linear map,
a network of :mod:`verify.kernels.network`) — the caller writes the composition — and with any update
rule of :mod:`verify.kernels.optimizers` (``rule=``, default ``"sgd"``).

Minibatch SGD follows the pseudocode of ``002_1388b78ad9a2d202.txt``, "Mini-Batch Stochastic Gradient"
(and ``000_42086e2af0f76780.txt``, Algorithm 2.2 "Minibatch stochastic gradient descent training"):

.. code-block:: text

    for epoch = 1 … epochs:
        random partition 𝒯 = ⊔_{i=1}^{n_b} 𝒯_i          (a fresh permutation of the N samples, cut into
        for i = 1 … n_b:                                  consecutive batches of batch_size; the last
            Φ_i = (1/|𝒯_i|) Σ_{j ∈ 𝒯_i} L(F(y_j, θ), c_j)  one is smaller when batch_size ∤ N)
            g_i = ∇Φ_i(θ)
            θ ← rule(θ, g_i)                              (sgd: θ ← θ − α_t g_i)

The partition is drawn from ``numpy.random.default_rng(seed)``: ``perm = rng.permutation(N)`` once per
epoch, batch i is ``perm[i·b : (i+1)·b]``. Same seed, same trajectory. ``loss_and_grad`` is expected to
return the *mean* loss over the batch it is given and its gradient (line 8 of the pseudocode).

The step size may be a number or a schedule ``lr(t)`` of the global step number t = 1, 2, … (the
Robbins–Monro conditions Σα_t = ∞, Σα_t² < ∞ of ``002_1388b78ad9a2d202.txt`` are met by e.g.
``lambda t: a / t``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from verify._validate import as_float_array, describe, require_finite, require_positive_int, require_scalar
from verify.kernels.optimizers import apply_step, init_state, rule_spec, validate_hyperparameters
from verify.kernels.schedules import Schedule

__all__ = ["TrainingResult", "minibatch_sgd", "full_batch_gd", "minibatch_partition"]

LossAndGrad = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[float, np.ndarray]]


@dataclass
class TrainingResult:
    """The outcome of a training run.

    ``theta``: the final parameters. ``losses[k]``: the (batch-mean) loss returned at step k + 1, i.e. at
    the parameters *before* that step. ``epoch_of_step[k]``: the epoch (from 1) of step k + 1.
    ``state``: the optimizer state after the last step.
    """

    theta: np.ndarray
    losses: np.ndarray
    epoch_of_step: np.ndarray
    steps: int
    rule: str
    state: dict = field(default_factory=dict)


def _step_size(lr: float | Callable[[int], float], t: int):
    if isinstance(lr, Schedule):  # the step evaluates it (and reads its multiplier for decay_scale="schedule")
        return lr
    if callable(lr):
        value = lr(t)
        try:
            return require_scalar(value, "lr", low=0.0)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"the schedule lr(t) at step t = {t}: {exc}") from None
    return float(lr)


def minibatch_partition(n_samples: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One random partition of ``range(n_samples)`` into consecutive batches of a fresh permutation."""
    perm = rng.permutation(n_samples)
    return [perm[i:i + batch_size] for i in range(0, n_samples, batch_size)]


def _prepare(rule, theta0, inputs, targets, lr, hyper):
    theta = as_float_array(theta0, "theta0", ndim=1).copy()
    require_finite(theta, "theta0")
    inputs = np.asarray(inputs)
    targets = np.asarray(targets)
    if inputs.ndim == 0 or targets.ndim == 0 or inputs.shape[0] != targets.shape[0]:
        raise ValueError(f"inputs and targets must have the same number of rows; got shapes {inputs.shape} "
                         f"and {targets.shape}")
    if inputs.shape[0] == 0:
        raise ValueError("inputs must hold at least one sample; got 0 rows")
    rule_spec(rule)
    if not callable(lr):
        lr = require_scalar(lr, "lr", low=0.0)
    validate_hyperparameters(rule, {"lr": 1.0, **hyper})  # lr checked above (it may be a schedule)
    return theta, inputs, targets, lr


def _gradient(loss_and_grad: LossAndGrad, theta: np.ndarray, xb, yb, t: int) -> tuple[float, np.ndarray]:
    value, grad = loss_and_grad(theta.copy(), xb, yb)
    grad = np.asarray(grad)
    if grad.shape != theta.shape or grad.dtype != theta.dtype:
        raise ValueError(f"loss_and_grad must return a gradient shaped like theta {theta.shape} with dtype "
                         f"{theta.dtype}; at step {t} got {describe(grad)}")
    if not np.isfinite(grad).all():
        raise ValueError(f"loss_and_grad returned a non-finite gradient at step {t}: {describe(grad)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"loss_and_grad returned a non-finite loss {value!r} at step {t}")
    return value, np.ascontiguousarray(grad)


def minibatch_sgd(
    loss_and_grad: LossAndGrad,
    theta0,
    inputs,
    targets,
    *,
    lr: float | Callable[[int], float],
    batch_size: int,
    epochs: int,
    seed: int,
    rule: str = "sgd",
    backend: str | None = None,
    **hyper,
) -> TrainingResult:
    """Minibatch SGD with a seeded random partition of the data each epoch (see the module docstring).

    Args:
        loss_and_grad: ``(theta, inputs_batch, targets_batch) -> (mean loss, gradient shaped like theta)``.
        theta0: initial parameters (n,); not modified.
        inputs, targets: the N samples (first axis indexes samples).
        lr: step size α ≥ 0, or a schedule ``lr(t)`` of the step number t ≥ 1.
        batch_size: samples per batch (≥ 1; ``batch_size ≥ N`` gives full-batch steps in shuffled order).
        epochs: passes over the data (≥ 1).
        seed: the seed of the partitions.
        rule: the update rule (:data:`verify.kernels.optimizers.RULES`), default ``"sgd"``.
        backend: the optimizer kernels' backend.
        **hyper: the rule's other hyperparameters (e.g. ``momentum=0.9``).
    """
    theta, inputs, targets, lr = _prepare(rule, theta0, inputs, targets, lr, hyper)
    batch_size = require_positive_int(batch_size, "batch_size")
    epochs = require_positive_int(epochs, "epochs")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer; got {seed!r}")
    rng = np.random.default_rng(seed)
    state = init_state(rule, theta.size, dtype=theta.dtype, **hyper)
    losses, epoch_of_step = [], []
    t = 0
    for epoch in range(1, epochs + 1):
        for batch in minibatch_partition(inputs.shape[0], batch_size, rng):
            t += 1
            value, grad = _gradient(loss_and_grad, theta, inputs[batch], targets[batch], t)
            apply_step(rule, theta, grad, state, t, backend=backend, lr=_step_size(lr, t), **hyper)
            losses.append(value)
            epoch_of_step.append(epoch)
    return TrainingResult(theta, np.array(losses), np.array(epoch_of_step), t, rule, state)


def full_batch_gd(
    loss_and_grad: LossAndGrad,
    theta0,
    inputs,
    targets,
    *,
    lr: float | Callable[[int], float],
    steps: int,
    rule: str = "sgd",
    backend: str | None = None,
    **hyper,
) -> TrainingResult:
    """Full-batch gradient descent: every step uses all N samples in their given order.

    ``θ_{t+1} = θ_t − α_t ∇Φ(θ_t)`` with Φ the mean loss over the data (``002_1388b78ad9a2d202.txt``,
    "Gradient Descent vs. Stochastic Gradient"; ``001_02deb113427fab16.txt``, "How about more dimensions?"), or any other ``rule``.
    Arguments as for :func:`minibatch_sgd`; ``steps`` ≥ 1 is the number of updates.
    """
    theta, inputs, targets, lr = _prepare(rule, theta0, inputs, targets, lr, hyper)
    steps = require_positive_int(steps, "steps")
    state = init_state(rule, theta.size, dtype=theta.dtype, **hyper)
    losses = []
    for t in range(1, steps + 1):
        value, grad = _gradient(loss_and_grad, theta, inputs, targets, t)
        apply_step(rule, theta, grad, state, t, backend=backend, lr=_step_size(lr, t), **hyper)
        losses.append(value)
    return TrainingResult(theta, np.array(losses), np.ones(steps, dtype=np.int64), steps, rule, state)
