"""What the judge cannot see in a scalar view of ``f`` (verify.checks._views), on NumPy code: the rounding of the
terms of ``⟨u, f⟩``, a float32 function's own rounding, and outputs that are bitwise constant in the code under
test — each settled by the rounding the code really has, while a wrong derivative still fails."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import erf

import verify
from verify.checks import CheckFailure
from verify.checks._views import FLAT_REASON, float32_noise, terms_noise

SAT = np.array([-20.0, 20.0, 1e-3, -1e-3])
U = np.array([1.9268551488301449, 1.9357833264178663, 1.6644343516123226, 1.8064026741504604])


def _tanh_view(x):
    return np.sum(U * np.tanh(x), axis=-1)


def _tanh_vjp(x):
    return U * (1.0 - np.tanh(x) ** 2)


def test_a_cotangent_whose_terms_cancel_is_judged_by_its_terms_rounding():
    # ⟨u, tanh(x)⟩ = 0.0089 from terms of 1.9; 1 − tanh²(±20) = 0 where the truth is 1.7e-17
    with pytest.raises(CheckFailure, match="f's resolution"):
        verify.check_gradient(_tanh_view, _tanh_vjp, (SAT,))
    level = terms_noise(np.tanh(SAT), U)
    assert level == pytest.approx(np.finfo(np.float64).eps * np.sum(np.abs(U * np.tanh(SAT))))
    verify.check_gradient(_tanh_view, _tanh_vjp, (SAT,), f_noise=level)
    # a wrong term is not excused by it: the derivative of tanh with 1 − tanh in place of 1 − tanh²
    with pytest.raises(CheckFailure):
        verify.check_gradient(_tanh_view, lambda x: U * (1.0 - np.tanh(x)), (SAT,), f_noise=level)


def test_f_noise_is_validated_and_one_point_only():
    from hypothesis import strategies as st

    with pytest.raises(ValueError, match="f_noise"):
        verify.check_gradient(_tanh_view, _tanh_vjp, (SAT,), f_noise=-1.0)
    with pytest.raises(ValueError, match="f_noise"):
        verify.check_gradient(_tanh_view, _tanh_vjp, st.just((SAT,)), f_noise=1e-16)


def _gelu(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def _gelu_vjp(u, x):
    return u * (0.5 * (1.0 + erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi))


def test_an_output_that_lost_every_digit_leaves_its_entry_unverified():
    # gelu(−12) is exactly 0 in float64 (1 + erf cancels); the backward's −2.6e-31 is the truth: no reference at hand
    # can tell, so the entry is unverified, with the reason and the remedy, not passed and not failed
    # (the judge itself leaves it unverified — f bitwise constant near x but not far out — or, where the view's
    # judgement failed, the rule for constant outputs does)
    report = verify.check_vjp(_gelu, _gelu_vjp, (np.array([12.0, -12.0, 7.0, 0.5]),))
    assert report.unverified >= 1
    assert any(FLAT_REASON in note or ("UNVERIFIED: f is bitwise constant" in note and "remedy" in note)
               for note in report.notes)


def test_a_slope_the_flat_output_would_show_still_fails():
    # ReLU is flat at −3: a leaky slope 0.01 there moves f by 0.03 over the entry's scale, far above its rounding
    x = np.array([-3.0, -1.0, 2.0, 0.5])
    with pytest.raises(CheckFailure):
        verify.check_vjp(lambda x: np.maximum(x, 0.0), lambda u, x: u * np.where(x > 0, 1.0, 0.01), (x,))
    with pytest.raises(CheckFailure):  # every output flat (all 0): nothing sets a scale but the inputs
        verify.check_vjp(lambda x: np.maximum(x, 0.0), lambda u, x: u * np.where(x > 0, 1.0, 0.01), (-x - 4.0,))
    # an error 1e-3 at gelu's flat −12 is far above the computation's rounding: wrong
    with pytest.raises(CheckFailure):
        verify.check_vjp(_gelu, lambda u, x: _gelu_vjp(u, x) + 1e-3 * u * (x < -10),
                         (np.array([12.0, -12.0, 7.0, 0.5]),))
    verify.check_vjp(lambda x: np.maximum(x, 0.0), lambda u, x: u * (x > 0), (x,))


def _gelu_tanh(x):
    c = np.sqrt(2.0 / np.pi).astype(x.dtype)
    return 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x ** 3)))


def _gelu_tanh_vjp(u, x):
    c = np.sqrt(2.0 / np.pi).astype(x.dtype)
    t = np.tanh(c * (x + 0.044715 * x ** 3))
    return u * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * x * x))


def test_a_float32_function_is_judged_by_its_own_measured_rounding():
    # float32 gelu(tanh) at −5: 1 + tanh sits on float32's grid near −1, so f's values step by 1.5e-7 every 0.09 of x
    # and the backward's 1 − tanh² is 30 % off — rounding the float32 function really has (its float64 promotion,
    # which the judge evaluates, has none of it)
    x = np.array([-5.0, -0.5, 0.0, 3.0], dtype=np.float32)
    level = float32_noise(lambda v: _gelu_tanh(v)[..., 0], x)
    assert 1e-8 < level < 1e-5
    verify.check_vjp(_gelu_tanh, _gelu_tanh_vjp, (x,))
    # its missing term is not rounding: 0.5·(1 + tanh) alone
    with pytest.raises(CheckFailure):
        verify.check_vjp(_gelu_tanh, lambda u, x: u * 0.5 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi).astype(x.dtype)
                                                                             * (x + 0.044715 * x ** 3))), (x,))
    # nor a float64 backward's float32 arithmetic: float32_noise measures float32 functions only
    assert float32_noise(lambda v: _gelu_tanh(v)[..., 0], x.astype(np.float64)) == 0.0
