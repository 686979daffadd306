"""SymPy definitions of the activations and of the softmax family, with high-precision references.

Every activation of :data:`verify.kernels.activations.RECORDS` carries its ``definition`` as written in the
source, its ``derivative`` obtained by ``sympy.diff``, and the equal forms used for evaluation (``stable_*``:
the same function, written so that mpmath never absorbs a tiny term — e.g. ``tanh' = 1 − tanh² = sech²``).
Tests check that the stable forms equal the definitions. The name and source come from the record; only
the SymPy forms are written here (:data:`FORMS`), and importing this module checks that every record has them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import log1p

from verify.kernels.activations import RECORDS
from verify.symbolic.highprec import Compiled

__all__ = [
    "X",
    "SymbolicActivation",
    "SYMBOLIC_ACTIVATIONS",
    "FORMS",
    "softmax_definition",
    "softmax_reference",
    "log_softmax_reference",
    "logsumexp_reference",
    "logit_symbols",
]

X = sp.Symbol("x", real=True)


@dataclass(frozen=True)
class SymbolicActivation:
    """An activation ``a(x)``: definition, derivative by ``sympy.diff`` and their evaluation forms."""

    name: str
    definition: sp.Expr
    stable_definition: sp.Expr
    stable_derivative: sp.Expr
    source: str
    derivative: sp.Expr = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "derivative", sp.diff(self.definition, X))

    @functools.cached_property
    def _compiled(self) -> Compiled:
        return Compiled([X], [self.stable_definition, self.stable_derivative])

    def reference(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(a(x), a'(x))`` elementwise, correctly rounded float64 arrays shaped like ``x``."""
        arr = np.asarray(x, dtype=np.float64)
        values = np.empty(arr.shape)
        derivatives = np.empty(arr.shape)
        for index in np.ndindex(arr.shape):
            (values[index], derivatives[index]), _ = self._compiled.evaluate([arr[index]])
        return values, derivatives


_RELU = sp.Piecewise((X, X > 0), (0, True))  # diff → Piecewise((1, x > 0), (0, True)): ReLU'(0) = 0

FORMS: dict[str, tuple[sp.Expr, sp.Expr, sp.Expr]] = {
    # name: (definition as written, stable definition, stable derivative)
    "identity": (X, X, sp.Integer(1)),
    "sigmoid": (1 / (1 + sp.exp(-X)), 1 / (1 + sp.exp(-X)), sp.exp(-X) / (1 + sp.exp(-X)) ** 2),
    "tanh": (sp.tanh(X), sp.tanh(X), sp.sech(X) ** 2),
    "relu": (sp.Max(X, 0), _RELU, sp.Piecewise((1, X > 0), (0, True))),
}
"""The SymPy forms of every activation record (the builders: all that is written here per activation)."""

if set(FORMS) != set(RECORDS):
    raise ImportError(f"the activation records {sorted(RECORDS)} and their SymPy forms {sorted(FORMS)} disagree")

SYMBOLIC_ACTIVATIONS: dict[str, SymbolicActivation] = {
    name: SymbolicActivation(name, *FORMS[name], record.source) for name, record in RECORDS.items()
}


def logit_symbols(k: int) -> tuple[sp.Symbol, ...]:
    return sp.symbols(f"z0:{k}", real=True)


def softmax_definition(k: int) -> list[sp.Expr]:
    """``σ(z)_i = exp(z_i) / Σ_j exp(z_j)`` as written (002_1388b78ad9a2d202.txt, 'Loss Functions')."""
    z = logit_symbols(k)
    total = sum(sp.exp(zj) for zj in z)
    return [sp.exp(zi) / total for zi in z]


def _others(z: tuple[sp.Symbol, ...], i: int) -> sp.Expr:
    """Σ_{j≠i} exp(z_j − z_i): with it, Σ_j exp(z_j) = exp(z_i)(1 + _others)."""
    return sum((sp.exp(zj - z[i]) for j, zj in enumerate(z) if j != i), sp.Integer(0))


@functools.cache
def _compiled_softmax(k: int) -> Compiled:
    z = logit_symbols(k)
    return Compiled(z, [1 / (1 + _others(z, i)) for i in range(k)])


@functools.cache
def _compiled_log_softmax(k: int) -> Compiled:
    z = logit_symbols(k)
    return Compiled(z, [-log1p(_others(z, i)) for i in range(k)])


@functools.cache
def _compiled_logsumexp(k: int, m: int) -> Compiled:
    z = logit_symbols(k)
    return Compiled(z, [z[m] + log1p(_others(z, m))])


def _rows(z: np.ndarray, compiled: Callable[[np.ndarray], Compiled], width: int) -> np.ndarray:
    arr = np.asarray(z, dtype=np.float64)
    out = np.empty((arr.shape[0], width))
    for i, row in enumerate(arr):
        out[i], _ = compiled(row).evaluate(row)
    return out


def softmax_reference(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``z`` (N, K), correctly rounded float64."""
    return _rows(z, lambda row: _compiled_softmax(row.size), np.shape(z)[1])


def log_softmax_reference(z: np.ndarray) -> np.ndarray:
    """Row-wise ``log σ(z)_i = −log1p(Σ_{j≠i} exp(z_j − z_i))``, correctly rounded float64."""
    return _rows(z, lambda row: _compiled_log_softmax(row.size), np.shape(z)[1])


def logsumexp_reference(z: np.ndarray) -> np.ndarray:
    """Row-wise ``log Σ_j exp(z_j) = z_m + log1p(Σ_{j≠m} exp(z_j − z_m))`` (m the argmax), shape (N,)."""
    return _rows(z, lambda row: _compiled_logsumexp(row.size, int(np.argmax(row))), 1)[:, 0]
