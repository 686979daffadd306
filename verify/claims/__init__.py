"""Claims: statements of the source material (or of your own notes), each with a computed verdict.

The built-in catalogue has one module per topic, each registering its claims on import
(``TOPIC_MODULES``; :func:`load_all` imports them all, idempotently). Your own claims are written with
the declarative builders — no check to code:

>>> from verify import claims
>>> c = claims.inequality("doc.log_bound", "log(x)", "<=", "x - 1", where={"x": "positive"},
...                       source="Gibbs' inequality, its lemma")
>>> claims.run_claim(c).verdict
'holds'
>>> claims.unregister("doc.log_bound")

and run from a file or module with ``verify claims --claims FILE_OR_MODULE`` (or
:func:`load_claims`); an installed package exposes its claims through the ``verify.claims`` entry-point
group. :mod:`verify.claims.template` is a documented example of a claim module.
"""

from __future__ import annotations

import importlib

from verify.claims.builders import derivative, identity, inequality
from verify.claims.domains import Domain
from verify.claims.loading import ENTRY_POINT_GROUP, LoadFailure, entry_point_claims, load_claims
from verify.claims.registry import (
    KINDS,
    VERDICTS,
    Claim,
    ClaimDefinitionError,
    ClaimRecord,
    Context,
    Correction,
    Outcome,
    Pair,
    all_claims,
    claim,
    get_claim,
    register,
    run_claim,
    unregister,
)

__all__ = [
    "KINDS",
    "VERDICTS",
    "TOPIC_MODULES",
    "TOPIC_TITLES",
    "ENTRY_POINT_GROUP",
    "Claim",
    "ClaimDefinitionError",
    "ClaimRecord",
    "Context",
    "Correction",
    "Domain",
    "LoadFailure",
    "Outcome",
    "Pair",
    "all_claims",
    "claim",
    "derivative",
    "entry_point_claims",
    "get_claim",
    "identity",
    "inequality",
    "load_all",
    "load_claims",
    "register",
    "run_claim",
    "topic_title",
    "unregister",
]

#: Topic modules under ``verify.claims``; add a module here to add its claims to the catalogue.
TOPIC_MODULES: tuple[str, ...] = (
    "information",
    "step_size",
    "momentum",
    "bias_variance",
    "bias_variance_01",
    "sgd",
    "adaptive",
    "losses",
    "backprop",
    "approximation",
    "weight_decay",
    "checkers",
)


#: Headings of the built-in topics, as a person writes them (a report shows ``topic_title(record.topic)``).
TOPIC_TITLES: dict[str, str] = {
    "information": "Entropy, cross-entropy and Gibbs' inequality",
    "step_size": "Step sizes of gradient descent",
    "momentum": "Momentum",
    "bias_variance": "The bias–variance decomposition",
    "sgd": "Stochastic gradient descent",
    "adaptive": "Adaptive learning rates: AdaGrad and Adam",
    "softmax": "Softmax and the sigmoid",
    "losses": "Loss functions",
    "linear": "Linear decision rules",
    "backprop": "The chain rule and backpropagation",
    "approximation": "Universal approximation",
    "weight_decay": "Weight decay: L2 regularisation and decoupled decay",
    "checkers": "verify's checkers beside their peers",
    "template": "The template's example claims",
    "load errors": "Claims files that could not be loaded",
}


def topic_title(topic: str) -> str:
    """The heading of a topic: the built-in topics' titles, any other topic (a user's) as written.

    >>> topic_title("sgd"), topic_title("lecture3")
    ('Stochastic gradient descent', 'lecture3')
    """
    return TOPIC_TITLES.get(topic, topic)


def load_all() -> None:
    for name in TOPIC_MODULES:
        importlib.import_module(f"verify.claims.{name}")
