"""Kernels written once: one Numba-compilable function, compiled into every compiled backend.

DESIGN.md, "Write the math once": a rule's arithmetic is a single function; the CPU and CUDA kernels are
*generated* from it, so no backend has a hand-written copy that can drift from the others. The CPU kernel is
compiled once and serves both CPU backends: ``cpu`` runs its loop on one thread, ``parallel`` runs chunks of the
same loop on all threads (:mod:`verify.kernels._threads`), so the two compute the same bits.

Two shapes of kernel cover the package:

``elementwise(element, name=..., arrays=..., assigned=..., scalars=...)``
    ``element(a_i, b_i, ..., s_1, ...) -> (new values of the assigned arrays at i, in order)`` applied at
    every index ``i`` of 1-D arrays of one length (optimizer updates, activations). The generated loop is::

        for _i in range(a.shape[0]):         # chunks of it on each thread (parallel); one thread per _i on CUDA
            a[_i], m[_i] = element(a[_i], g[_i], m[_i], s_1, s_2)

    With ``count_nonfinite=("a", "m")`` the same pass also counts, per named array, the entries that were NaN
    or ±inf *before* the update (the CPU kernels return the counts as a tuple; the CUDA kernel adds them
    atomically into a trailing int64 array ``_counts`` of that length). The update is applied everywhere:
    the count is a check fused into the one pass over memory, for callers that refuse non-finite input
    without paying a second pass.

``blockwise(block, name=..., arrays=..., scalars=..., rows_per_block=...)``
    ``block(a[lo:hi], b[lo:hi], ..., s_1, ...)`` on consecutive blocks of rows (leading-axis slices are views:
    the function writes its outputs into the arrays it is given). Losses and network passes need a whole row
    (its maximum, its sums) and vectorise over a block of rows; on CUDA each thread takes one row (a block of
    one row), so the function must be correct for any block size. With ``scratch=S`` the function also
    gets a float64 work array of shape ``(S, rows in the block)`` after the arrays (allocated per block on the
    CPU, a per-thread local array on CUDA): per-row values that a later loop over the block reads back.

``reduction(block, name=..., arrays=..., out=..., scalars=...)``
    ``block(a[lo:hi], ..., out[p], lo, s_1, ...)`` on the ``P = out.shape[0]`` parts ``lo = p·n // P`` of the
    rows of the other arrays: each part writes its partial result into its row of ``out`` (column sums,
    counts of bad entries). The partition depends on ``P`` only, never on the threads, so the serial,
    parallel and CUDA kernels add the same numbers in the same order (on CUDA one thread takes one part).

``switch(functions, name=...)`` is a ``@jit`` function ``(code, *args)`` calling ``functions[code](*args)``:
the dispatch of a kernel over a catalogue (the activations) generated from the catalogue itself.

Both are compiled from the *same Python source*: the CPU kernel calls ``element``'s Numba dispatcher
(inlined), and the CUDA kernel calls ``cuda.jit(device=True)(element.py_func)``. The generated functions get
their own qualified names (``<name>__cpu``, ``<name>__cuda``; the Python entry points ``<name>__run``,
``<name>__run_threaded``, ``<name>__count``). The CPU kernel is compiled with the package's caching policy
(:mod:`verify._jit`), stamped with the source file of ``element``, so editing the rule recompiles it.

The CUDA variant is built on first use of :attr:`Compiled.cuda` (importing a CPU kernel module never imports
``numba.cuda``) and registered, with its signatures, for :func:`verify.kernels.cuda.compile_all_ptx`.

>>> import numpy as np
>>> from verify._jit import jit
>>> @jit(forceinline=True, cache=False)
... def _axpy(y, x, a):
...     return (y + a * x,)
>>> axpy = elementwise(_axpy, name="doctest_axpy", arrays=("y", "x"), assigned=("y",), scalars=("a",))
>>> y = np.ones(3); axpy.cpu(y, np.arange(3.0), 2.0); y
array([1., 3., 5.])
"""

from __future__ import annotations

