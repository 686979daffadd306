"""Kernels written once: one Numba-compilable function, compiled into every compiled backend.

DESIGN.md, "Write the math once": a rule's arithmetic is a single function; the serial, parallel and CUDA
kernels are *generated* from it, so no backend has a hand-written copy that can drift from the others.

Two shapes of kernel cover the package:

``elementwise(element, name=..., arrays=..., assigned=..., scalars=...)``
    ``element(a_i, b_i, ..., s_1, ...) -> (new values of the assigned arrays at i, in order)`` applied at
    every index ``i`` of 1-D arrays of one length (optimizer updates, activations). The generated loop is::

        for _i in range(a.shape[0]):         # prange in the parallel variant; one thread per _i on CUDA
            a[_i], m[_i] = element(a[_i], g[_i], m[_i], s_1, s_2)

    With ``count_nonfinite=("a", "m")`` the same pass also counts, per named array, the entries that were NaN
    or ±inf *before* the update (the CPU variants return the counts as a tuple; the CUDA kernel adds them
    atomically into a trailing int64 array ``_counts`` of that length). The update is applied everywhere:
    the count is a check fused into the one pass over memory, for callers that refuse non-finite input
    without paying a second pass.

``blockwise(block, name=..., arrays=..., scalars=..., rows_per_block=...)``
    ``block(a[lo:hi], b[lo:hi], ..., s_1, ...)`` on consecutive blocks of rows (leading-axis slices are views:
    the function writes its outputs into the arrays it is given). Losses and network passes need a whole row
    (its maximum, its sums) and vectorise over a block of rows; on CUDA each thread takes one row (a block of
    one row), so the function must be correct for any block size.

Every variant is compiled from the *same Python source*: the CPU variants call ``element``'s Numba dispatcher
(inlined), and the CUDA kernel calls ``cuda.jit(device=True)(element.py_func)``. The generated functions get
their own qualified names (``<name>__cpu``, ``<name>__parallel``, ``<name>__cuda``) because Numba's on-disk
cache key does not include ``parallel``: two variants of one name would load each other's machine code. They
are compiled with the package's caching policy (:mod:`verify._jit`), stamped with the source file of
``element``, so editing the rule recompiles its kernels.

The CUDA variant is built on first use of :attr:`Compiled.cuda` (importing a CPU kernel module never imports
``numba.cuda``) and registered, with its signatures, for :func:`verify.kernels.cuda.compile_all_ptx`.

>>> import numpy as np
>>> from verify._jit import jit
>>> @jit(inline="always", cache=False)
... def _axpy(y, x, a):
...     return (y + a * x,)
>>> axpy = elementwise(_axpy, name="doctest_axpy", arrays=("y", "x"), assigned=("y",), scalars=("a",))
>>> y = np.ones(3); axpy.cpu(y, np.arange(3.0), 2.0); y
array([1., 3., 5.])
"""

from __future__ import annotations

import functools
import inspect
import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numba

from verify._jit import jit, parallel_jit

__all__ = ["Compiled", "elementwise", "blockwise", "COMPILED"]

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]

COMPILED: dict[str, Compiled] = {}
"""Every kernel generated here, by name (selfcheck and the PTX test walk it)."""


@dataclass
class Compiled:
    """The generated kernels of one function: ``cpu`` and ``parallel`` dispatchers, ``cuda`` on first use.

    ``source`` is the generated Python of the CPU loop (``range`` written as ``RANGE``), kept for errors and
    for the tests; ``signatures`` are the CUDA kernel's signatures (for PTX compilation), may be empty.
    """

    name: str
    function: Callable
    arguments: tuple[str, ...]
    source: str
    cuda_source: str
    cpu: Callable
    parallel: Callable
    signatures: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)

    @functools.cached_property
    def cuda(self) -> Callable:
        """The ``numba.cuda`` kernel, launched as ``kernel[blocks, threads](*arguments)``."""
        from numba import cuda

        from verify.kernels.cuda._device import register

        device = cuda.jit(device=True)(_python_function(self.function))
        kernel = _generate(self.cuda_source, f"{self.name}__cuda", self.function, {"_fn": device, "_cuda": cuda})
        return register(*self.signatures)(kernel)


