"""Numba implementations of losses, activations, networks and optimizers, one module per concern.

Every kernel takes ``backend=`` (see :mod:`verify.kernels._backend`). Nothing here imports from
``verify.checks``, ``verify.claims`` or ``verify.report``.
"""

from verify.kernels._backend import (
    BACKENDS,
    CPU_BACKENDS,
    get_default_backend,
    resolve_backend,
    set_default_backend,
    use_backend,
)

__all__ = [
    "BACKENDS",
    "CPU_BACKENDS",
    "get_default_backend",
    "resolve_backend",
    "set_default_backend",
    "use_backend",
]
