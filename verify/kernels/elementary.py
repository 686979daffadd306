"""Vectorisable ``exp`` and ``log1p`` for the Numba kernels, with exact differences (TwoSum).

``np.exp`` and ``np.log1p`` inside ``@njit`` code are one libm call per element, which LLVM cannot
vectorise. The functions here are straight-line float64 code (bit operations instead of int↔float
conversions, which AVX2 lacks for 64-bit integers), so a loop over contiguous memory that calls them
runs four elements per instruction on AVX2. Polynomials are evaluated by Estrin's scheme (a short
dependency chain) and compiled with floating-point contraction, so ``a·b + c`` may become one fused
multiply–add (one rounding instead of two: never less accurate).

Accuracy, measured against mpmath at 120 bits by ``tests/kernels/test_elementary.py`` and bounded by the
error budget in each docstring: at most 2 ULPs of the result (an ULP of a subnormal result is
``2^−1074``).

- :func:`two_diff` — ``a − b = d + e`` exactly (Knuth's TwoSum).
- :func:`exp_pair` — ``exp(x + e)`` for a float pair: ``x`` and a small correction ``e`` (``+∞`` above
  ``x ≈ 709.78``, 0 below ``x ≈ −745``).
- :func:`exp_diff` — ``exp(a − b)``, however large ``|a − b|`` (the rounding of the difference is carried into
  the exponential).
- :func:`log1p_nonnegative` — ``log(1 + s)`` for finite ``s ≥ 0``, with full relative accuracy for tiny ``s``.

References: W. J. Cody and W. Waite, *Software Manual for the Elementary Functions* (1980), for the
additive range reduction with ``ln 2`` split in two; D. E. Knuth, *TAOCP* vol. 2, §4.2.2, for TwoSum;
J.-M. Muller, *Elementary Functions* (3rd ed., 2016), ch. 5–6, for Estrin's scheme and ``log`` through
``atanh((f − 1)/(f + 1))``.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from verify._jit import jit

__all__ = ["two_diff", "exp_pair", "exp_diff", "log1p_nonnegative", "holds_float64"]

# fastmath={"contract"} only allows fusing a·b + c into an FMA; no reassociation, and inf/NaN keep their
# IEEE meaning. These functions are not inlined at the Numba level (that would drop the flag): LLVM
# inlines them into the calling loop, where the flag stays on their instructions.
_elementary = jit(fastmath={"contract"}, error_model="numpy")


@intrinsic
def _bits(typingctx, x):
    """The IEEE-754 bit pattern of a float64, as an int64."""
    signature = types.int64(types.float64)

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return signature, codegen


@intrinsic
def _from_bits(typingctx, i):
    """The float64 whose IEEE-754 bit pattern is the int64 ``i``."""
    signature = types.float64(types.int64)

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return signature, codegen


def holds_float64(arr) -> bool:
    """Whether ``arr`` holds float64 (so that a float64 intermediate can be kept in it without rounding); in
    compiled code a constant of the array's type, so the other branch is not compiled (CPU and CUDA alike)."""
    return np.asarray(arr).dtype == np.float64


@overload(holds_float64)
def _holds_float64(arr):
    wide = arr.dtype == types.float64
    return lambda arr: wide


@intrinsic
def _floor(typingctx, x):
    """``floor(x)`` of a float64 as LLVM's ``llvm.floor.f64``: a vector rounding instruction on the CPU and
    ``cvt.rmi`` on CUDA (``np.floor`` has no CUDA lowering)."""
    signature = types.float64(types.float64)

    def codegen(context, builder, sig, args):
        return builder.call(builder.module.declare_intrinsic("llvm.floor", [ir.DoubleType()]), args)

    return signature, codegen


@intrinsic
def _shift_right_52(typingctx, i):
    """``i >> 52`` as a logical shift (AVX2 has no 64-bit arithmetic shift; the inputs here are ≥ 0)."""
    signature = types.int64(types.int64)

    def codegen(context, builder, sig, args):
        return builder.lshr(args[0], ir.Constant(ir.IntType(64), 52))

    return signature, codegen


_LARGEST = 1.7976931348623157e308  # the largest finite float64

# 1.5·2^52: for an integer-valued |h| < 2^51, the low bits of the pattern of h + _ROUNDER hold h.
_ROUNDER = 6755399441055744.0
_ROUNDER_BITS = 0x4338000000000000


@jit(forceinline=True)
def _pow2(h):
    """``2.0**h`` for an integer-valued float64 ``h`` in [−1022, 1023]: ``h + 1023`` written into the exponent
    field (the bits of ``_ROUNDER`` are shifted out)."""
    return _from_bits((_bits(h + _ROUNDER) + 1023) << 52)


@jit(forceinline=True)
def two_diff(a, b):
    """``(d, e)`` with ``d = fl(a − b)`` and ``a − b = d + e`` exactly (Knuth's TwoSum) for finite ``a``, ``b``.

    Where ``a − b`` overflows, ``d = ±∞`` (the correctly rounded difference) and ``e = 0`` (TwoSum's error term
    would be NaN there), so ``d + (x + e)`` stays the correctly signed infinity."""
    a = np.float64(a)
    b = np.float64(b)
    d = a - b
    bv = d - a
    av = d - bv
    e = (a - av) - (b + bv)
    return d, (e if abs(d) <= _LARGEST else 0.0)