def elementwise(
    element: Callable,
    *,
    name: str,
    arrays: Sequence[str],
    assigned: Sequence[str],
    scalars: Sequence[str] = (),
    signatures: Sequence[str] = (),
    count_nonfinite: Sequence[str] = (),
    **options,
) -> Compiled:
    """Kernels applying ``element`` at every index of the 1-D ``arrays`` (see the module docstring).

    Args:
      element: a Numba ``@jit`` function (``inline="always"`` lets the loop vectorise) taking one value of
        each array, in the order of ``arrays``, then the ``scalars``; it returns a tuple with the new value of
        each array of ``assigned``, in that order.
      name: a unique identifier; the generated kernels are ``<name>__cpu``, ``<name>__parallel``, ``<name>__cuda``.
      arrays: the kernel's array parameters (all of one length; the first one sets the loop's length).
      assigned: the arrays written back from ``element``'s result.
      scalars: the kernel's scalar parameters, passed through unchanged.
      signatures: CUDA signatures of the kernel (``verify.kernels.cuda._device.float_signatures``; with
        ``count_nonfinite``, ending in the ``int64[::1]`` of ``_counts``).
      count_nonfinite: arrays whose NaN/±inf entries before the update are counted (see the module docstring).
      **options: Numba options of the CPU variants (e.g. ``error_model="numpy"``, ``fastmath=...``).

    Raises:
      ValueError: a name is not an identifier, is repeated, or an assigned or counted array is not among
        ``arrays``.
    """
    arrays, assigned, scalars = tuple(arrays), tuple(assigned), tuple(scalars)
    counted = tuple(count_nonfinite)
    _check_names(name, arrays, scalars)
    if not arrays:
        raise ValueError(f"{name}: arrays must name at least one array")
    if not assigned or any(a not in arrays for a in assigned):
        raise ValueError(f"{name}: assigned must be a non-empty subset of arrays {arrays}; got {assigned}")
    if any(a not in arrays for a in counted) or len(set(counted)) != len(counted):
        raise ValueError(f"{name}: count_nonfinite must name distinct arrays of {arrays}; got {counted}")
    targets = ", ".join(f"{a}[_i]" for a in assigned) + ("," if len(assigned) == 1 else "")
    call = "_fn(" + ", ".join([*(f"{a}[_i]" for a in arrays), *scalars]) + ")"
    params = ", ".join((*arrays, *scalars))
    n = f"{arrays[0]}.shape[0]"
    # x - x is 0 for finite x and NaN for NaN and ±inf: one subtraction and one comparison per entry,
    # which vectorises (math.isfinite does not, in Numba 0.68)
    bad = {a: f"{a}[_i] - {a}[_i] != 0" for a in counted}
    if counted:
        counts = "".join(f"    _n{k} = 0\n" for k in range(len(counted)))
        tally = "".join(f"        _n{k} += 1 if {bad[a]} else 0\n" for k, a in enumerate(counted))
        returned = ", ".join(f"_n{k}" for k in range(len(counted))) + ("," if len(counted) == 1 else "")
        cpu = (f"def NAME({params}):\n{counts}    for _i in RANGE({n}):\n{tally}        {targets} = {call}\n"
               f"    return ({returned})\n")
        atomics = "".join(f"        if {bad[a]}:\n            _cuda.atomic.add(_counts, {k}, 1)\n"
                          for k, a in enumerate(counted))
        gpu = (f"def NAME({params}, _counts):\n    _i = _cuda.grid(1)\n    if _i < {n}:\n{atomics}"
               f"        {targets} = {call}\n")
    else:
        cpu = f"def NAME({params}):\n    for _i in RANGE({n}):\n        {targets} = {call}\n"
        gpu = f"def NAME({params}):\n    _i = _cuda.grid(1)\n    if _i < {n}:\n        {targets} = {call}\n"
    return _build(name, element, (*arrays, *scalars), cpu, gpu, tuple(signatures), options)


