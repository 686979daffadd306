"""The complex step where ``f`` loses its imaginary part to absolute rounding (issue 13).

JAX's complex ``logaddexp`` (hence ``jax.nn.softplus``) wraps the imaginary part into ``[−π, π]`` by
``rem(Im + π, 2π) − π``: ``Im f`` is a multiple of ``ulp(π) = 4.4e-16``, so at the standard step ``h = 1e-20·max(1, |x|)``
it is 0, and the 2⁴⁰ times larger step meant to tell an underflow from an identically real ``f`` is off by up to that
quantum (2.7e-12 at ``x = 1e4``, 6.8e-8 relative at ``x = −3``), beyond the complex step's error bound. Where ``h·f'``
was a normal number at the standard step no underflow explains its 0: the complex step is no reference at that entry
and the central differences decide. The same wrap written in NumPy shows it without JAX.

Runtime: about 5 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from verify.checks import CheckFailure, check_gradient


def softplus(x):
    """``log(1 + eˣ)`` as JAX's ``logaddexp(x, 0)`` computes it, for real and complex ``x`` (its complex branch: the
    larger argument by real part, then the imaginary part wrapped into [−π, π] by ``rem(Im + π, 2π) − π``)."""
    if not np.iscomplexobj(x):
        return np.logaddexp(x, 0.0)
    top = np.where(x.real > 0.0, x, 0.0)
    out = top + np.log1p(np.exp(x - 2.0 * top))
    return out.real + 1j * (np.remainder(out.imag + np.pi, 2.0 * np.pi) - np.pi)


def softplus_sum(x):
    return np.sum(softplus(x), axis=-1)


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


POINTS = [np.array([1e4]), np.array([-3.0, 1e4, 1e4 + 0.5, 7.0]), np.array([0.5, -2.0])]


@pytest.mark.parametrize("x", POINTS, ids=str)
def test_a_lost_imaginary_part_is_no_reference_and_the_right_gradient_passes(x):
    report = check_gradient(softplus_sum, sigmoid, (x,))
    assert report.examples == 1


@pytest.mark.parametrize("x", POINTS, ids=str)
def test_a_gradient_off_by_1e_8_still_fails(x):
    with pytest.raises(CheckFailure):
        check_gradient(softplus_sum, lambda x: sigmoid(x) * (1.0 + 1e-8), (x,))


def test_jax_softplus_in_float64_at_1e4():
    jax = pytest.importorskip("jax")
    vj = pytest.importorskip("verify.jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        for x in POINTS[:2]:
            vj.check_function(jax.nn.softplus, (x,))

        @jax.custom_vjp
        def wrong(x):
            return jax.nn.softplus(x)

        wrong.defvjp(lambda x: (jax.nn.softplus(x), x), lambda x, g: (g * jax.nn.sigmoid(x) * (1.0 + 1e-8),))
        with pytest.raises(CheckFailure):
            vj.check_function(wrong, (POINTS[1],))
    finally:
        jax.config.update("jax_enable_x64", previous)
