"""``torch.optim`` optimizers and optax transformations as a ``run`` for :func:`verify.check_optimizer`.

:func:`as_run` leaves a plain callable alone and wraps the two kinds of peer objects:

- a ``torch.optim.Optimizer`` subclass (``torch.optim.AdamW``) or a ``functools.partial`` of one (to fix
  ``foreach=True``, ``fused=True``…). The rule's hyperparameters are translated to the class's names —
  ``beta1``/``beta2`` → ``betas``, ``rho`` → ``alpha`` (RMSprop) or ``rho`` (Adadelta), ``beta`` → SGD's
  ``momentum`` and ``dampening``, the ``nesterov`` rule → ``nesterov=True``, ``adamw`` → ``decoupled_weight_decay``
  where the class has it — and *every* value is passed, defaults included, so torch's own defaults never decide.
  A :class:`~verify.kernels.schedules.Schedule` becomes its ``torch.optim.lr_scheduler`` counterpart, stepped after
  each ``optimizer.step()``. The parameters are a tensor of the checked dtype with ``p.grad`` set before every
  step, and torch's default dtype is set to that dtype for the run (torch keeps NAdam's μ product and its step
  counters in the default dtype: float32 counters under float64 parameters lose precision). The state is read
  back under the rule's names (``exp_avg`` → ``m``, ``exp_avg_sq`` → ``v``, ``momentum_buffer`` → ``b``…).
- an optax ``GradientTransformation`` (used as built: its hyperparameters must match those given to the check) or
  a factory of one (``optax.adam``, called with ``learning_rate``, ``b1``, ``b2``, ``eps``, ``decay``,
  ``eps_in_sqrt``, ``eps_root``, ``centered``, ``weight_decay``… as its signature takes them). float64 needs
  ``jax_enable_x64``; the parameters are updated with ``optax.apply_updates``.

A convention the peer cannot express (``eps_mode="inside"`` for ``torch.optim.Adam``) is not passed: the peer then
runs its own form and the check says which one it is. A hyperparameter with a non-neutral value that the peer has
no parameter for is a ``TypeError`` naming it.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from collections.abc import Callable, Mapping

import numpy as np

from verify.kernels.optimizers import RULES, state_names, validate_hyperparameters
from verify.kernels.schedules import Schedule

__all__ = ["as_run", "torch_run", "optax_run", "TORCH_STATE_NAMES"]

#: ``torch.optim`` state keys → the rules' state names, from the rules' records (:attr:`RuleSpec.torch`).
TORCH_STATE_NAMES = {key: name for spec in RULES.values() if spec.torch for key, name in spec.torch[1].items()}

_NEUTRAL = {"weight_decay": 0.0, "dampening": 0.0, "lr_decay": 0.0, "initial_accumulator_value": 0.0,
            "momentum": 0.0, "maximize": False, "decoupled_weight_decay": False, "amsgrad": False, "centered": False,
            "nesterov": False}
_CONVENTIONS = ("eps_mode", "decay_scale", "amsgrad_max")  # our named conventions: no peer parameter


def _target(run):
    return run.func if isinstance(run, functools.partial) else run


def _torch_optimizer_class(run):
    torch = sys.modules.get("torch")
    target = _target(run)
    if torch is None or not isinstance(target, type):
        return None
    return target if issubclass(target, torch.optim.Optimizer) else None


def _is_optax(run) -> bool:
    target = _target(run)
    module = getattr(target, "__module__", "") or ""
    if module.startswith("optax"):
        return True
    return type(target).__module__.startswith("optax") and hasattr(target, "init") and hasattr(target, "update")


def as_run(rule: str, run: object, dtype) -> Callable:
    """``run`` as ``run(theta0, grads, **hyper)``: peers wrapped (see the module docstring), callables as given.

    Raises:
        TypeError: ``run`` is neither callable nor a peer optimizer; float64 asked of JAX without
            ``jax_enable_x64``.
    """
    if _torch_optimizer_class(run) is not None:
        return torch_run(rule, run, dtype)
    if _is_optax(run):
        return optax_run(rule, run, dtype)
    if not callable(run):
        raise TypeError(f"run must be callable as run(theta0, grads, **hyper), a torch.optim.Optimizer subclass or "
                        f"an optax GradientTransformation; got {run!r}")
    return run


def _parameters(target) -> set[str]:
    return set(inspect.signature(target).parameters)


def _place(kwargs: dict, accepted: set[str], name: str, value, peer: str, ours: str | None = None) -> None:
    """Put ``value`` under ``name`` if the peer takes it; refuse a non-neutral value it cannot take."""
    if name in accepted:
        kwargs[name] = value
    elif (ours or name) in _NEUTRAL and value == _NEUTRAL[ours or name]:
        return
    else:
        raise TypeError(f"{peer} has no parameter for {ours or name}={value!r}; it cannot run this configuration")


def _torch_kwargs(rule: str, cls, fixed: Mapping, full: dict) -> dict:
    accepted = _parameters(cls.__init__) - {"self", "params"} - set(fixed)
    peer = f"torch.optim.{cls.__name__}"
    kwargs: dict = {}
    for name, value in full.items():
        if name in _CONVENTIONS:
            continue
        if name == "lr":
            kwargs["lr"] = value.lr if isinstance(value, Schedule) else value
        elif name in ("beta1", "beta2"):
            kwargs["betas"] = (full["beta1"], full["beta2"])
        elif name == "rho":
            _place(kwargs, accepted, "alpha" if "alpha" in accepted else "rho", value, peer, "rho")
        elif name == "beta":  # EMA momentum: torch's SGD with dampening = momentum (its first step differs)
            _place(kwargs, accepted, "momentum", value, peer)
            _place(kwargs, accepted, "dampening", value, peer)
        elif name == "decoupled_weight_decay" and cls.__name__ == "AdamW":
            if not value:
                raise TypeError("torch.optim.AdamW always decouples its weight decay; check it as 'adamw' or with "
                                "decoupled_weight_decay=True")
        else:
            _place(kwargs, accepted, name, value, peer)
    if rule == "nesterov":
        _place(kwargs, accepted, "nesterov", True, peer)
    if RULES[rule].decoupled and cls.__name__ != "AdamW":
        _place(kwargs, accepted, "decoupled_weight_decay", True, peer)
    return kwargs


@contextlib.contextmanager
def _torch_default_dtype(torch, dtype):
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def torch_run(rule: str, optimizer, dtype) -> Callable:
    """A ``run`` driving ``optimizer`` (a ``torch.optim.Optimizer`` subclass or a partial of one); see the module
    docstring."""
    import torch

    cls = _torch_optimizer_class(optimizer)
    fixed = optimizer.keywords if isinstance(optimizer, functools.partial) else {}
    tdtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32

    def run(theta0, grads, **given):
        full = validate_hyperparameters(rule, given)
        if callable(full["lr"]) and not isinstance(full["lr"], Schedule):
            raise TypeError("a torch.optim optimizer takes lr as a number or a verify.kernels.schedules.Schedule "
                            "(which becomes its torch.optim.lr_scheduler counterpart); got a plain callable")
        kwargs = _torch_kwargs(rule, cls, fixed, full)
        names = state_names(rule, full)
        iterates, states = [], {}
        with _torch_default_dtype(torch, tdtype):
            p = torch.tensor(np.asarray(theta0), dtype=tdtype, requires_grad=True)
            opt = optimizer([p], **kwargs)
            scheduler = full["lr"].torch(opt) if isinstance(full["lr"], Schedule) else None
            for g in np.asarray(grads):
                p.grad = torch.tensor(g, dtype=tdtype)
                opt.step()
                if scheduler is not None:
                    scheduler.step()
                iterates.append(p.detach().numpy().copy())
                for key, value in opt.state[p].items():
                    name = TORCH_STATE_NAMES.get(key)
                    if name in names and torch.is_tensor(value) and value.shape == p.shape:
                        states.setdefault(name, []).append(value.detach().numpy().copy())
        return np.array(iterates), {k: np.array(v) for k, v in states.items()}

    run.__name__ = f"torch_run[{cls.__name__}]"
    return run


def _optax_kwargs(rule: str, factory, full: dict) -> dict:
    target = _target(factory)
    accepted = _parameters(target) - set(factory.keywords if isinstance(factory, functools.partial) else {})
    peer = f"optax.{getattr(target, '__name__', target)}"
    kwargs: dict = {}
    for name, value in full.items():
        if name in ("decay_scale", "amsgrad_max", "decoupled_weight_decay"):
            continue
        if name == "lr":
            kwargs["learning_rate"] = value.optax() if isinstance(value, Schedule) else value
        elif name == "beta1":
            _place(kwargs, accepted, "b1", value, peer, "beta1")
        elif name == "beta2":
            _place(kwargs, accepted, "b2", value, peer, "beta2")
        elif name == "rho":
            _place(kwargs, accepted, "decay", value, peer, "rho")
        elif name == "eps_mode":
            if "eps_in_sqrt" in accepted:
                kwargs["eps_in_sqrt"] = value == "inside"
            elif value == "inside" and "eps_root" in accepted:
                kwargs["eps_root"], kwargs["eps"] = full["eps"], 0.0
        elif name == "eps":
            if not (full.get("eps_mode") == "inside" and "eps_root" in accepted):
                _place(kwargs, accepted, "eps", value, peer)
        elif name == "momentum" and rule == "rmsprop":
            if value:
                _place(kwargs, accepted, "momentum", value, peer)
        else:
            _place(kwargs, accepted, name, value, peer)
    return kwargs


def optax_run(rule: str, transformation, dtype) -> Callable:
    """A ``run`` driving an optax ``GradientTransformation`` or a factory of one; see the module docstring."""
    import jax

    if np.dtype(dtype) == np.float64 and not jax.config.read("jax_enable_x64"):
        raise TypeError("checking an optax optimizer in float64 needs jax_enable_x64: call "
                        "jax.config.update('jax_enable_x64', True) first (or check in dtype=np.float32)")
    import jax.numpy as jnp
    import optax

    built = hasattr(transformation, "init") and hasattr(transformation, "update")

    def run(theta0, grads, **given):
        full = validate_hyperparameters(rule, given)
        tx = transformation if built else transformation(**_optax_kwargs(rule, transformation, full))
        params = jnp.asarray(np.asarray(theta0), dtype=dtype)
        state = tx.init(params)
        iterates = []
        for g in np.asarray(grads):
            updates, state = tx.update(jnp.asarray(g, dtype=dtype), state, params)
            params = optax.apply_updates(params, updates)
            iterates.append(np.asarray(params))
        return np.array(iterates)

    run.__name__ = "optax_run"
    return run
