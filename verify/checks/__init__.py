"""What users import: ``check_gradient``, ``check_vjp``, ``check_jvp``, ``check_hessian``, ``check_loss``,
``check_optimizer`` and ``CheckFailure``.

All checkers raise :class:`CheckFailure` (an ``AssertionError``) on a wrong implementation and
return a report object on success.
"""

from __future__ import annotations

import importlib
from typing import Any

from verify.checks.failure import CheckFailure

_LAZY = {
    "check_gradient": "verify.checks.gradient",
    "GradientReport": "verify.checks.gradient",
    "check_vjp": "verify.checks.vjp",
    "VJPReport": "verify.checks.vjp",
    "check_jvp": "verify.checks.vjp",
    "JVPReport": "verify.checks.vjp",
    "check_hessian": "verify.checks.hessian",
    "HessianReport": "verify.checks.hessian",
    "check_loss": "verify.checks.loss",
    "LossReport": "verify.checks.loss",
    "check_optimizer": "verify.checks.optimizer",
    "OptimizerReport": "verify.checks.optimizer",
}

__all__ = ["CheckFailure", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'verify.checks' has no attribute {name!r}")
