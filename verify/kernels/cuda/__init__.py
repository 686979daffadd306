"""The ``"cuda"`` backend: :mod:`verify.kernels`' functions (activations, losses, network, optimizers) on
``numba.cuda``, one module per concern, each function with the CPU function's signature minus ``backend``.
The activations, losses and network passes are not written again here: their row functions are compiled
for CUDA by :mod:`verify.kernels._compile` and run by the same drivers on ``_device.DeviceArrays``.

Importing this package does not import ``numba.cuda``; its modules do, on first use. Without a GPU the
kernels run on Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1`` set before Numba is first imported).
:func:`compile_all_ptx` compiles every kernel for a real GPU (needs NVVM/NVRTC, not a GPU).
"""

from __future__ import annotations

import importlib

__all__ = ["MODULES", "compile_all_ptx", "load"]

MODULES = ("activations", "losses", "network", "optimizers")


def load(module: str):
    """Import and return ``verify.kernels.cuda.<module>`` (one of :data:`MODULES`)."""
    if module not in MODULES:
        raise ValueError(f"module must be one of {MODULES}; got {module!r}")
    return importlib.import_module(f"verify.kernels.cuda.{module}")


def compile_all_ptx(cc: tuple[int, int] = (8, 0)) -> dict[str, list[str]]:
    """Every registered CUDA kernel compiled to PTX (see :func:`verify.kernels.cuda._device.compile_all_ptx`)."""
    from verify.kernels.cuda._device import compile_all_ptx as compile_ptx

    return compile_ptx(cc)