_INV_LN2 = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 to 32 bits: k·_LN2_HI is exact for |k| < 2^21
_LN2_LO = 1.9082149292705877e-10  # ln 2 − _LN2_HI
_C = tuple(1.0 / math.factorial(i) for i in range(14))
_E_LIMIT = 2.0**-30


@_elementary
def exp_pair(x, e):
    """``exp(x + e)`` for ``|e| ≤ ulp(x)``, to within 2 ULPs (``+∞`` where it exceeds the largest float).

    ``x = k·ln 2 + r`` with ``k = round(x/ln 2)`` and ``|r| ≤ ½ ln 2`` (Cody–Waite: ``k·ln2_hi`` is exact,
    so ``r`` carries only the rounding of ``k·ln2_lo``, about ``2^−60``, plus ``e``). ``exp(r)`` is the
    Taylor polynomial of degree 13, whose truncation error on that interval is below ``2^−57`` relative,
    evaluated by Estrin's scheme (rounding error about one ULP: every term after ``1 + r`` is below
    ``r²/2 ≤ 0.06``). ``2^k`` is applied as two exact powers of two so that a subnormal result is rounded
    once, and a result beyond the largest float is ``+∞``. Below ``x = −746`` the result is 0; ``x`` is
    clamped to [−746, 710] (exp(710) overflows), so that ``k`` stays inside the exponent range.
    """
    # Outside [−746, 710] the result is 0 or +∞ whatever e is, and there |e| can be huge (the error of a
    # difference near 1e300): clamped to ±2^−30 (far above any e of an x inside, |e| ≤ ulp(746)/2 < 2^−43), it
    # cannot revive a 0 or turn +∞ into NaN. Two min/max each: no comparison and select in the vector loop.
    e = min(max(e, -_E_LIMIT), _E_LIMIT)
    x = min(max(x, -746.0), 710.0)
    kf = _floor(x * _INV_LN2 + 0.5)
    r = ((x - kf * _LN2_HI) - kf * _LN2_LO) + e
    r2 = r * r
    r4 = r2 * r2
    a1 = _C[2] + _C[3] * r
    a2 = _C[4] + _C[5] * r
    a3 = _C[6] + _C[7] * r
    a4 = _C[8] + _C[9] * r
    a5 = _C[10] + _C[11] * r
    a6 = _C[12] + _C[13] * r
    above_8 = (a4 + a5 * r2) + a6 * r4  # Σ_{i=8..13} r^{i−8}/i!
    above_4 = (a2 + a3 * r2) + above_8 * r4  # Σ_{i=4..13} r^{i−4}/i!
    above_2 = a1 + above_4 * r2  # Σ_{i=2..13} r^{i−2}/i!
    p = 1.0 + (r + above_2 * r2)
    half = _floor(kf * 0.5)
    return (p * _pow2(half)) * _pow2(kf - half)


@jit(forceinline=True)
def exp_diff(a, b):
    """``exp(a − b)`` to within 2 ULPs, however large ``|a − b|`` is (the rounding of the difference is carried
    as ``e`` and applied inside the exponential)."""
    d, e = two_diff(a, b)
    return exp_pair(d, e)


_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # the pattern of the float64 nearest √½
_ONE_BITS = 0x3FF0000000000000
_MANTISSA = 0x000FFFFFFFFFFFFF
# 2 atanh(w) = 2w + w·R(w²) with R(z) = Σ_{j≥1} 2 z^j/(2j + 1); 11 terms reach w^23 < 2^−58 for |w| ≤ 0.172.
_Q = tuple(2.0 / (2 * j + 1) for j in range(1, 12))


@_elementary
def log1p_nonnegative(s):
    """``log(1 + s)`` for finite ``s ≥ 0``, to within 2 ULPs (exactly ``s`` below ``2^−53``).

    ``1 + s = u + c`` exactly (TwoSum), ``u = 2^k f`` with ``f ∈ [√½, √2)`` read from the bits of ``u``, and
    ``log(1 + s) = k ln 2 + log f + log(1 + c/u)`` with ``log(1 + c/u) = c/u`` to ``2^−106``. With
    ``g = f − 1`` (exact, Sterbenz) and ``w = g/(2 + g)``: ``log f = 2 atanh w = g − w(g − R(w²))``, where
    the exact ``g`` leads and the rounding of ``w`` (two roundings) enters only through ``w(g − R)``,
    which is below ``0.18|g|``: about half an ULP, plus the final roundings.
    """
    u = 1.0 + s
    bv = u - 1.0
    c = (1.0 - (u - bv)) + (s - bv)
    shifted = _bits(u) + (_ONE_BITS - _SQRT_HALF_BITS)
    kf = _from_bits(_shift_right_52(shifted) + (_ROUNDER_BITS - 1023)) - _ROUNDER
    f = _from_bits((shifted & _MANTISSA) + _SQRT_HALF_BITS)
    g = f - 1.0
    w = g / (2.0 + g)
    z = w * w
    z2 = z * z
    z4 = z2 * z2
    low = (_Q[0] + _Q[1] * z) + (_Q[2] + _Q[3] * z) * z2
    mid = (_Q[4] + _Q[5] * z) + (_Q[6] + _Q[7] * z) * z2
    high = (_Q[8] + _Q[9] * z) + _Q[10] * z2
    r = z * (low + (mid + high * z4) * z4)
    log_f = g - w * (g - r)
    return kf * _LN2_HI + (log_f + (kf * _LN2_LO + c / u))
