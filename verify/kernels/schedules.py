r"""Learning-rate schedules: the step size α_t of step t = 1, 2, … as objects every rule's ``lr`` accepts.

A schedule is called with the step number: ``schedule(t)`` is α_t as a float (t counts from 1, as the
optimizer steps of :mod:`verify.kernels.optimizers` do). Each schedule also gives

- :meth:`Schedule.exact` — α_t and the multiplier η_t = α_t / α exactly (:class:`fractions.Fraction`, or mpmath
  where a cosine appears), for the exact references of :mod:`verify.symbolic.optimizers`;
- :meth:`Schedule.error_bound` — how far a float implementation's α_t may be from the exact one, for *any*
  reasonable way of computing it: the closed form below, or torch's recursive ``get_lr`` (each step's rate
  from the previous one), whose roundings accumulate (derivations in each class);
- :meth:`Schedule.torch` and :meth:`Schedule.optax` — the counterparts in ``torch.optim.lr_scheduler`` and
  optax, which give the same rates (``tests/peers/test_schedules.py``).

======================== ===================================================== =============================
schedule                 α_t (e = t − 1, the number of steps taken before)     torch / optax
======================== ===================================================== =============================
:class:`Constant`        α                                                     (none) / constant
:class:`StepDecay`       α γ^⌊e/s⌋                                             ``StepLR`` / exponential(staircase)
:class:`Exponential`     α γ^e                                                 ``ExponentialLR`` / exponential
:class:`CosineAnnealing` η_min + (α − η_min)(1 + cos(π e/T))/2                  ``CosineAnnealingLR`` / cosine
:class:`LinearWarmup`    α (s + (1 − s) min(e, W)/W)                           ``LinearLR`` / linear
======================== ===================================================== =============================

Sources: ``002_1388b78ad9a2d202.txt`` ("Stochastic Gradient (SG)": step sizes α_t with Σα_t = ∞,
Σα_t² < ∞); Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts" (ICLR 2017), eq. 5
for cosine annealing; Goyal et al., "Accurate, Large Minibatch SGD" (2017), §2.2 for linear warm-up.

Bad parameters (a negative rate or factor, a non-integer period) raise ``ValueError``/``TypeError`` naming
the parameter; a schedule never returns a negative rate.

>>> s = CosineAnnealing(0.1, T_max=4)
>>> [round(s(t), 6) for t in range(1, 7)]
[0.1, 0.085355, 0.05, 0.014645, 0.0, 0.014645]
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from fractions import Fraction

import mpmath
import numpy as np

from verify._validate import require_scalar

__all__ = ["Schedule", "Constant", "StepDecay", "Exponential", "CosineAnnealing", "LinearWarmup", "SCHEDULES",
           "step_number"]


def step_number(t: object, name: str = "t") -> int:
    """``t`` as a step number counted from 1; ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)):
        raise TypeError(f"{name} must be an integer step number counted from 1; got {t!r} ({type(t).__name__})")
    t = int(t)
    if t < 1:
        raise ValueError(f"{name} must be >= 1 (steps are counted from 1); got {t}")
    return t


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer >= 1; got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value}")
    return int(value)


