"""Host/device array handling shared by every CUDA kernel of ``verify``.

Rules (the same for every public function of :mod:`verify.kernels.cuda`):

- **Both kinds of input.** A host ``numpy.ndarray`` is validated on the host and copied to the device
  once; a device array (a Numba device array, or on a real GPU anything exposing
  ``__cuda_array_interface__``, wrapped without a copy) is used in place.
- **Where results live.** If any array argument was a device array, results are returned as device
  arrays; otherwise they are copied back to the host once, at the end. Reduced scalars (a ``"mean"``
  loss) are always Python floats. Nothing is copied back and forth inside a loop.
- **Bad input.** Wrong dtype → ``TypeError``; wrong number of dimensions, non-contiguous layout or
  NaN/inf → ``ValueError``; each message names the argument and the offending value. Non-contiguous
  arrays are refused rather than silently copied: call ``numpy.ascontiguousarray`` yourself. NaN/inf in
  a device array are found by a device-side scan (one small copy of a counter back to the host).
- **Launch sizes.** Blocks of :data:`BLOCK` threads for element-wise kernels; row-wise kernels put
  ``threads_per_row`` threads on each row (a power of two ≥ K, at most :data:`BLOCK`) and several rows
  in one block, reducing through shared memory (no warp shuffles, so Numba's CUDA simulator runs them).

Every kernel is registered with its signatures (:func:`register`) so that :func:`compile_all_ptx` can
compile each one for a real GPU, which catches the typing errors the simulator never sees.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numba import config, cuda

from verify._validate import FLOAT_DTYPES

__all__ = [
    "BLOCK",
    "KernelSpec",
    "KERNELS",
    "register",
    "float_signatures",
    "simulator_enabled",
    "is_device_array",
    "DeviceArgs",
    "elementwise_grid",
    "row_layout",
    "device_sum",
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


@register(*float_signatures("void({f}[::1], int64[::1])"))
def _scan_nonfinite(x, found):
    # found[0]: number of NaN/inf entries; found[1]: the smallest such index (starts at x.size).
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < x.size:
        v = x[i]
        if not math.isfinite(v):
            cuda.atomic.add(found, 0, 1)
            cuda.atomic.min(found, 1, i)
        i += stride


@register("void(int64[::1], int64, int64[::1])")
def _scan_bad_labels(labels, n_classes, found):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < labels.size:
        v = labels[i]
        if v < 0 or v >= n_classes:
            cuda.atomic.add(found, 0, 1)
            cuda.atomic.min(found, 1, i)
        i += stride


def _scan(kernel, flat, *extra) -> tuple[int, int]:
    found = cuda.to_device(np.array([0, flat.size], dtype=np.int64))
    blocks, threads = elementwise_grid(flat.size)
    kernel[blocks, threads](flat, *extra, found)
    count, first = found.copy_to_host()
    return int(count), int(first)


def first_nonfinite(arr) -> tuple[int, tuple[int, ...], float] | None:
    """``(count, index, value)`` of the first NaN/inf entry of a device array (one scan), else None."""
    flat = arr.reshape(arr.size)
    count, first = _scan(_scan_nonfinite, flat)
    if not count:
        return None
    index = tuple(int(i) for i in np.unravel_index(first, tuple(arr.shape)))
    return count, index, flat[first : first + 1].copy_to_host()[0]


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
    count, first = _scan(_scan_bad_labels, arr, n_classes)
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


def row_layout(n_rows: int, n_cols: int) -> tuple[int, tuple[int, int], int]:
    """``(blocks, (threads_per_row, rows_per_block), rows_per_block)`` for a row-wise reduction.

    ``threads_per_row`` is the smallest power of two ≥ ``n_cols`` (at most :data:`BLOCK`); each block
    holds ``BLOCK // threads_per_row`` rows, so a block is always :data:`BLOCK` threads and the shared
    buffer of a row is the slice ``[ty * threads_per_row, (ty + 1) * threads_per_row)``.
    """
    tpr = min(BLOCK, _next_pow2(max(1, n_cols)))
    rows = BLOCK // tpr
    if n_rows < rows:  # small batches: do not launch idle rows (they still pay for every barrier)
        rows = _next_pow2(max(1, n_rows))
    return max(1, math.ceil(n_rows / rows)), (tpr, rows), rows


# --------------------------------------------------------------------------------------------------
# A deterministic device-wide sum (tree reduction in shared memory, then again over the partial sums)


@register(*float_signatures("void({f}[::1], float64[::1])"))
def _block_sums(x, partial):
    buf = cuda.shared.array(BLOCK, dtype=np.float64)
    tx = cuda.threadIdx.x
    i = cuda.blockIdx.x * cuda.blockDim.x + tx
    acc = 0.0
    stride = cuda.gridsize(1)
    while i < x.size:
        acc += np.float64(x[i])
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


def device_sum(values) -> float:
    """The sum of a 1-D device array as a Python float, accumulated in float64 in a fixed order.

    Deterministic (no atomics): blocks reduce in shared memory, then the block sums are reduced again,
    and one float is copied back to the host.
    """
    current = values
    while True:
        blocks, threads = elementwise_grid(current.size)
        blocks = min(blocks, BLOCK)  # grid-stride: at most BLOCK partial sums per pass
        partial = cuda.device_array(blocks, dtype=np.float64)
        _block_sums[blocks, threads](current, partial)
        if blocks == 1:
            return float(partial.copy_to_host()[0])
        current = partial
