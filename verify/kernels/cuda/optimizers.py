r"""Optimizer steps on the GPU (the ``"cuda"`` backend): the kernels generated from the rules' per-element
functions (:mod:`verify.kernels.optimizers`), launched with one thread per parameter.

Nothing here computes an update: every kernel is the ``.cuda`` variant of a :class:`~verify.kernels._compile.
Compiled` built in :mod:`verify.kernels.optimizers` from the one function of its rule, and the per-step
scalars come from the same host code as on the CPU (:func:`verify.kernels.optimizers._scalars`). This module
moves arrays, validates them like the CPU backends, and launches. AdaGrad-Norm's ‖g‖² is the one reduction:
the squares (the generated kernel of ``_square_into``) are added up in float64 by
:func:`~verify.kernels.cuda._device.device_sum`, in a fixed order.

Arrays: device arrays are updated in place on the device. Host arrays are copied to the device, updated, and
copied back into the caller's arrays (one round trip per call); for many steps use device arrays or
:func:`run_optimizer`, which moves ``theta0`` and ``grads`` to the device once and the iterates back once.
Bad input is refused as on the CPU: ``theta`` or a state array that is a list, two arrays sharing memory, NaN
or inf in ``grad``, ``theta`` or the state (counted in the update's pass, which has then been applied: the
error says so).
"""

from __future__ import annotations

import functools

import numpy as np
from numba import cuda

from verify._validate import describe
from verify.kernels import optimizers as _rules
from verify.kernels.cuda._device import DeviceArgs, device_sum, elementwise_grid, first_nonfinite, is_device_array
from verify.kernels.optimizers import RULES, init_state, rule_spec, state_names, validate_hyperparameters

__all__ = ["OPTIMIZERS", "apply_step", "run_optimizer", *(f"{rule}_step" for rule in RULES)]

# Build every generated CUDA kernel now, so that verify.kernels.cuda.compile_all_ptx sees them all.
KERNELS = {layout.compiled.name: layout.compiled.cuda for layouts in _rules._LAYOUTS.values()
           for layout in layouts.values()}
KERNELS[_rules.SQUARES.name] = _rules.SQUARES.cuda


def _pointer_range(arr) -> tuple[int, int] | None:
    interface = getattr(arr, "__cuda_array_interface__", None)
    if interface is None:
        return None
    start = interface["data"][0]
    return start, start + arr.size * np.dtype(arr.dtype).itemsize


def _shares_memory(a, b) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return bool(np.shares_memory(a, b))
    ha, hb = getattr(a, "_ary", None), getattr(b, "_ary", None)  # the simulator's device arrays wrap NumPy
    if ha is not None and hb is not None:
        return bool(np.shares_memory(ha, hb))
    ra, rb = _pointer_range(a), _pointer_range(b)
    return ra is not None and rb is not None and ra[0] < rb[1] and rb[0] < ra[1]


class _Step:
    """The arrays of one step on the device, and how to hand results back to host callers."""

    def __init__(self, spec, names, theta, grad, state: dict):
        self.args = DeviceArgs()
        self.host: list = []
        given = {"theta": theta, "grad": grad, **state}
        for a, b in ((a, b) for i, a in enumerate(given) for b in list(given)[i + 1:]):
            if given[a] is not None and given[b] is not None and _shares_memory(given[a], given[b]):
                same = " (the same array)" if given[a] is given[b] else ""
                raise ValueError(f"{a} and {b} share memory{same}: each of theta, grad and the state must be its "
                                 "own array (an update of one would change the other mid-step)")
        self.theta = self._updated(theta, "theta", None, None)
        dtype = np.dtype(self.theta.dtype)
        n = self.theta.shape[0]
        self.grad = self.args.float(grad, "grad", ndim=1, dtype=dtype, finite=False)  # counted in the update's pass
        if self.grad.shape[0] != n:
            raise ValueError(f"grad must have the shape of theta {(n,)}; got {tuple(self.grad.shape)}")
        missing = [s for s in names if state.get(s) is None]
        extra = [s for s in state if s not in names and state[s] is not None]
        if missing or extra:
            raise ValueError(f"state for {spec.name} with these options must hold {list(names)}; "
                             f"missing {missing}, not used {extra}")
        self.state = {s: self._updated(state[s], s, dtype, 1 if s in spec.scalar_state else n) for s in names}
        for s in spec.scalar_state & set(names):
            self.args.float(self.state[s], s, ndim=1, dtype=dtype, finite=True)
        self.cast = dtype.type
        self.grid = elementwise_grid(n)

    def _updated(self, value, name: str, dtype, length: int | None):
        """An array the step updates in place: a device array, or a writable host array copied back after."""
        on_host = not is_device_array(value)
        if on_host and not isinstance(value, np.ndarray):
            raise TypeError(f"{name} must be a NumPy or device array: the step updates it in place (a "
                            f"{type(value).__name__} would silently lose the update); got {describe(value)}")
        if on_host and not value.flags.writeable:
            raise ValueError(f"{name} must be writable: the step updates it in place")
        arr = self.args.float(value, name, ndim=1, dtype=dtype, finite=False)
        if length is not None and arr.shape[0] != length:
            raise ValueError(f"{name} must have shape ({length},); got {tuple(arr.shape)}")
        if on_host:
            self.host.append((value, arr))
        return arr

    def launch(self, layout, scalars: dict) -> dict[str, int]:
        """Run a generated kernel; the counts of NaN/inf found in grad, theta and the state, by name."""
        names = layout.counted
        counts = cuda.to_device(np.zeros(len(names), dtype=np.int64))
        values = [self.cast(scalars[s]) for s in layout.scalars]
        if self.theta.shape[0]:
            blocks, threads = self.grid
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # the simulator runs NumPy scalars
                layout.compiled.cuda[blocks, threads](self.theta, self.grad, *(self.state[s] for s in layout.state),
                                                      *values, counts)
        return dict(zip(names, (int(c) for c in counts.copy_to_host()), strict=True))

    def finish(self) -> None:
        """Copy updated host arrays back into the caller's arrays (nothing to do for device arrays)."""
        for host, dev in self.host:
            dev.copy_to_host(host)