class Schedule(ABC):
    """A learning-rate schedule α_t = α · η_t (``lr`` = α is the base rate, η_t the multiplier)."""

    #: ``"rational"`` when :meth:`exact` is a :class:`fractions.Fraction`, ``"mpmath"`` when it needs a cosine.
    arithmetic = "rational"

    def __init__(self, lr: float) -> None:
        self.lr = require_scalar(lr, "lr", low=0.0)

    def __call__(self, t: int) -> float:
        """α_t in float64 (closed form), for t ≥ 1."""
        return self.lr * self.multiplier(step_number(t))

    @abstractmethod
    def multiplier(self, t: int) -> float:
        """η_t = α_t / α in float64 (the factor a decoupled weight decay in the paper's form is scaled by)."""

    @abstractmethod
    def exact_multiplier(self, t: int):
        """η_t exactly: a Fraction, or an mpmath number at the current working precision."""

    def exact(self, t: int) -> tuple:
        """``(α_t, η_t)`` exactly (see :meth:`exact_multiplier`)."""
        t = step_number(t)
        eta = self.exact_multiplier(t)
        base = Fraction(self.lr) if self.arithmetic == "rational" else mpmath.mpf(self.lr)
        return base * eta, eta

    @abstractmethod
    def rounding_steps(self, t: int) -> float:
        """κ_t with |fl(α_t) − α_t| ≤ κ_t · u · (:meth:`scale`, or α_t where the class says so)."""

    def scale(self) -> float:
        """The magnitude the rounding of α_t is measured against (α, or α + η_min for the cosine)."""
        return self.lr

    def error_bound(self, t: int, u: float) -> float:
        """An absolute bound on |fl(α_t) − α_t| for unit roundoff ``u`` (see the class docstrings)."""
        return self.rounding_steps(step_number(t)) * u * self.scale()

    def multiplier_error_bound(self, t: int, u: float) -> float:
        """An absolute bound on the rounding of η_t (the same derivation relative to η's scale)."""
        if self.lr == 0.0:
            return 0.0
        return self.error_bound(t, u) / self.lr

    @abstractmethod
    def torch(self, optimizer):
        """The ``torch.optim.lr_scheduler`` counterpart attached to ``optimizer`` (whose lr must be :attr:`lr`).

        Used as ``optimizer.step(); scheduler.step()`` once per step.
        """

    @abstractmethod
    def optax(self):
        """The optax schedule ``count -> α_{count + 1}`` (optax counts updates from 0)."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(vars(self).items()))))


class Constant(Schedule):
    """α_t = α. Exact: a float given is used as it is, so no rounding (κ = 0)."""

    def multiplier(self, t: int) -> float:
        return 1.0

    def exact_multiplier(self, t: int):
        return Fraction(1)

    def rounding_steps(self, t: int) -> float:
        return 0.0

    def torch(self, optimizer):
        import torch

        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)

    def optax(self):
        import optax

        return optax.constant_schedule(self.lr)


class StepDecay(Schedule):
    """α_t = α γ^⌊(t − 1)/s⌋: multiplied by γ every ``step_size`` steps (``torch.optim.lr_scheduler.StepLR``).

    Rounding: torch multiplies the previous rate by γ at each of the k = ⌊(t − 1)/s⌋ boundaries (k roundings,
    relative error ≤ (1 + u)ᵏ − 1 ≤ 1.01 k u); a power ``γ**k`` is within 2u. κ_t = k + 2 covers both.
    """

    def __init__(self, lr: float, step_size: int, gamma: float) -> None:
        super().__init__(lr)
        self.step_size = _positive_int(step_size, "step_size")
        self.gamma = require_scalar(gamma, "gamma", low=0.0)

    def _k(self, t: int) -> int:
        return (t - 1) // self.step_size

    def multiplier(self, t: int) -> float:
        return self.gamma ** self._k(t)

    def exact_multiplier(self, t: int):
        return Fraction(self.gamma) ** self._k(t)

    def rounding_steps(self, t: int) -> float:
        return self._k(t) + 2.0

    def error_bound(self, t: int, u: float) -> float:
        t = step_number(t)
        return self.rounding_steps(t) * u * self(t)

    def torch(self, optimizer):
        import torch

        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=self.step_size, gamma=self.gamma)

    def optax(self):
        import optax

        return optax.exponential_decay(self.lr, transition_steps=self.step_size, decay_rate=self.gamma,
                                       staircase=True)


class Exponential(Schedule):
    """α_t = α γ^(t − 1) (``torch.optim.lr_scheduler.ExponentialLR``).

    Rounding: torch's recursive form multiplies by γ each step: t − 1 roundings, κ_t = t + 1 (relative to α_t).
    """

    def __init__(self, lr: float, gamma: float) -> None:
        super().__init__(lr)
        self.gamma = require_scalar(gamma, "gamma", low=0.0)

    def multiplier(self, t: int) -> float:
        return self.gamma ** (t - 1)

    def exact_multiplier(self, t: int):
        return Fraction(self.gamma) ** (t - 1)

    def rounding_steps(self, t: int) -> float:
        return t + 1.0

    def error_bound(self, t: int, u: float) -> float:
        t = step_number(t)
        return self.rounding_steps(t) * u * self(t)

    def torch(self, optimizer):
        import torch

        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=self.gamma)

    def optax(self):
        import optax

        return optax.exponential_decay(self.lr, transition_steps=1, decay_rate=self.gamma)


class CosineAnnealing(Schedule):
    r"""α_t = η_min + (α − η_min)(1 + cos(π e / T))/2 with e = t − 1: half a cosine from α down to η_min over
    ``T_max`` = T steps (Loshchilov & Hutter, SGDR, ICLR 2017, eq. 5 without restarts), continued along the cosine
    after T as ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max, eta_min)`` does (back up to α at 2T, …).
    :meth:`optax` gives this same function as an optax schedule (``optax.cosine_decay_schedule`` agrees up to
    T and then holds η_min).

    Rounding (torch's recursive form, the worst one). With c_e = 1 + cos(πe/T) and d_e = α_e − η_min, torch computes
    d_e = d_{e−1} c_e/c_{e−1}, except after each minimum (e − 1 = T, 3T, …) where it adds (α − η_min)(1 − cos(π/T))/2.
    Each c carries ≤ (2π + 3)u < 10u of absolute error (argument πe/T, cos, the sum). Going down (e ≤ T),
    d_{e−1}/c_{e−1} = (α − η_min)/2 and c_e ≤ c_{e−1}: each step adds ≤ 5u|α − η_min| per c, 3u|d_e| for ×, ÷ and −,
    2u(α + η_min) for the sums, and earlier errors shrink by c_e/c_{e−1} ≤ 1: |fl(α_t) − α_t| ≤ (16e + 4)u(α + η_min)
    (the closed form is within (2π + 8)u(α + η_min)). At a minimum c = 1 + cos(kπ) rounds to exactly 0 and the error
    starts again from the sums; going up, 1 − cos(π/T) ≈ π²/2T² has a relative error of up to 2T²u/π² and the
    ratios c_e/c_{e−1} add Σ 10u/c_e ≤ 10u·(2T²/π²)(π²/6), relative errors that the multiplicative steps carry to
    d_e ≤ α − η_min: 4T²u(α − η_min) at most. So for e > T the bound is (4T² + 16e + 4)u(α + η_min).
    """

    arithmetic = "mpmath"

    def __init__(self, lr: float, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(lr)
        self.T_max = _positive_int(T_max, "T_max")
        self.eta_min = require_scalar(eta_min, "eta_min", low=0.0)

    def _e(self, t: int) -> int:
        return t - 1

    def __call__(self, t: int) -> float:
        e = self._e(step_number(t))
        return self.eta_min + (self.lr - self.eta_min) * (1.0 + math.cos(math.pi * e / self.T_max)) / 2.0

    def multiplier(self, t: int) -> float:
        return self(t) / self.lr if self.lr else 1.0

    def exact(self, t: int) -> tuple:
        e = self._e(step_number(t))
        lr, low = mpmath.mpf(self.lr), mpmath.mpf(self.eta_min)
        alpha = low + (lr - low) * (1 + mpmath.cos(mpmath.pi * e / self.T_max)) / 2
        return alpha, (alpha / lr if self.lr else mpmath.mpf(1))

    def exact_multiplier(self, t: int):
        return self.exact(t)[1]

    def rounding_steps(self, t: int) -> float:
        e = self._e(t)
        return 16.0 * e + 4.0 + (4.0 * self.T_max**2 if e > self.T_max else 0.0)

    def scale(self) -> float:
        return self.lr + self.eta_min

    def torch(self, optimizer):
        import torch

        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.T_max, eta_min=self.eta_min)

    def optax(self):
        import jax.numpy as jnp

        lr, low, period = self.lr, self.eta_min, self.T_max

        def schedule(count):  # optax schedules take the number of updates so far, e = t − 1
            return low + (lr - low) * (1 + jnp.cos(jnp.pi * count / period)) / 2

        return schedule


class LinearWarmup(Schedule):
    """α_t = α (s + (1 − s) min(t − 1, W)/W): from sα up to α over ``warmup_steps`` = W steps, then α
    (Goyal et al. 2017, §2.2; ``torch.optim.lr_scheduler.LinearLR(start_factor=s, end_factor=1, total_iters=W)``,
    ``optax.linear_schedule(sα, α, W)``). ``start_factor`` s ∈ [0, 1] (torch requires s > 0).

    Rounding: torch's recursive form multiplies the previous rate by 1 + (1 − s)/(Ws + (e − 1)(1 − s)) each
    step: ≤ 6 roundings, each relative to a quantity ≤ the factor, so ≤ 6u relative per step, and the first
    rate sα is rounded once: κ_t = 6 min(t − 1, W) + 2 (relative to α_t).
    """

    def __init__(self, lr: float, warmup_steps: int, start_factor: float = 0.0) -> None:
        super().__init__(lr)
        self.warmup_steps = _positive_int(warmup_steps, "warmup_steps")
        self.start_factor = require_scalar(start_factor, "start_factor", low=0.0, high=1.0)

    def _e(self, t: int) -> int:
        return min(t - 1, self.warmup_steps)

    def multiplier(self, t: int) -> float:
        s = self.start_factor
        return s + (1.0 - s) * self._e(t) / self.warmup_steps

    def exact_multiplier(self, t: int):
        s = Fraction(self.start_factor)
        return s + (1 - s) * Fraction(self._e(t), self.warmup_steps)

    def rounding_steps(self, t: int) -> float:
        return 6.0 * self._e(t) + 2.0

    def error_bound(self, t: int, u: float) -> float:
        t = step_number(t)
        return self.rounding_steps(t) * u * self(t)

    def torch(self, optimizer):
        import torch

        return torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=self.start_factor, end_factor=1.0,
                                                 total_iters=self.warmup_steps)

    def optax(self):
        import optax

        return optax.linear_schedule(self.start_factor * self.lr, self.lr, transition_steps=self.warmup_steps)


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": Exponential,
    "cosine": CosineAnnealing,
    "linear_warmup": LinearWarmup,
}
"""The schedules by name."""