import ast
import functools
import inspect
import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from verify._jit import jit
from verify.kernels._threads import run_chunks

__all__ = ["Compiled", "elementwise", "blockwise", "reduction", "switch", "COMPILED"]

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]

COMPILED: dict[str, Compiled] = {}
"""Every kernel generated here, by name (selfcheck and the PTX test walk it)."""


@dataclass
class Compiled:
    """The generated kernels of one function: ``cpu(*args)`` and ``parallel(*args)``, ``cuda`` on first use.

    ``serial`` is the one compiled CPU kernel, ``serial(*args, first, last)``: iterations ``first ≤ i < min(last,
    count)`` of its outer loop (elements, blocks of rows, or parts), without the GIL. ``cpu`` runs it on the whole
    loop; ``parallel`` on chunks of at least ``chunk`` iterations over all threads
    (:func:`verify.kernels._threads.run_chunks`): the same machine code, so the same results. Both return what the
    kernel returns (the counts of ``count_nonfinite``, summed over the chunks) or None. ``count(*args)`` is the
    loop's length. ``source`` is the generated Python of the CPU kernel, kept for errors and for the tests;
    ``signatures`` are the CUDA kernel's signatures (for PTX compilation), may be empty.
    """

    name: str
    function: Callable
    arguments: tuple[str, ...]
    source: str
    cuda_source: str
    serial: Callable
    cpu: Callable
    parallel: Callable
    count: Callable
    signatures: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)
    chunk: int = 0

    @functools.cached_property
    def cuda(self) -> Callable:
        """The ``numba.cuda`` kernel, launched as ``kernel[blocks, threads](*arguments)``."""
        from numba import cuda

        from verify.kernels.cuda._device import register

        if numba.config.ENABLE_CUDASIM:
            device = _simulated_device(self.function)
        else:
            device = cuda.jit(device=True)(_python_function(self.function))
        namespace = {"_fn": device, "_cuda": cuda, "_float64": np.float64}
        kernel = _generate(self.cuda_source, f"{self.name}__cuda", self.function, namespace)
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
      element: a Numba ``@jit`` function (``forceinline=True`` lets the loop vectorise) taking one value of
        each array, in the order of ``arrays``, then the ``scalars``; it returns a tuple with the new value of
        each array of ``assigned``, in that order.
      name: a unique identifier; the generated kernels are ``<name>__cpu`` and ``<name>__cuda``.
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
    # An unsigned index: Numba adds a wrap-around test for a negative one to every access of a signed index that is
    # not provably >= 0 (as one counted from _first is not), which kept the loop from vectorising (Adam's step of
    # 1e7 parameters: 30 ms instead of 9)
    loop = f"    for _i in range(_np.uint64(_first), _np.uint64(min(_last, {n}))):\n"
    if counted:
        counts = "".join(f"    _n{k} = 0\n" for k in range(len(counted)))
        tally = "".join(f"        _n{k} += 1 if {bad[a]} else 0\n" for k, a in enumerate(counted))
        returned = ", ".join(f"_n{k}" for k in range(len(counted))) + ("," if len(counted) == 1 else "")
        cpu = f"def NAME({params}, _first, _last):\n{counts}{loop}{tally}        {targets} = {call}\n    return ({returned})\n"
        atomics = "".join(f"        if {bad[a]}:\n            _cuda.atomic.add(_counts, {k}, 1)\n"
                          for k, a in enumerate(counted))
        gpu = (f"def NAME({params}, _counts):\n    _i = _cuda.grid(1)\n    if _i < {n}:\n{atomics}"
               f"        {targets} = {call}\n")
    else:
        cpu = f"def NAME({params}, _first, _last):\n{loop}        {targets} = {call}\n"
        gpu = f"def NAME({params}):\n    _i = _cuda.grid(1)\n    if _i < {n}:\n        {targets} = {call}\n"
    return _build(name, element, (*arrays, *scalars), cpu, gpu, signatures, options, 4096, n,
                  _sum_counts if counted else _nothing)


