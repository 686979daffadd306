"""The primitives the corpus' functions are written in, in two namespaces: the math is written once.

Each family of the corpus writes its function once, as ``math(M, x, *rest)`` over a namespace ``M``:

* :data:`NP` evaluates it in floating point with NumPy, the way a careful library author would
  (``logsumexp`` subtracts the maximum, ``softplus`` and ``sigmoid`` branch on the sign so nothing
  overflows). It follows the dtype of its inputs (float32 stays float32, NEP 50) and accepts complex
  input wherever the primitive is analytic, so a checker may use the complex step.
* :data:`SYM` builds the same function as a SymPy expression over object arrays of symbols, in a form
  whose derivative has no catastrophic cancellation (``tanh′`` is written ``sech²``, not
  ``1 − tanh²``; ``σ′ = e^{−a}/(1 + e^{−a})²``), with kinks written as
  ``Piecewise`` so that ``sympy.diff`` differentiates each piece. This is the truth of
  :mod:`verify.checks.corpus.truth`.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

__all__ = ["NP", "SYM", "MPMATH_FUNCTIONS"]

_SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------------------------- NumPy


def _ignore(fn):
    def wrapped(*args, **kwargs):
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            return fn(*args, **kwargs)
    wrapped.__name__ = fn.__name__
    return wrapped


def _real(a):
    return a.real if np.iscomplexobj(a) else a


@_ignore
def _np_sigmoid(a):
    a = np.asarray(a)
    pos = 1 / (1 + np.exp(-a))
    ea = np.exp(a)
    return np.where(_real(a) >= 0, pos, ea / (1 + ea))


@_ignore
def _np_softplus(a):
    a = np.asarray(a)
    return np.where(_real(a) > 0, a + np.log1p(np.exp(-a)), np.log1p(np.exp(a)))


@_ignore
def _np_tanh(a):
    return np.tanh(a)


@_ignore
def _np_logsumexp(a, axis=-1, keepdims=False):
    a = np.asarray(a)
    m = np.max(_real(a), axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


@_ignore
def _np_softmax(a, axis=-1):
    a = np.asarray(a)
    m = np.max(_real(a), axis=axis, keepdims=True)
    e = np.exp(a - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def _np_log_softmax(a, axis=-1):
    return a - _np_logsumexp(a, axis=axis, keepdims=True)


def _np_erfc(a):
    from scipy import special

    return special.erfc(a)


@_ignore
def _np_gelu(a):
    return a * 0.5 * _np_erfc(-a / _SQRT2)


@_ignore
def _np_elu(a, alpha):
    return np.where(_real(np.asarray(a)) > 0, a, alpha * np.expm1(a))


def _np_amax(a, axis=-1):
    return np.max(a, axis=axis)


def _np_relu(a):
    return np.maximum(a, 0)


def _np_leaky_relu(a, alpha):
    return np.where(_real(np.asarray(a)) > 0, a, alpha * a)


@_ignore
def _np_hypot1(a):
    return np.hypot(1, a) if not np.iscomplexobj(a) else np.sqrt(1 + a * a)


def _np_mean(a, axis=None):
    return np.mean(a, axis=axis)


NP = SimpleNamespace(
    name="numpy",
    exp=_ignore(np.exp), log=_ignore(np.log), log1p=_ignore(np.log1p), expm1=_ignore(np.expm1),
    tanh=_np_tanh, sqrt=_ignore(np.sqrt), sin=np.sin, cos=np.cos, atan=np.arctan, erfc=_np_erfc,
    sigmoid=_np_sigmoid, softplus=_np_softplus, log_sigmoid=lambda a: -_np_softplus(-a),
    relu=_np_relu, leaky_relu=_np_leaky_relu, abs=np.abs, maximum=np.maximum, amax=_np_amax,
    clip=lambda a, lo, hi: np.clip(a, lo, hi), logsumexp=_np_logsumexp, softmax=_np_softmax,
    log_softmax=_np_log_softmax, sum=np.sum, mean=_np_mean, floor=np.floor, elu=_np_elu, gelu=_np_gelu,
    hypot1=_np_hypot1, square=np.square,
)


# --------------------------------------------------------------------------------------------- SymPy


def _special_functions():
    """tanh and erfc as SymPy functions that SymPy does not rewrite: its own ``erfc(−a)`` becomes
    ``2 − erfc(a)`` (which cancels to 0 at 40 digits when erfc(a) < 1e-40) and its ``tanh′`` is
    ``1 − tanh²`` (0 at 40 digits beyond |a| ≈ 46). Here ``tanh′ = sech²`` and
    ``erfc′(a) = −2 e^{−a²}/√π``, evaluated by mpmath's own ``tanh`` and ``erfc``."""
    import sympy as sp

    class _Tanh(sp.Function):
        nargs = 1

        def fdiff(self, argindex=1):
            return sp.sech(self.args[0]) ** 2

    class _Erfc(sp.Function):
        nargs = 1

        def fdiff(self, argindex=1):
            return -2 * sp.exp(-self.args[0] ** 2) / sp.sqrt(sp.pi)

    return _Tanh, _Erfc


_Tanh = _Erfc = None

# what lambdify must call for them (module "mpmath")
MPMATH_FUNCTIONS = {"_Tanh": "tanh", "_Erfc": "erfc"}


