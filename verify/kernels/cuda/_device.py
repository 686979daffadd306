"""Host/device array handling shared by every CUDA kernel of ``verify``.

Rules (the same for every public function of :mod:`verify.kernels.cuda`):

- **Both kinds of input.** A host ``numpy.ndarray`` is validated on the host and copied to the device
  once; a device array (a Numba device array, or on a real GPU anything exposing
  ``__cuda_array_interface__``, wrapped without a copy) is used in place.
- **Where results live.** If any array argument was a device array, results are returned as device
  arrays; otherwise they are copied back to the host once, at the end. Reduced scalars (a ``"mean"``
  loss) are always Python floats. Nothing is copied back and forth inside a loop.
- **Bad input.** Wrong dtype → ``TypeError``; wrong number of dimensions, non-contiguous layout or
  NaN/inf → ``ValueError``; each message names the argument and the offending value. A device array that
  is not contiguous is refused rather than silently copied (a host array is copied to the device anyway,
  so the losses, activations and networks take any layout, as on the CPU backends). NaN/inf in a device
  array are found by a device-side scan (one small copy of the parts' counts back to the host).
- **Launch sizes.** Blocks of :data:`BLOCK` threads, one thread per element (element-wise kernels), per
  row (the losses' and softmax's row functions, the network's passes) or per part of the rows (the
  reductions of :mod:`verify.kernels._compile`).

Every kernel is registered with its signatures (:func:`register`) so that :func:`compile_all_ptx` can
compile each one for a real GPU, which catches the typing errors the simulator never sees; the kernels
written once in :mod:`verify.kernels._compile` register their CUDA variant when it is built, and
:func:`compile_all_ptx` builds every one of them first.

:class:`DeviceArrays` is the ``"cuda"`` array backend of :mod:`verify.kernels.catalogue` (the twin of its
``HostArrays``): the loss, activation and network drivers run unchanged on it. Host arguments are checked
on the host and copied to the device once, when a kernel first needs them; device arguments are checked on
the device by the same compiled scans (:mod:`verify.kernels._finite`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numba import config, cuda

from verify._validate import FLOAT_DTYPES

__all__ = [
    "BLOCK",
    "TILE",
    "KernelSpec",
    "KERNELS",
    "register",
    "float_signatures",
    "simulator_enabled",
    "is_device_array",
    "DeviceArgs",
    "DeviceArrays",
    "on_cuda",
    "elementwise_grid",
    "device_sum",
    "gemm",
    "first_nonfinite",
    "compile_all_ptx",
]

BLOCK = 128
"""Threads per block of every launch (and the size of every shared-memory reduction buffer)."""


def simulator_enabled() -> bool:
    """Whether ``numba.cuda`` is Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1`` at import)."""
    return bool(config.ENABLE_CUDASIM)


# --------------------------------------------------------------------------------------------------
# Kernel registry (for PTX compilation)


@dataclass(frozen=True)
class KernelSpec:
    """A registered kernel: its qualified name, its ``cuda.jit`` dispatcher and its signatures."""

    name: str
    dispatcher: object
    signatures: tuple[str, ...]


KERNELS: dict[str, KernelSpec] = {}


def float_signatures(template: str) -> tuple[str, ...]:
    """``template`` with ``{f}`` replaced by ``float32`` and by ``float64``."""
    return tuple(template.format(f=f) for f in ("float32", "float64"))


def register(*signatures: str) -> Callable:
    """Decorator: ``cuda.jit`` the function as a kernel and record ``signatures`` for PTX compilation."""

    def wrap(func):
        kernel = cuda.jit(func)
        name = f"{func.__module__}.{func.__qualname__}"
        KERNELS[name] = KernelSpec(name, kernel, tuple(signatures))
        return kernel

    return wrap


def compile_all_ptx(cc: tuple[int, int] = (8, 0)) -> dict[str, list[str]]:
    """Compile every registered kernel, for every signature, to PTX for compute capability ``cc``.

    Needs Numba's real CUDA target (not the simulator) and NVVM/NVRTC from a CUDA toolkit (for example
    ``pip install numba-cuda[cu13]``); no GPU or driver is needed. Returns ``{kernel name: [ptx, ...]}``
    and raises whatever the compiler raises on the first kernel that fails to type or compile.
    """
    if simulator_enabled():
        raise RuntimeError("PTX compilation needs Numba's real CUDA target; unset NUMBA_ENABLE_CUDASIM")
    _import_all_kernel_modules()
    from verify.kernels._compile import COMPILED

    for compiled in list(COMPILED.values()):
        if compiled.signatures:  # none: a host-only kernel (e.g. the CPU backends' NaN scan), never launched on CUDA
            compiled.cuda  # noqa: B018 - builds and registers the CUDA variant
    out: dict[str, list[str]] = {}
    with _target_device(cc):
        for spec in KERNELS.values():
            py_func = spec.dispatcher.py_func
            out[spec.name] = [cuda.compile_ptx(py_func, sig, cc=cc)[0] for sig in spec.signatures]
    return out


@contextlib.contextmanager
def _target_device(cc: tuple[int, int]):
    # numba-cuda (0.30) compiles a ``device=True`` function called from a kernel for the compute
    # capability of the *current device* (``CUDADispatcher.compile_device``), even inside
    # ``compile_ptx``, so without a driver it raises CudaSupportError. Compiling ahead of time for a
    # stated ``cc`` is exactly what we want, so the lookup answers ``cc`` for the duration.
    from numba.cuda import dispatcher

    class _Target:
        compute_capability = cc

    saved = dispatcher.get_current_device
    dispatcher.get_current_device = lambda: _Target()
    try:
        yield
    finally:
        dispatcher.get_current_device = saved


def _import_all_kernel_modules() -> None:
    import importlib

    for module in ("activations", "losses", "network", "optimizers"):
        try:
            importlib.import_module(f"verify.kernels.{module}")
            importlib.import_module(f"verify.kernels.cuda.{module}")
        except ModuleNotFoundError as exc:  # pragma: no cover - a module not written yet
            if exc.name != f"verify.kernels.cuda.{module}":
                raise


# --------------------------------------------------------------------------------------------------
# Host and device arrays


def _fake_array_type():
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    return FakeCUDAArray


def is_device_array(value: object) -> bool:
    """Whether ``value`` lives on the device (a Numba device array or a CUDA-array-interface object)."""
    if isinstance(value, np.ndarray):
        return False
    if simulator_enabled():
        return isinstance(value, _fake_array_type())
    return cuda.is_cuda_array(value)


def _as_device_view(value: object):
    if simulator_enabled() or cuda.devicearray.is_cuda_ndarray(value):
        return value
    return cuda.as_cuda_array(value)  # foreign device array (CuPy, torch…): a view, no copy


def _describe_device(value) -> str:
    return f"device array(shape={tuple(value.shape)}, dtype={value.dtype})"


class DeviceArgs:
    """Collects the array arguments of one call: validated, on the device, and where they came from.

    ``args.float(x, "x", ndim=2)`` returns a device array; ``args.out(result)`` returns ``result``
    as given (some input was a device array) or copied to the host (every input was a host array).
    """

    def __init__(self) -> None:
        self.on_device = False

    def float(
        self,
        value: object,
        name: str,
        *,
        ndim: int | Sequence[int] | None = None,
        dtype: np.dtype | None = None,
        finite: bool = True,
        shape: tuple[int, ...] | None = None,
        what: str = "",
    ):
        """A float32/float64, C-contiguous device array for ``value``; see the module rules.

        Checked in the order of the CPU backends: dtype, ``ndim``, ``shape`` (``what`` describes the array
        in that message), then contiguity and finiteness.
        """
        if is_device_array(value):
            self.on_device = True
            arr = _as_device_view(value)
            _check_device_float(arr, name, ndim=ndim, dtype=dtype)
            _check_shape(arr, name, shape, what)
            _check_device_contiguous(arr, name)
            if finite and arr.size:
                _require_device_finite(arr, name)
            return arr
        from verify._validate import as_float_array, require_finite

        host = as_float_array(value, name, ndim=ndim, dtype=dtype)
        _check_shape(host, name, shape, what)
        _require_c_contiguous(host, name)
        if finite:
            require_finite(host, name)
        return cuda.to_device(host)

    def labels(self, value: object, name: str, n_rows: int, n_classes: int):
        """Integer class indices in ``range(n_classes)``, shape ``(n_rows,)``, as an int64 device array."""
        from verify._validate import require_labels

        if is_device_array(value):
            self.on_device = True
            arr = _as_device_view(value)
            if arr.dtype != np.int64:
                raise TypeError(f"{name} must be int64 class indices on the device; got {_describe_device(arr)}")
            if tuple(arr.shape) != (n_rows,):
                raise ValueError(f"{name} must have shape ({n_rows},); got {tuple(arr.shape)}")
            _require_device_labels(arr, name, n_classes)
            return arr
        host = require_labels(value, name, n_rows, n_classes)
        return cuda.to_device(np.ascontiguousarray(host))

    def out(self, result):
        """``result`` on the device if any input was there, else copied to the host."""
        return result if self.on_device else result.copy_to_host()


def _require_c_contiguous(arr: np.ndarray, name: str) -> None:
    if not arr.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous for the cuda backend; got shape {arr.shape} with strides "
            f"{arr.strides}. Pass numpy.ascontiguousarray({name}) (verify never copies silently)."
        )


def _check_device_float(arr, name: str, *, ndim, dtype) -> None:
    if np.dtype(arr.dtype) not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64; got {_describe_device(arr)}")
    if dtype is not None and np.dtype(arr.dtype) != np.dtype(dtype):
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}; got {_describe_device(arr)}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(f"{name} must have ndim in {allowed}; got shape {tuple(arr.shape)}")


def _check_shape(arr, name: str, shape: tuple[int, ...] | None, what: str) -> None:
    if shape is not None and tuple(arr.shape) != tuple(shape):
        described = f"{name} ({what})" if what else name
        raise ValueError(f"{described} must have shape {tuple(shape)}; got {tuple(arr.shape)}")


def _check_device_contiguous(arr, name: str) -> None:
    if not arr.is_c_contiguous():
        raise ValueError(
            f"{name} must be C-contiguous for the cuda backend; got {_describe_device(arr)} with strides "
            f"{tuple(arr.strides)}. Make a contiguous copy yourself (verify never copies silently)."
        )


def _scan_parts(n: int) -> int:
    # one thread per part: few on the simulator (each thread is a Python thread), many on a GPU
    return max(1, min(n, 32 if simulator_enabled() else 4096))


def scan(arr, rule: int, bound: int = 0) -> tuple[int, int]:
    """``(count, first flat index)`` of the entries of a device array breaking ``rule`` of
    :mod:`verify.kernels._finite`, by the scan the host arrays get (its CUDA variant); one small copy back."""
    from verify.kernels import _finite

    flat = arr.reshape(arr.size)
    partial = cuda.to_device(_finite.scan_parts(flat.shape[0], _scan_parts(flat.shape[0])))
    launch(_finite.SCAN_VALUES, partial.shape[0], flat, partial, rule, bound)
    return _finite.combine(partial.copy_to_host())


def scan_rows(arr, tol: float) -> tuple[int, int]:
    """``(count, first row)`` of the rows of a device (N, K) array whose sum is farther than ``tol`` from 1."""
    from verify.kernels import _finite

    partial = cuda.to_device(_finite.scan_parts(arr.shape[0], _scan_parts(arr.shape[0])))
    launch(_finite.SCAN_ROW_SUMS, partial.shape[0], arr, partial, float(tol))
    return _finite.combine(partial.copy_to_host())


def launch(compiled, threads: int, *args) -> None:
    """Run the CUDA variant of a kernel written once with ``threads`` threads (one per element, row or part)."""
    blocks, per_block = elementwise_grid(threads)
    compiled.cuda[blocks, per_block](*args)


def first_nonfinite(arr) -> tuple[int, tuple[int, ...], float] | None:
    """``(count, index, value)`` of the first NaN/inf entry of a device array (one scan), else None."""
    from verify.kernels._finite import NONFINITE

    count, first = scan(arr, NONFINITE)
    if not count:
        return None
    index = tuple(int(i) for i in np.unravel_index(first, tuple(arr.shape)))
    return count, index, arr.reshape(arr.size)[first : first + 1].copy_to_host()[0]


def _require_device_finite(arr, name: str) -> None:
    found = first_nonfinite(arr)
    if found:
        count, index, value = found
        where = ", ".join(map(str, index))
        raise ValueError(
            f"{name} must be finite; {name}[{where}] = {value.item()!r} "
            f"({count} non-finite entr{'y' if count == 1 else 'ies'})"
        )


def _require_device_labels(arr, name: str, n_classes: int) -> None:
    from verify.kernels._finite import OUTSIDE_RANGE

    count, first = scan(arr, OUTSIDE_RANGE, n_classes)
    if count:
        value = arr[first : first + 1].copy_to_host()[0]
        raise ValueError(f"{name} must lie in [0, {n_classes}); {name}[{first}] = {int(value)}")


# --------------------------------------------------------------------------------------------------
# Launch configurations


def elementwise_grid(n: int) -> tuple[int, int]:
    """``(blocks, threads)`` covering ``n`` elements with blocks of at most :data:`BLOCK` threads."""
    threads = BLOCK if n >= BLOCK else max(32, _next_pow2(n))
    return max(1, math.ceil(n / threads)), threads


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


# --------------------------------------------------------------------------------------------------
# A deterministic device-wide sum (tree reduction in shared memory, then again over the partial sums)


@register(*float_signatures("void({f}[::1], float64[::1], float64)"))
def _block_sums(x, partial, divisor):
    buf = cuda.shared.array(BLOCK, dtype=np.float64)
    tx = cuda.threadIdx.x
    i = cuda.blockIdx.x * cuda.blockDim.x + tx
    acc = 0.0
    stride = cuda.gridsize(1)
    while i < x.size:
        acc += np.float64(x[i]) / divisor
        i += stride
    buf[tx] = acc
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if tx < s:
            buf[tx] += buf[tx + s]
        cuda.syncthreads()
        s //= 2
    if tx == 0:
        partial[cuda.blockIdx.x] = buf[0]


def device_sum(values, divisor: float = 1.0) -> float:
    """``Σ_i values_i / divisor`` of a 1-D device array as a Python float, accumulated in float64 in a fixed order.

    Deterministic (no atomics): blocks reduce in shared memory, then the block sums are reduced again,
    and one float is copied back to the host. Each term is divided before it is added (``divisor``: a
    mean whose sum would overflow).
    """
    current = values
    while True:
        blocks, threads = elementwise_grid(current.size)
        blocks = min(blocks, BLOCK)  # grid-stride: at most BLOCK partial sums per pass
        partial = cuda.device_array(blocks, dtype=np.float64)
        _block_sums[blocks, threads](current, partial, float(divisor))
        divisor = 1.0
        if blocks == 1:
            return float(partial.copy_to_host()[0])
        current = partial


# --------------------------------------------------------------------------------------------------
# Matrix products (the CPU backends call BLAS)

TILE = 4 if simulator_enabled() else 16
"""Side of the square tiles of :func:`gemm`: 16 on a GPU (256 threads a block); 4 on Numba's simulator, where
every thread is a Python thread and a 256-thread barrier costs ~10 ms, so small test matrices would pay
mostly for padding."""


@cuda.jit(device=True)
def _stage(tile, x, transposed, p0, q0, tx, ty, n_p, n_q):
    """tile[p, q] = op(x)[p0 + p, q0 + q] (0 outside op(x), which is n_p × n_q); op(x) = xᵀ when ``transposed``.
    The thread index that varies fastest (tx) walks a contiguous row of the stored x: coalesced loads."""
    if transposed == 1:
        p, q = tx, ty
    else:
        p, q = ty, tx
    inside = p0 + p < n_p and q0 + q < n_q
    if transposed == 1:
        tile[p, q] = x[q0 + q, p0 + p] if inside else 0.0
    else:
        tile[p, q] = x[p0 + p, q0 + q] if inside else 0.0


@register(*float_signatures("void({f}[:, ::1], {f}[:, ::1], {f}[:, ::1], int64, int64, int64)"))
def _gemm_kernel(a, b, c, ta, tb, accumulate):
    """c = op(a)·op(b) (+ c when accumulate == 1); op(x) = xᵀ where its flag is 1."""
    sa = cuda.shared.array((TILE, TILE), dtype=np.float64)
    sb = cuda.shared.array((TILE, TILE), dtype=np.float64)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    row0 = cuda.blockIdx.y * TILE
    col0 = cuda.blockIdx.x * TILE
    m = c.shape[0]
    n = c.shape[1]
    inner = a.shape[0] if ta == 1 else a.shape[1]
    acc = 0.0
    for t0 in range(0, inner, TILE):
        _stage(sa, a, ta, row0, t0, tx, ty, m, inner)  # op(a)[row0:row0+TILE, t0:t0+TILE]
        _stage(sb, b, tb, t0, col0, tx, ty, inner, n)  # op(b)[t0:t0+TILE, col0:col0+TILE]
        cuda.syncthreads()
        for kk in range(TILE):
            acc += sa[ty, kk] * sb[kk, tx]
        cuda.syncthreads()
    row = row0 + ty
    col = col0 + tx
    if row < m and col < n:
        if accumulate == 1:
            acc += c[row, col]
        c[row, col] = acc


def gemm(a, b, ta: bool = False, tb: bool = False, add=None):
    """``op(a) @ op(b) [+ add]`` of device arrays by a tiled shared-memory kernel (float64 accumulation, one
    rounding); op(x) = xᵀ where its flag is set."""
    m = a.shape[1] if ta else a.shape[0]
    n = b.shape[0] if tb else b.shape[1]
    out = cuda.device_array((m, n), dtype=a.dtype)
    if add is not None:
        out.copy_to_device(add)
    grid = ((n + TILE - 1) // TILE, (m + TILE - 1) // TILE)
    if m and n:
        _gemm_kernel[grid, (TILE, TILE)](a, b, out, int(ta), int(tb), int(add is not None))
    return out


# --------------------------------------------------------------------------------------------------
# The array backend of the drivers


class DeviceArrays:
    """The ``"cuda"`` array backend (see the module docstring); the methods of ``catalogue.HostArrays``.

    Host arguments stay host arrays while they are checked (by the host scans) and go to the device once,
    when a kernel or a product first needs them; results are device arrays when any argument was one, else
    copied back once.
    """

    backend = "cuda"

    def __init__(self) -> None:
        from verify.kernels.catalogue import HostArrays

        self.on_device = False
        self._host = HostArrays("cpu")  # host arguments are checked as on the CPU backends
        self._uploaded: dict[int, tuple[np.ndarray, object]] = {}

    # ------------------------------------------------------------------ arguments in
    def is_device(self, value: object) -> bool:
        return is_device_array(value)

    def floats(self, value: object, name: str, *, ndim=None, dtype=None):
        if not is_device_array(value):
            return self._host.floats(value, name, ndim=ndim, dtype=dtype)
        arr = self._in_place(value, name)
        _check_device_float(arr, name, ndim=ndim, dtype=dtype)
        return arr

    def numbers(self, value: object, name: str):
        return self._in_place(value, name) if is_device_array(value) else self._host.numbers(value, name)

    def _in_place(self, value, name: str):
        """A device argument, used where it is (so it must be contiguous: it is never copied)."""
        self.on_device = True
        arr = _as_device_view(value)
        _check_device_contiguous(arr, name)
        return arr

    def scan(self, arr, rule: int, bound: int = 0) -> tuple[int, int]:
        if isinstance(arr, np.ndarray):
            from verify.kernels._finite import first_bad

            return first_bad(arr, rule, bound)
        return scan(arr, rule, bound)

    def scan_rows(self, arr, tol: float) -> tuple[int, int]:
        if isinstance(arr, np.ndarray):
            from verify.kernels._finite import first_bad_row

            return first_bad_row(arr, tol)
        return scan_rows(arr, tol)

    def entry(self, arr, index: int):
        flat = arr.reshape(arr.size)
        return (flat[index] if isinstance(arr, np.ndarray) else flat[index : index + 1].copy_to_host()[0]).item()

    def row_sum(self, arr, r: int) -> float:
        row = arr[r] if isinstance(arr, np.ndarray) else arr[r : r + 1].copy_to_host()[0]
        total = 0.0
        for v in np.asarray(row, dtype=np.float64).tolist():
            total += v
        return total

    def signs(self, arr, zero_one: bool):
        if isinstance(arr, np.ndarray):
            signs = arr.astype(np.float64)
            return 2.0 * signs - 1.0 if zero_one else signs
        if np.dtype(arr.dtype) not in (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)):
            raise TypeError(f"target must be float or int64 labels on the device; got dtype {arr.dtype}")
        from verify.kernels.catalogue import SIGNS

        out = cuda.device_array(arr.shape[0], dtype=np.float64)
        launch(SIGNS, arr.shape[0], out, arr, bool(zero_one))
        return out

    def int64(self, arr):
        if isinstance(arr, np.ndarray):
            return arr.astype(np.int64, copy=False)
        if np.dtype(arr.dtype) != np.int64:
            raise TypeError(f"target must be int64 class indices on the device; got {_describe_device(arr)}")
        return arr

    # ------------------------------------------------------------------ computing
    def device(self, arr):
        """``arr`` on the device: a host array is copied once (and the copy reused)."""
        if not isinstance(arr, np.ndarray):
            return arr
        key = id(arr)
        if key not in self._uploaded:
            self._uploaded[key] = (arr, cuda.to_device(np.ascontiguousarray(arr)))
        return self._uploaded[key][1]

    def empty(self, shape, dtype):
        return cuda.device_array(shape, dtype=dtype)

    def run(self, compiled, rows: int, *args, threaded: bool = True) -> None:
        launch(compiled, rows, *(self.device(a) if isinstance(a, np.ndarray) else a for a in args))

    def matmul(self, a, b, *, ta: bool = False, tb: bool = False, add=None):
        return gemm(self.device(a), self.device(b), ta, tb, None if add is None else self.device(add))

    def total(self, values, divisor: float = 1.0) -> float:
        return device_sum(self.device(values), divisor)

    def all_finite(self, values) -> bool:
        from verify.kernels._finite import NONFINITE

        return self.scan(values, NONFINITE)[0] == 0

    def cast(self, values, dtype):
        values = self.device(values)
        if np.dtype(values.dtype) == np.dtype(dtype):
            return values
        from verify.kernels.catalogue import CAST

        out = cuda.device_array(values.shape, dtype=dtype)
        launch(CAST, values.shape[0], out, values)
        return out

    # ------------------------------------------------------------------ results out
    def result(self, arr):
        if self.on_device:
            return self.device(arr)
        return arr if isinstance(arr, np.ndarray) else arr.copy_to_host()


def on_cuda(function: Callable) -> Callable:
    """``function`` (a public kernel of :mod:`verify.kernels`) with ``backend="cuda"``: the same signature
    without ``backend``."""

    @functools.wraps(function)
    def on_the_device(*args, **kwargs):
        if "backend" in kwargs:
            raise TypeError(f"{function.__name__}() of verify.kernels.cuda takes no backend argument")
        return function(*args, backend="cuda", **kwargs)

    signature = inspect.signature(function)
    on_the_device.__signature__ = signature.replace(
        parameters=[p for p in signature.parameters.values() if p.name != "backend"])
    return on_the_device