def _adagrad_norm(s: _Step, scalars: dict) -> dict[str, int]:
    n = s.theta.shape[0]
    total = 0.0
    if n:
        squares = cuda.device_array(n, dtype=np.float64)
        blocks, threads = s.grid
        _rules.SQUARES.cuda[blocks, threads](squares, s.theta, s.grad, s.cast(scalars["sign"]), s.cast(scalars["l2"]))
        total = device_sum(squares)  # one scalar back: the step size depends on it
    acc = s.state["acc"]
    new_acc = s.cast(acc.copy_to_host()[0] + s.cast(total))
    scale = float(s.cast(scalars["lr"])) / float(np.sqrt(float(new_acc) + float(s.cast(scalars["eps"]))))
    counts = s.launch(_rules._layout_for("adagrad_norm", ("acc",), scalars), dict(scalars, lr=scale))
    acc.copy_to_device(np.array([new_acc], dtype=np.dtype(acc.dtype)))
    return counts


def _apply(rule: str, theta, grad, state: dict, t, hyper: dict) -> None:
    spec = rule_spec(rule)
    h = validate_hyperparameters(rule, hyper)
    t = _rules._step_number(spec, h, t)
    names = state_names(rule, h)
    s = _Step(spec, names, theta, grad, state)
    host_state = {"mu_product": s.state["mu_product"].copy_to_host()} if "mu_product" in s.state else {}
    scalars = _rules._scalars(spec, h, t, host_state)
    if rule == "adagrad_norm":
        counts = _adagrad_norm(s, scalars)
    else:
        counts = s.launch(_rules._layout_for(rule, names, scalars), scalars)
    if rule == "nadam":
        s.state["mu_product"].copy_to_device(np.array([scalars["mu_product"]], dtype=np.dtype(s.theta.dtype)))
    s.finish()
    if any(counts.values()):
        arrays = {"theta": s.theta, "grad": s.grad, **s.state}
        raise _rules.nonfinite_error(counts, arrays, to_host=lambda a: a.copy_to_host())


def apply_step(rule: str, theta, grad, state, t: int | None = None, **hyper) -> None:
    """One step of ``rule`` in place with the state as a dict of arrays (host or device)."""
    _apply(rule, theta, grad, dict(state), t, hyper)


def _make_step(rule: str):
    cpu_step = _rules.OPTIMIZERS[rule]

    @functools.wraps(cpu_step)
    def step(*args, **kwargs) -> None:
        return cpu_step(*args, **kwargs, backend="cuda")

    signature = cpu_step.__signature__
    step.__signature__ = signature.replace(parameters=[p for p in signature.parameters.values() if p.name != "backend"])
    step.__module__ = __name__
    return step


OPTIMIZERS = {rule: _make_step(rule) for rule in RULES}
globals().update({f"{rule}_step": step for rule, step in OPTIMIZERS.items()})


def _require_finite_steps(d_grads) -> None:
    """Every row of ``grads`` finite, checked in one scan; the error is the CPU backends' (it names the step)."""
    found = first_nonfinite(d_grads) if d_grads.size else None
    if found:
        _, (row, column), value = found
        raise _rules.nonfinite_step_error(row, column, value)


def run_optimizer(rule: str, theta0, grads, *, return_state: bool = False, **hyper):
    """Run ``rule`` from ``theta0`` over ``grads`` (T, n) on the device; the (T, n) iterates.

    ``theta0`` and ``grads`` go to the device once (``grads`` is scanned for NaN/inf once), every step
    runs there, and the iterates (and, with ``return_state=True``, the stacked state after each step)
    come back once — or stay on the device when an input was a device array. ``theta0`` is not modified.
    """
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
    state = {k: cuda.to_device(v) for k, v in init_state(rule, n, dtype=dtype, **hyper).items()}
    iterates = cuda.device_array((n_steps, n), dtype=dtype)
    history = {k: cuda.device_array((n_steps, v.shape[0]), dtype=dtype) for k, v in state.items()}
    for t in range(1, n_steps + 1):
        _apply(rule, theta, d_grads[t - 1], state, t, hyper)
        iterates[t - 1].copy_to_device(theta)
        for k, v in state.items():
            history[k][t - 1].copy_to_device(v)
    if return_state:
        return args.out(iterates), {k: args.out(v) for k, v in history.items()}
    return args.out(iterates)
