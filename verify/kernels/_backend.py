"""One way to select a backend everywhere: the ``backend=`` keyword of every kernel.

``backend`` is one of :data:`BACKENDS`; ``None`` means the process default, which is
``"parallel"`` unless changed with :func:`set_default_backend` or the :func:`use_backend` context
manager (or the ``VERIFY_BACKEND`` environment variable at import).

- ``"numpy"``: vectorised NumPy, the readable reference and the baseline of every benchmark;
- ``"cpu"``: ``@njit`` serial loops;
- ``"parallel"``: the ``cpu`` backend's compiled loops, cut into chunks of rows / parameters that run on all
  threads (:mod:`verify.kernels._threads`): the same machine code, so the same results;
- ``"cuda"``: ``numba.cuda`` kernels (on Numba's simulator when ``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
from collections.abc import Callable, Iterator, Mapping

__all__ = [
    "BACKENDS",
    "CPU_BACKENDS",
    "resolve_backend",
    "get_default_backend",
    "set_default_backend",
    "use_backend",
    "dispatch",
    "cuda_route",
]

BACKENDS: tuple[str, ...] = ("numpy", "cpu", "parallel", "cuda")
CPU_BACKENDS: tuple[str, ...] = ("numpy", "cpu", "parallel")


def _check_name(backend: object) -> str:
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, one of {BACKENDS}; got {backend!r} ({type(backend).__name__})")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    return backend


_default = _check_name(os.environ.get("VERIFY_BACKEND", "parallel"))


def get_default_backend() -> str:
    """The backend used when a kernel is called with ``backend=None``."""
    return _default


def set_default_backend(backend: str) -> str:
    """Set the process-wide default backend; returns the previous one."""
    global _default
    previous, _default = _default, _check_name(backend)
    return previous


@contextlib.contextmanager
def use_backend(backend: str) -> Iterator[str]:
    """Context manager: ``with use_backend("cpu"): ...`` runs kernels on ``"cpu"`` by default."""
    previous = set_default_backend(backend)
    try:
        yield backend
    finally:
        set_default_backend(previous)


def resolve_backend(backend: str | None) -> str:
    """Validate ``backend`` (``None`` → the default) and return its name."""
    return get_default_backend() if backend is None else _check_name(backend)


def dispatch(implementations: Mapping[str, Callable], backend: str | None, kernel: str) -> Callable:
    """The implementation of ``kernel`` for ``backend``; a clear error if that backend lacks it."""
    name = resolve_backend(backend)
    try:
        return implementations[name]
    except KeyError:
        have = tuple(implementations)
        raise NotImplementedError(f"{kernel} has no {name!r} backend (available: {have})") from None


def cuda_route(module: str) -> Callable[[Callable], Callable]:
    """Decorator: a call that resolves to ``backend="cuda"`` goes to ``verify.kernels.cuda.<module>``.

    The CUDA function of the same name takes the same arguments minus ``backend``; it is imported on
    first use, so importing a CPU kernel module never imports ``numba.cuda``.
    """

    def wrap(func: Callable) -> Callable:
        @functools.wraps(func)
        def routed(*args, backend: str | None = None, **kwargs):
            if resolve_backend(backend) == "cuda":
                cuda_module = importlib.import_module(f"verify.kernels.cuda.{module}")
                return getattr(cuda_module, func.__name__)(*args, **kwargs)
            return func(*args, backend=backend, **kwargs)

        return routed

    return wrap
