"""The exact reference of every kernel: SymPy expressions, ``sympy.diff`` derivatives, mpmath values.

API (all names in ``__all__``):

- ``SYMBOLIC_LOSSES[name]`` — a :class:`SymbolicLoss` for every record of
  :data:`verify.kernels.losses.RECORDS` (same names, arguments and options as the kernel):

  - ``.formula`` (text), ``.source`` (seed file and slide), ``.arguments`` / ``.argument_descriptions``,
    ``.wrt`` (which argument the gradient is taken with respect to), ``.target_kinds``;
  - ``.forms(k, key)`` → :class:`Forms` (``symbols``, ``definition`` as written in the source,
    ``value`` the evaluation form — the same function written without absorption — and ``grads`` by
    ``sympy.diff``); ``.definition(k, key)``;
  - ``.reference(*args, reduction="none"|"mean"|"sum", labels="zero_one")`` → ``(value, grad)``
    shaped exactly like the kernel's output, correctly rounded float64;
  - ``.reference_and_magnitudes(*args, reduction=...)`` → ``(value, grad, value_magnitude,
    grad_magnitude)``: the magnitudes that set the tolerance (see ``tolerance``).

- ``SYMBOLIC_ACTIVATIONS[name]`` — :class:`SymbolicActivation` (``definition``, ``derivative`` by
  ``sympy.diff``, ``stable_definition``/``stable_derivative``, ``source``,
  ``.reference(x)`` → ``(a(x), a'(x))``); ``softmax_reference(z)``, ``log_softmax_reference(z)``,
  ``logsumexp_reference(z)`` for ``(N, K)`` logits; ``softmax_definition(k)``.
- High precision: ``Compiled`` (lambdify once, evaluate at increasing mpmath precision until two agree),
  ``to_float64`` / ``mp_to_float64`` (correct rounding, subnormals included), ``PRECISIONS``,
  ``HighPrecisionError``.
- Tolerances: ``allowed_error(magnitude, dtype, terms)``, ``row_terms(k, n, reduction)``, ``ULPS_BASE``.
  The comparison that judges and raises ``verify.CheckFailure`` is ``verify.checks.compare.compare``
  (checks import the references, never the other way round).

Example::

    from verify.checks.compare import compare
    from verify.symbolic import SYMBOLIC_LOSSES, row_terms
    ref = SYMBOLIC_LOSSES["softmax_cross_entropy"]
    value, grad, vmag, gmag = ref.reference_and_magnitudes(z, labels_, reduction="mean")
    compare(my_value, value, vmag, dtype=z.dtype, terms=row_terms(z.shape[1], z.shape[0], "mean"))
"""

from verify.symbolic.activations import (
    SYMBOLIC_ACTIVATIONS,
    SymbolicActivation,
    log_softmax_reference,
    logsumexp_reference,
    softmax_definition,
    softmax_reference,
)
from verify.symbolic.highprec import PRECISIONS, Compiled, HighPrecisionError, mp_to_float64, to_float64
from verify.symbolic.losses import SYMBOLIC_LOSSES, Forms, SymbolicLoss
from verify.symbolic.tolerance import ULPS_BASE, allowed_error, row_terms

__all__ = [
    "SYMBOLIC_LOSSES",
    "SymbolicLoss",
    "Forms",
    "SYMBOLIC_ACTIVATIONS",
    "SymbolicActivation",
    "softmax_definition",
    "softmax_reference",
    "log_softmax_reference",
    "logsumexp_reference",
    "Compiled",
    "PRECISIONS",
    "HighPrecisionError",
    "to_float64",
    "mp_to_float64",
    "ULPS_BASE",
    "allowed_error",
    "row_terms",
]