def blockwise(
    block: Callable,
    *,
    name: str,
    arrays: Sequence[str],
    scalars: Sequence[str] = (),
    rows_per_block: int = 256,
    signatures: Sequence[str] = (),
    **options,
) -> Compiled:
    """Kernels applying ``block`` to consecutive blocks of rows of ``arrays`` (see the module docstring).

    The CPU variants split the leading axis of ``arrays[0]`` into blocks of ``rows_per_block`` rows (the
    parallel one runs the blocks on all threads); the CUDA kernel gives each thread one row. ``block`` takes
    the slices ``a[lo:hi]`` of every array, in the order of ``arrays``, then the ``scalars``, and returns
    nothing: it writes its results into the slices of its output arrays.

    Raises:
      ValueError: a bad name (as :func:`elementwise`) or ``rows_per_block`` < 1.
    """
    arrays, scalars = tuple(arrays), tuple(scalars)
    _check_names(name, arrays, scalars)
    if not arrays:
        raise ValueError(f"{name}: arrays must name at least one array")
    if not isinstance(rows_per_block, int) or rows_per_block < 1:
        raise ValueError(f"{name}: rows_per_block must be an integer >= 1; got {rows_per_block!r}")
    params = ", ".join((*arrays, *scalars))
    n = f"{arrays[0]}.shape[0]"
    sliced = ", ".join([*(f"{a}[_lo:_hi]" for a in arrays), *scalars])
    cpu = (f"def NAME({params}):\n    for _b in RANGE(({n} + {rows_per_block - 1}) // {rows_per_block}):\n"
           f"        _lo = _b * {rows_per_block}\n        _hi = min(_lo + {rows_per_block}, {n})\n"
           f"        _fn({sliced})\n")
    gpu = (f"def NAME({params}):\n    _lo = _cuda.grid(1)\n    if _lo < {n}:\n        _hi = _lo + 1\n"
           f"        _fn({sliced})\n")
    return _build(name, block, (*arrays, *scalars), cpu, gpu, tuple(signatures), options)


def _build(name, function, arguments, cpu_source, cuda_source, signatures, options) -> Compiled:
    if name in COMPILED:
        raise ValueError(f"a kernel named {name!r} was already generated")
    if not _in_package(_source_file(function)):
        options = {"cache": False, **options}  # the package's cache locator files only the package's kernels
    serial = _generate(cpu_source.replace("RANGE", "range"), f"{name}__cpu", function, {"_fn": function})
    threaded = _generate(cpu_source.replace("RANGE", "_prange"), f"{name}__parallel", function,
                         {"_fn": function, "_prange": numba.prange})
    compiled = Compiled(
        name=name, function=function, arguments=arguments, source=cpu_source, cuda_source=cuda_source,
        cpu=jit(**options)(serial), parallel=parallel_jit(**options)(threaded), signatures=signatures,
        options=dict(options),
    )
    COMPILED[name] = compiled
    return compiled


def _generate(source: str, qualname: str, function: Callable, namespace: dict) -> Callable:
    """Execute ``source`` (a ``def NAME``) as if it were written in ``function``'s module.

    The code object carries that module's file name, so the package's cache locator files the compiled
    kernel beside the module's own and stamps it with the module's source hash.
    """
    py_function = _python_function(function)
    filename = _source_file(function)
    scope = {"__name__": py_function.__module__, **namespace}
    exec(compile(source.replace("NAME", qualname), filename, "exec"), scope)  # noqa: S102 - generated above
    generated = scope[qualname]
    generated.__qualname__ = qualname
    return generated


def _python_function(function: Callable) -> Callable:
    return getattr(function, "py_func", function)


def _source_file(function: Callable) -> str:
    py_function = _python_function(function)
    return inspect.getsourcefile(py_function) or py_function.__code__.co_filename


def _in_package(filename: str) -> bool:
    return Path(filename).resolve().is_relative_to(_PACKAGE_ROOT)


def _check_names(name: str, arrays: tuple[str, ...], scalars: tuple[str, ...]) -> None:
    for what, value in (("name", name), *(("arrays", a) for a in arrays), *(("scalars", s) for s in scalars)):
        if not isinstance(value, str) or not value.isidentifier() or keyword.iskeyword(value):
            raise ValueError(f"{what} must hold Python identifiers; got {value!r}")
    everything = (*arrays, *scalars)
    repeated = sorted({a for a in everything if everything.count(a) > 1})
    if repeated:
        raise ValueError(f"{name}: argument names must be distinct; repeated: {repeated}")
    reserved = [a for a in everything if a.startswith("_")]
    if reserved:
        raise ValueError(f"{name}: names starting with '_' are reserved for the generated loop; got {reserved}")
