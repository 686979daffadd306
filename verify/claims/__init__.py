"""The claim catalogue: one module per topic, each registering its claims on import.

``TOPIC_MODULES`` lists them; :func:`load_all` imports them all (idempotent).
"""

from __future__ import annotations

import importlib

from verify.claims.registry import (
    KINDS,
    VERDICTS,
    Claim,
    ClaimRecord,
    Context,
    Outcome,
    all_claims,
    claim,
    get_claim,
    register,
    run_claim,
)

__all__ = [
    "KINDS",
    "VERDICTS",
    "TOPIC_MODULES",
    "Claim",
    "ClaimRecord",
    "Context",
    "Outcome",
    "all_claims",
    "claim",
    "get_claim",
    "load_all",
    "register",
    "run_claim",
]

#: Topic modules under ``verify.claims``; add a module here to add its claims to the catalogue.
TOPIC_MODULES: tuple[str, ...] = (
    "information",
    "step_size",
    "momentum",
    "bias_variance",
    "sgd",
    "adaptive",
    "losses",
    "backprop",
    "approximation",
    "weight_decay",
)


def load_all() -> None:
    for name in TOPIC_MODULES:
        importlib.import_module(f"verify.claims.{name}")
