"""PyTorch code through verify's checkers: ``check_function`` and ``check_module``.

Each floating input of a torch callable (and each parameter of an ``nn.Module``) is checked through
torch's own derivatives, by the same checkers and judge as NumPy code:

- reverse mode (what ``loss.backward()`` uses): ``torch.autograd.grad(y, x, grad_outputs=u)`` for
  cotangents ``u`` drawn at random (never all ones) and, at small sizes, every unit cotangent — judged by
  :func:`verify.check_vjp`;
- forward mode, where the function supports it (``torch.autograd.forward_ad``: dual tensors; a custom
  ``torch.autograd.Function`` needs its ``jvp``) — judged by :func:`verify.check_jvp`; where it does not,
  the report says "forward mode not supported by this function" and why.

The reference evaluates the function itself at float64 (every floating input, and a float64 copy of the
module's parameters and buffers); the derivative under test is computed at the inputs' own dtypes, so a
float32 backward is judged as float32 against a float64 reference. Where the judge's own terms do not cover a
float32 derivative, its rounding is measured as its difference to the same derivative run at float64 (a formula
that cancels, as gelu's ``½(1 + erf)`` at ``x ≪ 0``, shows it; a wrong rule is wrong at float64 too:
:mod:`verify._adapters`). ``autograd.Function.apply`` is a callable like any other, so a hand-written
``backward`` is checked exactly as written.

Inputs are never modified: every evaluation builds fresh tensors from a copy of the point, and a module
is only ever called through deep copies of it, so its parameters, ``.grad``, buffers, train/eval mode
and ``requires_grad`` flags are left exactly as they were. An input (or parameter) that does not require
grad is checked on a copy that does, and the report says so.

An output that autograd finds no path to from an input (no ``grad_fn``, or ``None`` from ``torch.autograd.grad``) is
given the derivative zero: right for a function that does not depend on that input, which passes. Where the output's
values do change with the input, the function has left the graph (``.detach()``, ``.numpy()`` and back,
``torch.no_grad()``), and the check raises a ValueError that says so and how to fix it, not a wrong-gradient failure.

Importing ``verify.torch`` does not import torch; calling its checkers does (``pip install verify[torch]``).
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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

__all__ = ["check_function", "check_module", "AdapterReport", "SlotReport"]

# what an exception of forward-mode AD says when the function does not support it
_UNSUPPORTED = ((RuntimeError, NotImplementedError),
                ("not implemented", "forward ad", "forward-mode", "forward mode", "jvp", "dual"))
_MODE_DTYPES = {"float64": lambda: _torch().float64, "complex128": lambda: _torch().complex128}


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError("verify.torch needs PyTorch: pip install 'verify[torch]' (torch==2.13.0)") from exc
    return torch


# ---------------------------------------------------------------------------------------------
# points: tensors <-> arrays


@dataclass(frozen=True)
class _Spec:
    """What an argument was: a tensor (dtype, device, requires_grad) or another object passed as is."""

    tensor: bool
    dtype: Any = None
    device: Any = None
    requires_grad: bool = False

    @property
    def floating(self) -> bool:
        return self.tensor and self.dtype.is_floating_point


def _device_ok(device: Any, name: str) -> None:
    torch = _torch()
    if device.type == "cpu":
        return
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name} is on {device} but no CUDA GPU is available here: move it to the CPU "
                             "(.cpu()) to check it, or run where the GPU is")
        return
    raise ValueError(f"{name} is on device {device}: verify.torch checks CPU tensors (and CUDA tensors where a GPU "
                     "is present); move it with .cpu()")


def _spec_of(value: Any, name: str) -> _Spec:
    torch = _torch()
    if not isinstance(value, torch.Tensor):
        return _Spec(tensor=False)
    _device_ok(value.device, name)
    if value.is_complex():
        raise TypeError(f"{name} is a complex tensor ({value.dtype}): verify checks real functions")
    if value.dtype.is_floating_point and value.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} has dtype {value.dtype}: verify judges float32 and float64 derivatives; convert it "
                        "with .float() or .double()")
    return _Spec(tensor=True, dtype=value.dtype, device=value.device, requires_grad=bool(value.requires_grad))


def _to_array(value: Any) -> Any:
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return value.detach().resolve_conj().resolve_neg().cpu().numpy().copy()
    return value


def _as_tuple(inputs: Any, what: str) -> tuple:
    torch = _torch()
    if isinstance(inputs, torch.Tensor):
        return (inputs,)
    if isinstance(inputs, (tuple, list)):
        return tuple(inputs)
    raise TypeError(f"{what}: inputs must be a tensor or a tuple of arguments (tensors and other objects); "
                    f"got {type(inputs).__name__}")


def _numpy_dtype(spec: _Spec) -> np.dtype:
    torch = _torch()
    return np.dtype(np.float32) if spec.dtype == torch.float32 else np.dtype(np.float64)


class _Call:
    """The torch callable seen through NumPy arrays, for the checkers.

    ``reference(*arrays)``: every floating array as float64 (complex128 when one is complex, for the complex
    step) when any is float64 or complex — i.e. at the judge's reference points — else at their own dtypes;
    the output as an array. ``vjp`` / ``jvp``: the derivative under test of slot ``slot`` at the inputs' own
    dtypes (at float64 for :meth:`widened`), through torch's backward / forward-mode AD.

    ``no_path``: what autograd reported when it found no path from the slot to the output, "" while it finds one.
    Autograd cannot tell an output that does not depend on the input (a constant, an unused argument: a correct
    function whose derivative is zero) from one that does but left the graph on the way (``.detach()``, ``.numpy()``
    and back through ``torch.tensor``, ``torch.no_grad()``): both give an output without ``grad_fn``, or ``None``
    from ``torch.autograd.grad(..., allow_unused=True)``. So the derivative is taken as zeros, which the judge
    confirms for the first; for the second the output's values change with the input, the check fails, and
    :func:`verify._adapters.check_slots` raises the ValueError of :meth:`detached` instead of a wrong-gradient failure.
    """

    unsupported = _UNSUPPORTED

    def __init__(self, run: Callable[[list, str], Any], specs: Sequence[_Spec], slot: int, shape: tuple, name: str,
                 checker: str, function: str) -> None:
        self.run = run  # run(tensors, mode) -> output tensor; mode: "test", "float64" or "complex128"
        self.specs = list(specs)
        self.slot = slot
        self.shape = shape
        self.name = name
        self.checker = checker
        self.function = function  # the callable checked, in words: "fn (<lambda>)", "the module Linear"
        self.no_path = ""
        self.mode = "test"  # the derivatives at the inputs' own dtypes ("float64": widened())

    def _tensors(self, arrays: Sequence[Any], mode: str) -> list:
        torch = _torch()
        out = []
        for spec, a in zip(self.specs, arrays, strict=True):
            if not spec.tensor:
                out.append(a)
                continue
            t = torch.from_numpy(np.array(a))
            if spec.floating:
                t = t.to(_MODE_DTYPES[mode]() if mode != "test" else spec.dtype)
            out.append(t.to(spec.device))
        return out

    def _output(self, y: Any) -> Any:
        torch = _torch()
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"{self.checker}: the function must return one torch.Tensor; got {type(y).__name__} "
                            "(check each output of a tuple separately, or concatenate them)")
        return y

    def reference(self, *arrays: Any) -> np.ndarray:
        torch = _torch()
        floating = [a for s, a in zip(self.specs, arrays, strict=True) if s.floating]
        complex_ = any(np.iscomplexobj(a) for a in floating)
        mode = "complex128" if complex_ else "float64" if any(np.asarray(a).dtype == np.float64 for a in floating) \
            else "test"
        with torch.no_grad():
            if np.ndim(arrays[self.slot]) == len(self.shape) + 1:  # a stack of points
                y = self._vmapped(arrays, mode)
            else:
                y = self._output(self.run(self._tensors(arrays, mode), mode))
        if y.is_complex() or y.dtype.is_floating_point:
            return y.detach().cpu().numpy()
        raise TypeError(f"{self.checker}: the function returned a {y.dtype} tensor; its derivative is not defined")

    def _vmapped(self, arrays: Sequence[Any], mode: str) -> Any:
        """The function on a stack of values of the checked slot (a new leading axis), by ``torch.func.vmap``."""
        torch = _torch()
        stack = arrays[self.slot]
        rest = list(arrays)
        rest[self.slot] = np.asarray(stack)[0]
        tensors = self._tensors(rest, mode)
        spec = self.specs[self.slot]
        dtype = _MODE_DTYPES[mode]() if mode != "test" else spec.dtype
        batch = torch.from_numpy(np.array(stack)).to(dtype).to(spec.device)

        def one(value: Any) -> Any:
            local = list(tensors)
            local[self.slot] = value
            return self._output(self.run(local, mode))

        return torch.func.vmap(one)(batch)

    def widened(self) -> _Call:
        """This call with every floating input (and a module's parameters) at float64: the same derivatives, the
        same code, at float64 (:mod:`verify._adapters`)."""
        wide = copy.copy(self)
        wide.mode = "float64"
        return wide

    def vjp(self, u: np.ndarray, *arrays: Any) -> np.ndarray:
        torch = _torch()
        mode = self.mode
        tensors = self._tensors(arrays, mode)
        x = tensors[self.slot].detach().requires_grad_(True)
        tensors[self.slot] = x
        with torch.enable_grad():
            y = self._output(self.run(tensors, mode))
            if not y.requires_grad:
                self.no_path = "the output does not require grad: it has no grad_fn"
                return np.zeros(np.shape(arrays[self.slot]), dtype=_numpy_dtype(self.specs[self.slot]))
            cot = torch.from_numpy(np.array(u)).to(dtype=y.dtype, device=y.device)
            try:
                (g,) = torch.autograd.grad(y, x, grad_outputs=cot, allow_unused=True)
            except RuntimeError as exc:
                raise ValueError(f"{self.checker}: torch's backward for {self.name} failed: {exc}") from exc
        if g is None:
            self.no_path = (f"torch.autograd.grad(output, {self.name}, allow_unused=True) returned None: the output's "
                            f"graph does not reach {self.name}")
            return np.zeros(np.shape(arrays[self.slot]), dtype=_numpy_dtype(self.specs[self.slot]))
        return g.detach().cpu().numpy()

    def detached(self, evidence: str) -> str:
        """The error for an output without an autograd path from this slot whose values change with it all the same
        (``evidence``: where the judge saw them change)."""
        return (f"the output of {self.function} does not depend on {self.name} through autograd ({self.no_path}), yet "
                f"its values change with {self.name} ({evidence}). The function leaves torch's autograd graph between "
                f"{self.name} and its output, so torch has no derivative w.r.t. {self.name} to check (backward() would "
                "give zeros or None, or fail). To fix it, compute the output with torch operations on the input tensor "
                "itself: no .detach(), .item(), .tolist() or .numpy() followed by torch.tensor(...) / "
                "torch.from_numpy(...), no torch.no_grad() around the computation. (A function whose output truly does "
                f"not depend on {self.name} passes: its derivative is zero.)")

    def jvp(self, v: np.ndarray, *arrays: Any) -> np.ndarray:
        torch = _torch()
        import torch.autograd.forward_ad as fwad

        mode = self.mode
        tensors = self._tensors(arrays, mode)
        tangent = torch.from_numpy(np.array(v)).to(dtype=tensors[self.slot].dtype, device=tensors[self.slot].device)
        with fwad.dual_level():
            tensors[self.slot] = fwad.make_dual(tensors[self.slot], tangent)
            y = self._output(self.run(tensors, mode))
            out = fwad.unpack_dual(y).tangent
            value = fwad.unpack_dual(y).primal
        if out is None:
            self.no_path = self.no_path or "forward-mode AD gave the output no tangent"
            return np.zeros(tuple(value.shape), dtype=np.float32 if value.dtype == torch.float32 else np.float64)
        return out.detach().cpu().numpy()


class _Copies:
    """Deep copies of a module, never the module itself: as it is (the derivative under test), in float64 (the
    reference) and, made on first use, in complex128 (the complex-step reference, where the module allows)."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.made = {"test": copy.deepcopy(module), "float64": copy.deepcopy(module).double()}

    def get(self, mode: str) -> Any:
        if mode not in self.made:
            made = copy.deepcopy(self.module)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "Complex modules are a new feature …"
                    made = made.to(_MODE_DTYPES[mode]())
            except Exception as exc:  # noqa: BLE001 - no complex copy: no complex step (the judge falls back)
                raise TypeError(f"the module cannot be converted to {mode}: {exc}") from exc
            self.made[mode] = made
        return self.made[mode]


def _slots(checker: str, run: Callable, values: tuple, names: list[str], indices: list[int],
           function: str) -> tuple[tuple, list[Slot]]:
    specs = [_spec_of(v, n) for v, n in zip(values, names, strict=True)]
    arrays = tuple(_to_array(v) for v in values)
    slots = [Slot(i, names[i], _Call(run, specs, i, np.shape(arrays[i]), names[i], checker, function),
                  specs[i].requires_grad)
             for i in indices]
    return arrays, slots


def _described(fn: Callable) -> str:
    """``fn`` in words for a message: ``"fn (<lambda>)"``, ``"fn (MyFunction.apply)"``."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return f"fn ({name})"


def check_function(
    fn: Callable[..., Any],
    inputs: Any,
    *,
    wrt: int | Sequence[int] | None = None,
    forward: bool | str = "auto",
    jumps: str = "fail",
    **options: Unpack[JudgeOptions],
) -> AdapterReport:
    """Check torch's derivatives of ``fn(*inputs)`` w.r.t. every floating-point input.

    Args:
      fn: a torch callable returning one tensor: a function, an ``nn.Module`` used as a function (its
        parameters fixed; see :func:`check_module` for theirs), or ``MyFunction.apply`` of a custom
        ``torch.autograd.Function``.
      inputs: a tensor or a tuple of arguments. Floating tensors (float32 / float64, on the CPU, or on a
        CUDA GPU where one is present) are differentiated; integer tensors and other objects are passed
        as they are.
      wrt: the index (or indices) of the inputs to check; default every floating tensor.
      forward: ``"auto"`` checks forward mode where the function supports it and says why not otherwise;
        ``True`` requires it; ``False`` skips it.
      jumps: as for :func:`verify.check_gradient`: ``"fail"`` (default), a point where ``fn`` is not continuous
        along an input's entry (``torch.floor(x)`` at an integer, ``x >= c`` at ``c``) fails the check with "the
        function is not continuous at the point along inputs[i]"; ``"allow"``: such entries are reported as not
        differentiable (``report["inputs[0]"].jumps``, and NOT DIFFERENTIABLE in the text) and not judged, while
        every other entry is. A function without jumps is checked exactly as with ``"fail"``.
      **options: ``directions``, ``seed``, ``jacobian_max``, ``ulps``, ``atol``, ``worst``, passed to
        :func:`verify.check_vjp` and :func:`verify.check_jvp` (their meaning and defaults are theirs).

    Returns:
      A :class:`AdapterReport` (``report["inputs[0]"].vjp`` …).

    Raises:
      CheckFailure: a derivative is wrong, or ``fn`` jumps at the point with ``jumps="fail"``; the message names
        the input, the mode, the direction, the worst entries and the likely mistake.
      ValueError: the output does not depend on an input through autograd (it does not require grad, has no
        ``grad_fn``, or autograd's graph does not reach the input) although its values change with that input —
        ``fn`` leaves the graph (``.detach()``, ``.numpy()`` and back, ``torch.no_grad()``); the message names the
        function, the input and the fix. An output that does not depend on an input at all is not refused: its
        derivative, zero, is checked. Also a ``jumps`` other than ``"fail"`` / ``"allow"``.
      TypeError / ValueError: ``fn`` does not return a tensor, an input to check is not floating, a tensor
        on a device that is not here, torch's backward fails (e.g. it returns a gradient of another shape).

    Example:

    >>> import torch, verify.torch
    >>> x = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    >>> verify.torch.check_function(torch.nn.functional.softmax, (x, -1)).slots[0].name
    'inputs[0]'
    """
    __tracebackhide__ = True
    opts = judge_options("verify.torch.check_function", options)
    jumps = jumps_choice(jumps, "verify.torch.check_function")
    values = _as_tuple(inputs, "verify.torch.check_function")
    if not callable(fn):
        raise TypeError(f"verify.torch.check_function: fn must be callable; got {type(fn).__name__}")
    names = [f"inputs[{i}]" for i in range(len(values))]
    specs = [_spec_of(v, n) for v, n in zip(values, names, strict=True)]
    refuse_non_finite_inputs("verify.torch.check_function", list(zip(names, values, strict=True)))

    def why_not(i: int) -> str:
        what = f"a {specs[i].dtype} tensor" if specs[i].tensor else f"a {type(values[i]).__name__}"
        return f"is {what}, not a floating-point tensor; only float32/float64 tensors can be differentiated"

    slots = differentiated("verify.torch.check_function", wrt, [s.floating for s in specs], "tensor", why_not)

    def run(tensors: list, mode: str) -> Any:
        return fn(*tensors)

    arrays, checked = _slots("verify.torch.check_function", run, values, names, list(slots), _described(fn))
    return check_slots("verify.torch.check_function", arrays, checked, forward, opts, jumps=jumps)


def check_module(
    module: Any,
    inputs: Any,
    *,
    parameters: Sequence[str] | None = None,
    check_inputs: bool = True,
    forward: bool | str = "auto",
    jumps: str = "fail",
    **options: Unpack[JudgeOptions],
) -> AdapterReport:
    """Check torch's gradients of ``module(*inputs)`` w.r.t. its floating inputs and each parameter.

    The module is only called through deep copies (one as it is, one converted to float64 for the
    reference), in its current train/eval mode, so it is left exactly as it was. It must be deterministic
    (no dropout in train mode); a failure names the parameter (``"fc.weight"``).

    Args:
      module: a ``torch.nn.Module`` with at least one parameter.
      inputs: a tensor or a tuple of arguments for ``module(*inputs)``.
      parameters: names of the parameters to check (default all, as ``module.named_parameters()``).
      check_inputs: also check the gradient w.r.t. every floating input.
      forward, jumps, **options: as for :func:`check_function`.

    Returns:
      A :class:`AdapterReport` (``report["fc.weight"]`` …).

    Raises:
      CheckFailure: a gradient is wrong (the message names the parameter or input), or the module jumps at the
        point with ``jumps="fail"``.
      ValueError: the output does not depend on a parameter or input through autograd although its values change
        with it (the module detaches it: ``self.weight.detach()``, ``.data``, ``torch.no_grad()``), as for
        :func:`check_function`.
      TypeError / ValueError: not a module, a module without parameters, an unknown parameter name, a
        float16 parameter, a module that is not deterministic, and the bad inputs of :func:`check_function`.

    Example:

    >>> import torch, verify.torch
    >>> layer = torch.nn.Linear(3, 2).double()
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]))
    >>> x = torch.tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 3.0]], dtype=torch.float64)
    >>> report = verify.torch.check_module(layer, x)
    >>> [slot.name for slot in report.slots]
    ['inputs[0]', 'weight', 'bias']
    """
    __tracebackhide__ = True
    opts = judge_options("verify.torch.check_module", options)
    jumps = jumps_choice(jumps, "verify.torch.check_module")
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"verify.torch.check_module: module must be a torch.nn.Module; got {type(module).__name__}")
    named = dict(module.named_parameters())
    if not named:
        raise ValueError(f"verify.torch.check_module: module {type(module).__name__} has no parameters; use "
                         "verify.torch.check_function for a function without parameters")
    chosen = list(named) if parameters is None else list(parameters)
    for name in chosen:
        if name not in named:
            raise ValueError(f"verify.torch.check_module: parameters names {name!r}, which is not a parameter of the "
                             f"module; its parameters: {list(named)}")
    values = _as_tuple(inputs, "verify.torch.check_module")
    input_names = [f"inputs[{i}]" for i in range(len(values))]
    input_specs = [_spec_of(v, n) for v, n in zip(values, input_names, strict=True)]
    for name in chosen:
        _spec_of(named[name], f"parameter {name!r}")
    refuse_non_finite_inputs("verify.torch.check_module", [*zip(input_names, values, strict=True),
                                                           *((f"parameter {name!r}", named[name]) for name in chosen),
                                                           *((f"buffer {name!r}", buffer)
                                                             for name, buffer in module.named_buffers()
                                                             if buffer.is_floating_point())])
    copies = _Copies(module)
    checker = "verify.torch.check_module"
    function = f"the module {type(module).__name__}"
    notes: list[str] = []
    slot_reports: list[SlotReport] = []
    start = time.perf_counter()
    if check_inputs:
        floating = [i for i, s in enumerate(input_specs) if s.floating]

        def run_inputs(tensors: list, mode: str) -> Any:
            return copies.get(mode)(*tensors)

        if floating:
            arrays, checked = _slots(checker, run_inputs, values, input_names, floating, function)
            slot_reports.extend(check_slots(checker, arrays, checked, forward, opts, notes, jumps).slots)
    n = len(values)
    for name in chosen:
        def run_parameter(tensors: list, mode: str, name: str = name) -> Any:
            return torch.func.functional_call(copies.get(mode), {name: tensors[n]}, tuple(tensors[:n]))

        arrays, checked = _slots(checker, run_parameter, (*values, named[name]), [*input_names, name], [n], function)
        slot_reports.extend(check_slots(checker, arrays, checked, forward, opts, notes, jumps).slots)
    return AdapterReport(checker=checker, slots=tuple(slot_reports), notes=tuple(notes),
                         seconds=time.perf_counter() - start)
