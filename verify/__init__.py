"""verify: prove deep-learning math right or wrong.

Fast Numba kernels (NumPy, CPU serial, CPU parallel, CUDA) for losses, backpropagation and
optimizers, checked against exact SymPy derivations and against the claims of deep-learning theory,
with Hypothesis searching for counterexamples.

The public API is re-exported here and imported lazily, so ``import verify`` compiles nothing:

>>> import verify
>>> verify.check_gradient(f, grad, (x,))          # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # the checkers (the contract other projects rely on)
    "CheckFailure": "verify.checks",
    "check_gradient": "verify.checks",
    "check_vjp": "verify.checks",
    "check_jvp": "verify.checks",
    "check_hessian": "verify.checks",
    "check_loss": "verify.checks",
    "check_optimizer": "verify.checks",
    "GradientReport": "verify.checks",
    "VJPReport": "verify.checks",
    "JVPReport": "verify.checks",
    "HessianReport": "verify.checks",
    "LossReport": "verify.checks",
    "OptimizerReport": "verify.checks",
    # backends
    "BACKENDS": "verify.kernels._backend",
    "get_default_backend": "verify.kernels._backend",
    "set_default_backend": "verify.kernels._backend",
    "use_backend": "verify.kernels._backend",
    # claims
    "Claim": "verify.claims.registry",
    "ClaimRecord": "verify.claims.registry",
    "Context": "verify.claims.registry",
    "Outcome": "verify.claims.registry",
    "all_claims": "verify.claims.registry",
    "get_claim": "verify.claims.registry",
    "run_claim": "verify.claims.registry",
}

_SUBMODULES = ("kernels", "symbolic", "strategies", "checks", "stats", "sweep", "claims", "report", "bench")

# The framework adapters: ``verify.torch.check_function`` … imports torch only when used. Not in __all__:
# ``from verify import *`` must neither import the frameworks nor shadow a user's own ``torch``/``jax``.
_ADAPTERS = ("torch", "jax")

__all__ = ["__version__", *_EXPORTS, *_SUBMODULES]


def _lazy_export(namespace: dict[str, Any], exports: dict[str, str], name: str) -> Any:
    """``name`` from the module ``exports[name]``, stored in the package's ``namespace`` (imported once)."""
    value = getattr(importlib.import_module(exports[name]), name)
    namespace[name] = value
    return value


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return _lazy_export(globals(), _EXPORTS, name)
    if name in _SUBMODULES or name in _ADAPTERS:
        module = importlib.import_module(f"verify.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'verify' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, *_ADAPTERS])