def _sym():
    global _Tanh, _Erfc
    import sympy as sp

    _Tanh, _Erfc = _special_functions()

    def elementwise(fn):
        ufunc = np.frompyfunc(fn, 1, 1)

        def apply(a):
            out = ufunc(a)
            return out
        return apply

    def pw(*pairs):
        return sp.Piecewise(*pairs)

    def relu(a):
        return pw((a, a > 0), (0, True))

    def leaky(a, alpha):
        return pw((a, a > 0), (alpha * a, True))

    def absval(a):
        return pw((a, a >= 0), (-a, True))

    def maximum2(a, b):
        return pw((a, a >= b), (b, True))

    def clip(a, lo, hi):
        return pw((lo, a < lo), (hi, a > hi), (a, True))

    def elu(a, alpha):
        return pw((a, a > 0), (alpha * (sp.exp(a) - 1), True))

    def tanh(a):
        return _Tanh(a)

    def sigmoid(a):
        return 1 / (1 + sp.exp(-a))

    def softplus(a):
        return sp.log(1 + sp.exp(a))

    def gelu(a):
        return a * _Erfc(-a / sp.sqrt(2)) / 2

    def move(a, axis):
        return np.moveaxis(np.asarray(a, dtype=object), axis, -1)

    def amax(a, axis=-1):
        a = move(a, axis)
        n = a.shape[-1]
        out = np.empty(a.shape[:-1], dtype=object)
        for index in np.ndindex(out.shape):
            row = [a[index + (k,)] for k in range(n)]
            pieces = []
            for k in range(n - 1):
                cond = sp.And(*[row[k] >= row[j] for j in range(k + 1, n)], *[row[k] > row[j] for j in range(k)])
                pieces.append((row[k], cond))
            pieces.append((row[-1], True))
            out[index] = sp.Piecewise(*pieces)
        return out if out.shape else out[()]

    def total(a, axis=None):
        a = np.asarray(a, dtype=object)
        if axis is None:
            return sp.Add(*a.ravel())
        a = move(a, axis)
        out = np.empty(a.shape[:-1], dtype=object)
        for index in np.ndindex(out.shape):
            out[index] = sp.Add(*a[index])
        return out if out.shape else out[()]

    def mean(a, axis=None):
        a = np.asarray(a, dtype=object)
        n = a.size if axis is None else a.shape[axis]
        return total(a, axis) * sp.Rational(1, n)

    def logsumexp(a, axis=-1, keepdims=False):
        out = elementwise(sp.log)(total(elementwise(sp.exp)(a), axis=axis))
        return np.expand_dims(out, axis) if keepdims else out

    def shifted_sums(a, axis):
        """S_j = 1 + Σ_{k≠j} exp(a_k − a_j): softmax_j = 1/S_j and log_softmax_j = −log S_j, whose
        derivatives are sums of terms of one sign (no 1 − p_j that cancels when p_j → 1). A masked
        entry (a_j = −∞) gets S_j = ∞."""
        a = move(a, axis)
        out = np.empty(a.shape, dtype=object)
        for index in np.ndindex(a.shape[:-1]):
            row = a[index]
            for j in range(row.shape[0]):
                if row[j] == -sp.oo:
                    out[index + (j,)] = sp.oo
                    continue
                out[index + (j,)] = 1 + sp.Add(*[sp.exp(row[k] - row[j]) for k in range(row.shape[0]) if k != j])
        return np.moveaxis(out, -1, axis)

    def softmax(a, axis=-1):
        return elementwise(lambda s: 0 if s == sp.oo else 1 / s)(shifted_sums(a, axis))

    def log_softmax(a, axis=-1):
        return elementwise(lambda s: -sp.oo if s == sp.oo else -sp.log(s))(shifted_sums(a, axis))

    return SimpleNamespace(
        name="sympy",
        exp=elementwise(sp.exp), log=elementwise(sp.log), log1p=elementwise(lambda a: sp.log(1 + a)),
        expm1=elementwise(lambda a: sp.exp(a) - 1), tanh=elementwise(tanh), sqrt=elementwise(sp.sqrt),
        sin=elementwise(sp.sin), cos=elementwise(sp.cos), atan=elementwise(sp.atan), erfc=elementwise(_Erfc),
        sigmoid=elementwise(sigmoid), softplus=elementwise(softplus),
        log_sigmoid=elementwise(lambda a: -softplus(-a)), relu=elementwise(relu),
        leaky_relu=lambda a, alpha: np.frompyfunc(lambda v: leaky(v, alpha), 1, 1)(a),
        abs=elementwise(absval), maximum=np.frompyfunc(maximum2, 2, 1), amax=amax,
        clip=lambda a, lo, hi: np.frompyfunc(lambda v: clip(v, lo, hi), 1, 1)(a),
        logsumexp=logsumexp, softmax=softmax, log_softmax=log_softmax, sum=total, mean=mean,
        floor=elementwise(sp.floor), elu=lambda a, alpha: np.frompyfunc(lambda v: elu(v, alpha), 1, 1)(a),
        gelu=elementwise(gelu), hypot1=elementwise(lambda a: sp.sqrt(1 + a * a)), square=elementwise(lambda a: a * a),
    )


class _LazySym:
    """The SymPy namespace, built on first use (SymPy is imported only when the truth is computed)."""

    _ns = None

    def __getattr__(self, name):
        if _LazySym._ns is None:
            _LazySym._ns = _sym()
        return getattr(_LazySym._ns, name)


SYM = _LazySym()
