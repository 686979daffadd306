"""JAX code through verify's checkers: ``check_function``, custom_vjp / custom_jvp rules included.

Each floating input of a JAX function is checked through JAX's own derivatives, by the same checkers
and judge as NumPy code:

- reverse mode: ``jax.vjp(fn, …)`` pulled back along cotangents drawn at random (never all ones) and,
  at small sizes, every unit cotangent — judged by :func:`verify.check_vjp`. A ``jax.custom_vjp`` rule
  is what ``jax.vjp`` runs, and a ``jax.custom_jvp`` rule is transposed into it, so hand-written rules
  are checked as written;
- forward mode: ``jax.jvp`` — judged by :func:`verify.check_jvp` — where the function supports it
  (a ``custom_vjp`` function does not: the report says "forward mode not supported by this function").

**Precision.** The derivative under test runs as the caller configured JAX. The reference evaluates the
function at float64: inside ``jax.enable_x64(True)``, a context manager that restores the setting on exit
(the global ``jax_enable_x64`` flag is never flipped). A float64 *input* while ``jax_enable_x64`` is off
is refused with a ValueError: JAX would silently compute it in float32. Where the judge's own terms do not
cover a float32 derivative, its rounding is measured as its difference to the same derivative run at float64
under ``jax.enable_x64(True)`` (:mod:`verify._adapters`).

Importing ``verify.jax`` does not import JAX; calling ``check_function`` does (``pip install verify[jax]``).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Sequence
from typing import Any, Unpack

import numpy as np

from verify._adapters import (
    AdapterReport,
    JudgeOptions,
    Slot,
    SlotReport,
    check_slots,
    differentiated,
    judge_options,
    refuse_non_finite_inputs,
)
from verify.checks.gradient import jumps_choice

__all__ = ["check_function", "AdapterReport", "SlotReport"]

# what an exception of forward-mode AD says when the function does not support it
_UNSUPPORTED = ((TypeError, NotImplementedError, ValueError), ("custom_vjp", "forward-mode", "forward mode", "jvp"))
_FLOATING = (np.dtype(np.float32), np.dtype(np.float64))


def _jax():
    try:
        import jax
    except ImportError as exc:  # pragma: no cover - exercised only without jax
        raise ImportError("verify.jax needs JAX: pip install 'verify[jax]' (jax==0.10.2)") from exc
    return jax


def _x64_enabled() -> bool:
    return bool(_jax().config.jax_enable_x64)


def _output(y: Any) -> Any:
    jax = _jax()
    if not isinstance(y, (jax.Array, np.ndarray)):
        raise TypeError(f"verify.jax.check_function: the function must return one array; got {type(y).__name__} "
                        "(check each output of a tuple or pytree separately, or concatenate them)")
    return y


class _Compiled:
    """``fn`` as a function of its floating arguments alone (the others fixed as the caller gave them), under
    ``jax.jit``, shared by every checked argument: the values, the pullback of all floating arguments at once
    and the pushforward compile once per dtype, instead of once per operation and shape."""

    def __init__(self, fn: Callable, floating: Sequence[bool], originals: Sequence[Any]) -> None:
        jax = _jax()
        self.fn = fn
        self.floating = list(floating)
        self.originals = list(originals)
        self.value = jax.jit(lambda *floats: self._call(floats))
        self.pullback = jax.jit(lambda floats, u: jax.vjp(lambda *a: self._call(a), *floats)[1](u))
        self.pushforward = jax.jit(lambda floats, tangents: jax.jvp(lambda *a: self._call(a), floats, tangents)[1])

    def _call(self, floats: Sequence[Any]) -> Any:
        it = iter(floats)
        return _output(self.fn(*[next(it) if f else o for f, o in zip(self.floating, self.originals, strict=True)]))


class _Call:
    """The JAX function seen through NumPy arrays for one checked argument (see :mod:`verify._adapters`)."""

    unsupported = _UNSUPPORTED

    def __init__(self, compiled: _Compiled, slot: int, shape: tuple, name: str) -> None:
        self.compiled = compiled
        self.slot = slot
        self.position = sum(compiled.floating[:slot])  # its index among the floating arguments
        self.shape = shape
        self.name = name
        self.no_path = ""  # jax.vjp pulls back zeros for an input the output does not depend on: it reports no path
        self.wide = False  # True: the derivatives at float64 (widened())

    def _floats(self, arrays: Sequence[Any], dtype: Any | None = None) -> tuple:
        import jax.numpy as jnp

        return tuple(jnp.asarray(a, dtype=dtype) for a, f in zip(arrays, self.compiled.floating, strict=True) if f)

    def reference(self, *arrays: Any) -> np.ndarray:
        """At float64 (complex128 for the complex step) when any floating array is: under ``jax.enable_x64``.
        One point at a time (a stack of points is refused, so the checkers evaluate point by point)."""
        jax = _jax()
        import jax.numpy as jnp

        if np.ndim(arrays[self.slot]) != len(self.shape):
            raise TypeError("one point at a time")
        floating = [np.asarray(a) for a, f in zip(arrays, self.compiled.floating, strict=True) if f]
        complex_ = any(np.iscomplexobj(a) for a in floating)
        if not complex_ and not any(a.dtype == np.float64 for a in floating):
            out = np.asarray(self.compiled.value(*self._floats(arrays)))
        else:
            with jax.enable_x64(True):
                out = np.asarray(self.compiled.value(*self._floats(arrays, jnp.complex128 if complex_ else jnp.float64)))
        if out.dtype.kind not in "fc":
            raise TypeError(f"verify.jax.check_function: the function returned {out.dtype} values; their derivative "
                            "is not defined")
        return out

    def widened(self) -> _Call:
        """This call with every floating input at float64 (under ``jax.enable_x64``): the same derivatives, the
        same code, at float64 (:mod:`verify._adapters`)."""
        wide = copy.copy(self)
        wide.wide = True
        return wide

    def _precision(self) -> tuple[Any, Any]:
        """The context and dtype of this call's derivatives: the inputs' own, or float64 under ``jax.enable_x64``."""
        import jax.numpy as jnp

        return (_jax().enable_x64(True), jnp.float64) if self.wide else (contextlib.nullcontext(), None)

    def vjp(self, u: np.ndarray, *arrays: Any) -> np.ndarray:
        import jax.numpy as jnp

        context, dtype = self._precision()
        with context:
            floats = self._floats(arrays, dtype)
            y_dtype = self.compiled.value(*floats).dtype  # the output's dtype at the call's precision
            return np.asarray(self.compiled.pullback(floats, jnp.asarray(u, dtype=y_dtype))[self.position])

    def jvp(self, v: np.ndarray, *arrays: Any) -> np.ndarray:
        import jax.numpy as jnp

        context, dtype = self._precision()
        with context:
            floats = self._floats(arrays, dtype)
            tangents = tuple(jnp.asarray(v, dtype=x.dtype) if i == self.position else jnp.zeros_like(x)
                             for i, x in enumerate(floats))
            return np.asarray(self.compiled.pushforward(floats, tangents))


def check_function(
    fn: Callable[..., Any],
    inputs: Any,
    *,
    wrt: int | Sequence[int] | None = None,
    forward: bool | str = "auto",
    jumps: str = "fail",
    **options: Unpack[JudgeOptions],
) -> AdapterReport:
    """Check JAX's derivatives of ``fn(*inputs)`` w.r.t. every floating-point input.

    Args:
      fn: a JAX function returning one array (jitted or not; ``jax.custom_vjp`` / ``jax.custom_jvp``
        functions included).
      inputs: an array or a tuple of arguments. float32 / float64 arrays (NumPy or JAX) are differentiated;
        integer arrays and other objects are passed as they are.
      wrt: the index (or indices) of the inputs to check; default every floating array.
      forward: ``"auto"`` checks forward mode where the function supports it and says why not otherwise;
        ``True`` requires it; ``False`` skips it.
      jumps: as for :func:`verify.check_gradient`: ``"fail"`` (default), a point where ``fn`` is not continuous
        along an input's entry (``jnp.floor(x)`` at an integer, ``x >= c`` at ``c``) fails the check with "the
        function is not continuous at the point along inputs[i]"; ``"allow"``: such entries are reported as not
        differentiable (``report["inputs[0]"].jumps``, and NOT DIFFERENTIABLE in the text) and not judged, while
        every other entry is. A function without jumps is checked exactly as with ``"fail"``.
      **options: ``directions``, ``seed``, ``jacobian_max``, ``ulps``, ``atol``, ``worst``, passed to
        :func:`verify.check_vjp` and :func:`verify.check_jvp` (their meaning and defaults are theirs).

    Returns:
      An :class:`AdapterReport` (``report["inputs[0]"].vjp`` …).

    Raises:
      CheckFailure: a derivative is wrong, or ``fn`` jumps at the point with ``jumps="fail"`` (the message names
        the input, the mode, the direction, the worst entries and the likely mistake).
      TypeError / ValueError: ``fn`` does not return an array, an input to check is not floating, a float64
        input while ``jax_enable_x64`` is off, a rule that returns another shape, a ``jumps`` other than
        ``"fail"`` / ``"allow"`` (ValueError).

    Example:

    >>> import jax.numpy as jnp, verify.jax
    >>> verify.jax.check_function(jnp.tanh, (jnp.array([0.5, -1.0, 2.0]),)).slots[0].dtype
    'float32'
    """
    __tracebackhide__ = True
    opts = judge_options("verify.jax.check_function", options)
    jumps = jumps_choice(jumps, "verify.jax.check_function")
    if not callable(fn):
        raise TypeError(f"verify.jax.check_function: fn must be callable; got {type(fn).__name__}")
    jax = _jax()
    values = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    names = [f"inputs[{i}]" for i in range(len(values))]
    refuse_non_finite_inputs("verify.jax.check_function", list(zip(names, values, strict=True)))
    arrays, floating = [], []
    for name, value in zip(names, values, strict=True):
        is_array = isinstance(value, (jax.Array, np.ndarray))
        dtype = np.dtype(value.dtype) if is_array else None
        if is_array and dtype.kind == "c":
            raise TypeError(f"verify.jax.check_function: {name} is complex ({dtype}): verify checks real functions")
        if is_array and dtype.kind == "f" and dtype not in _FLOATING:
            raise TypeError(f"verify.jax.check_function: {name} has dtype {dtype}: verify judges float32 and float64 "
                            "derivatives")
        if is_array and dtype == np.float64 and not _x64_enabled():
            raise ValueError(
                f"verify.jax.check_function: {name} is float64 but jax_enable_x64 is off, so JAX would compute it in "
                "float32. Enable it (jax.config.update('jax_enable_x64', True), or JAX_ENABLE_X64=1) or pass float32; "
                "verify does not change the flag for you"
            )
        floating.append(bool(is_array and dtype in _FLOATING))
        arrays.append(np.array(value) if floating[-1] else value)
    indices = differentiated("verify.jax.check_function", wrt, floating, "array",
                             lambda i: "is not a float32/float64 array; only those can be differentiated")
    compiled = _Compiled(fn, floating, values)
    slots = [Slot(i, names[i], _Call(compiled, i, np.shape(arrays[i]), names[i])) for i in indices]
    return check_slots("verify.jax.check_function", tuple(arrays), slots, forward, opts, jumps=jumps)