def blockwise(block: Callable, *, name: str, arrays: Sequence[str], scalars: Sequence[str] = (),
              rows_per_block: int = 256, elements_per_block: int | None = None, scratch: int = 0,
              whole: Sequence[str] = (), signatures: Sequence[str] = (), **options) -> Compiled:
    """Kernels applying ``block`` to consecutive blocks of rows of ``arrays`` (see the module docstring).

    The CPU variants split the leading axis of ``arrays[0]`` into blocks of ``rows_per_block`` rows (or, with
    ``elements_per_block``, of ``max(1, elements_per_block // arrays[0].shape[1])`` rows: blocks of one size in
    memory whatever the width, e.g. to stay in the L1 cache); ``parallel`` runs the blocks on all threads.
    The CUDA kernel gives each thread one row. ``block`` takes
    the slices ``a[lo:hi]`` of every array, in the order of ``arrays``, then (``scratch > 0``) a float64 work
    array of shape ``(scratch, hi − lo)``, then the ``scalars``, and returns nothing: it writes its results
    into the slices of its output arrays. The arrays named in ``whole`` (a bias, a kernel θ) are passed whole,
    not sliced; ``arrays[0]`` must not be one of them.

    Raises:
      ValueError: a bad name (as :func:`elementwise`), ``rows_per_block`` < 1, ``scratch`` < 0, or ``whole``
        naming ``arrays[0]`` or an array not in ``arrays``.
    """
    arrays, scalars = tuple(arrays), tuple(scalars)
    _check_names(name, arrays, scalars)
    _check_whole(name, arrays, whole)
    if not arrays:
        raise ValueError(f"{name}: arrays must name at least one array")
    for what, value, low in (("rows_per_block", rows_per_block, 1), ("scratch", scratch, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: {what} must be an integer >= {low}; got {value!r}")
    if elements_per_block is not None and (isinstance(elements_per_block, bool) or
                                           not isinstance(elements_per_block, int) or elements_per_block < 1):
        raise ValueError(f"{name}: elements_per_block must be an integer >= 1; got {elements_per_block!r}")
    params = ", ".join((*arrays, *scalars))
    n = f"{arrays[0]}.shape[0]"
    sliced = ", ".join([*(a if a in whole else f"{a}[_lo:_hi]" for a in arrays), *(["_s"] if scratch else []),
                        *scalars])
    rows = (f"max(1, {elements_per_block} // max(1, {arrays[0]}.shape[1]))" if elements_per_block
            else str(rows_per_block))
    cpu_scratch = f"        _s = _np.empty(({scratch}, _hi - _lo))\n" if scratch else ""
    gpu_scratch = f"        _s = _cuda.local.array(({scratch}, 1), _float64)\n" if scratch else ""
    blocks = f"({n} + {rows} - 1) // {rows}"
    cpu = (f"def NAME({params}, _first, _last):\n    _rows = {rows}\n"
           f"    for _b in range(_first, min(_last, ({n} + _rows - 1) // _rows)):\n"
           f"        _lo = _b * _rows\n        _hi = min(_lo + _rows, {n})\n"
           f"{cpu_scratch}        _fn({sliced})\n")
    gpu = (f"def NAME({params}):\n    _lo = _cuda.grid(1)\n    if _lo < {n}:\n        _hi = _lo + 1\n"
           f"{gpu_scratch}        _fn({sliced})\n")
    return _build(name, block, (*arrays, *scalars), cpu, gpu, signatures, options, 4, blocks, _nothing)


def reduction(block: Callable, *, name: str, arrays: Sequence[str], out: str, scalars: Sequence[str] = (),
              whole: Sequence[str] = (), signatures: Sequence[str] = (), **options) -> Compiled:
    """Kernels applying ``block`` to the ``P = out.shape[0]`` parts of the rows of ``arrays`` (module docstring).

    Part ``p`` is rows ``lo = p·n // P`` to ``hi = (p + 1)·n // P`` of every array but ``out`` (``n`` the length
    of the first of them); ``block`` takes their slices ``a[lo:hi]`` in the order of ``arrays``, with ``out[p]``
    in the place of ``out``, then ``lo`` (an int64: the part's first row), then the ``scalars``, and writes its
    partial result into ``out[p]``. The CPU kernel loops over the parts (``parallel``: over all threads),
    the CUDA kernel gives each thread one part. Combining the partial results (a sum of the rows of ``out``:
    this pattern again, with one part) is the caller's. Arrays named in ``whole`` are passed whole.

    Raises:
      ValueError: a bad name (as :func:`elementwise`), ``out`` not among ``arrays``, or no other array.
    """
    arrays, scalars = tuple(arrays), tuple(scalars)
    _check_names(name, arrays, scalars)
    _check_whole(name, tuple(a for a in arrays if a != out), whole)
    rows = [a for a in arrays if a != out and a not in whole]
    if out not in arrays or not rows:
        raise ValueError(f"{name}: out must be one of arrays {arrays} and at least one other array is needed; "
                         f"got out={out!r}")
    params = ", ".join((*arrays, *scalars))
    parts = f"{out}.shape[0]"
    args = ", ".join([*(f"{out}[_p]" if a == out else a if a in whole else f"{a}[_lo:_hi]" for a in arrays), "_lo",
                      *scalars])
    bounds = (f"        _lo = (_p * {rows[0]}.shape[0]) // {parts}\n"
              f"        _hi = ((_p + 1) * {rows[0]}.shape[0]) // {parts}\n        _fn({args})\n")
    cpu = f"def NAME({params}, _first, _last):\n    for _p in range(_first, min(_last, {parts})):\n{bounds}"
    gpu = f"def NAME({params}):\n    _p = _cuda.grid(1)\n    if _p < {parts}:\n{bounds}"
    return _build(name, block, (*arrays, *scalars), cpu, gpu, signatures, options, 1, parts, _nothing)


def switch(functions: Sequence[Callable], *, name: str) -> Callable:
    """A ``@jit(forceinline=True)`` function ``NAME(code, *args)`` returning ``functions[code](*args)``.

    Every function takes the same arguments (those of ``functions[0]``) and returns the same type; a ``code``
    outside ``range(len(functions))`` runs the last one (the callers validate codes). The generated function
    compiles for the CPU and, called from a kernel of this module, for CUDA.

    Raises:
      ValueError: ``functions`` is empty or ``name`` is not an identifier.
    """
    functions = tuple(functions)
    _check_names(name, (), ())
    if not functions:
        raise ValueError(f"{name}: switch needs at least one function")
    params = list(inspect.signature(_python_function(functions[0])).parameters)
    call = ", ".join(params)
    lines = [f"def NAME(_code, {call}):"]
    lines += [f"    if _code == {i}:\n        return _f{i}({call})" for i in range(len(functions) - 1)]
    lines.append(f"    return _f{len(functions) - 1}({call})")
    namespace = {f"_f{i}": f for i, f in enumerate(functions)}
    generated = _generate("\n".join(lines) + "\n", name, functions[0], namespace)
    options = {} if _in_package(_source_file(functions[0])) else {"cache": False}
    return jit(forceinline=True, **options)(generated)


#: ``last`` of a call on the whole loop (the kernels take ``min(last, count)``).
_WHOLE_LOOP = 1 << 62


def _sum_counts(results: list) -> tuple:
    return tuple(sum(column) for column in zip(*results, strict=True))


def _nothing(results: list) -> None:
    return None


def _build(name, function, arguments, cpu_source, cuda_source, signatures, options, chunk, count,
           combine) -> Compiled:
    """The kernels of ``function``: ``cpu_source`` compiled once (``nogil``), and the Python entry points ``cpu``,
    ``parallel`` and ``count`` (``count``: the expression of the outer loop's length) around it."""
    if name in COMPILED:
        raise ValueError(f"a kernel named {name!r} was already generated")
    signatures = _checked_signatures(name, cuda_source, signatures)
    if not _in_package(_source_file(function)):
        options = {"cache": False, **options}  # the package's cache locator files only the package's kernels
    serial = jit(nogil=True, **options)(
        _generate(cpu_source, f"{name}__cpu", function, {"_fn": function, "_np": np}))
    params = ", ".join(arguments)
    entry = {"_serial": serial, "_run": run_chunks, "_combine": combine, "_whole": _WHOLE_LOOP, "_chunk": chunk}
    entries = {
        "run": f"def NAME({params}):\n    return _serial({params}, 0, _whole)\n",
        "run_threaded": f"def NAME({params}):\n    return _combine(_run(_serial, ({params},), {count}, _chunk))\n",
        "count": f"def NAME({params}):\n    return {count}\n",
    }
    made = {what: _generate(text, f"{name}__{what}", function, dict(entry)) for what, text in entries.items()}
    compiled = Compiled(
        name=name, function=function, arguments=arguments, source=cpu_source, cuda_source=cuda_source,
        serial=serial, cpu=made["run"], parallel=made["run_threaded"], count=made["count"], signatures=signatures,
        options=dict(options), chunk=chunk,
    )
    COMPILED[name] = compiled
    return compiled


def _checked_signatures(name: str, cuda_source: str, signatures: Sequence[str]) -> tuple[str, ...]:
    """``signatures`` as a tuple; ``ValueError`` unless it is a sequence of Numba signature strings, each with as many
    argument types as the CUDA kernel has parameters: the simulator never reads them, so a wrong one would
    otherwise surface only when compiling for a real GPU. (Only the count is checked here; the types themselves
    are checked by PTX compilation, ``tox -e cuda-ptx``.)"""
    from numba.core.sigutils import normalize_signature

    if not isinstance(signatures, str):
        signatures = tuple(signatures)
    if isinstance(signatures, str) or not all(isinstance(s, str) for s in signatures):
        raise ValueError(f"{name}: signatures must be a sequence of signature strings; got {signatures!r}")
    parameters = [a.arg for a in ast.parse(cuda_source).body[0].args.args]
    for signature in signatures:
        try:
            types, _ = normalize_signature(signature)
        except Exception as exc:  # noqa: BLE001 - Numba evaluates the text: SyntaxError, NameError, TypeError…
            raise ValueError(f"{name}: signature {signature!r} is not a Numba signature ({type(exc).__name__}: "
                             f"{exc})") from exc
        if len(types) != len(parameters):
            raise ValueError(f"{name}: signature {signature!r} types {len(types)} arguments; the CUDA kernel takes "
                             f"{len(parameters)} ({', '.join(parameters)})")
    return signatures


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


def _simulated_device(function: Callable) -> Callable:
    """On Numba's CUDA simulator the device function is the CPU-compiled ``function`` itself, called with the
    NumPy arrays behind the simulator's device arrays: the simulator runs the generated kernel (its threads,
    rows, slices and scratch) in Python, and the per-element arithmetic with Numba's typing rules, which the
    CUDA target shares (the function's Python source run as Python would follow NumPy's promotion rules
    instead, and could not call helpers that take arrays). That the same source compiles for a GPU is checked
    by PTX compilation (:func:`verify.kernels.cuda.compile_all_ptx`)."""

    def device(*args):
        return function(*(_host_array(a) for a in args))

    return device


def _host_array(value):
    item = getattr(value, "_item", value)  # the simulator's in-kernel array wraps a FakeCUDAArray …
    return getattr(item, "_ary", value)  # … which wraps a NumPy array


def _python_function(function: Callable) -> Callable:
    return getattr(function, "py_func", function)


def _source_file(function: Callable) -> str:
    py_function = _python_function(function)
    return inspect.getsourcefile(py_function) or py_function.__code__.co_filename


def _in_package(filename: str) -> bool:
    return Path(filename).resolve().is_relative_to(_PACKAGE_ROOT)


def _check_whole(name: str, arrays: tuple[str, ...], whole: Sequence[str]) -> None:
    if any(w not in arrays for w in whole) or (arrays and arrays[0] in whole):
        raise ValueError(f"{name}: whole must name arrays of {arrays} other than the first; got {tuple(whole)}")


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
