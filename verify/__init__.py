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

#: The public names, each group under the module it is imported from (on first use: see ``__getattr__``).
_EXPORTED_FROM: dict[str, tuple[str, ...]] = {
    # the checkers (the contract other projects rely on)
    "verify.checks": ("CheckFailure", "check_gradient", "check_vjp", "check_jvp", "check_hessian", "check_loss",
                      "check_optimizer", "GradientReport", "VJPReport", "JVPReport", "HessianReport", "LossReport",
                      "OptimizerReport"),
    "verify.kernels._backend": ("BACKENDS", "get_default_backend", "set_default_backend", "use_backend"),
    "verify.claims.registry": ("Claim", "ClaimRecord", "Context", "Outcome", "all_claims", "get_claim", "run_claim"),
}
_EXPORTS: dict[str, str] = {name: module for module, names in _EXPORTED_FROM.items() for name in names}

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
