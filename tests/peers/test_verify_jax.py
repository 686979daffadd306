"""verify.jax: JAX's derivatives, custom_vjp and custom_jvp rules included, through check_vjp / check_jvp."""

from __future__ import annotations

import numpy as np
import pytest

from verify.checks import CheckFailure

jax = pytest.importorskip("jax")
vj = pytest.importorskip("verify.jax")
jnp = jax.numpy

pytestmark = pytest.mark.peers


def _dense_vjp(backward):
    """y = x W as a jax.custom_vjp with the given backward (x, W, g) -> (gx, gW)."""

    @jax.custom_vjp
    def dense(x, W):
        return x @ W

    dense.defvjp(lambda x, W: (x @ W, (x, W)), lambda res, g: backward(*res, g))
    return dense


RIGHT = _dense_vjp(lambda x, W, g: (g @ W.T, x.T @ g))
X = np.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1], [0.2, 0.0, 0.9]])
WSQ = np.array([[0.5, 1.0, -0.4], [2.0, -3.0, 0.1], [-0.25, 0.75, 1.3]])


def _failure(fn, inputs, **kwargs) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        vj.check_function(fn, inputs, **kwargs)
    return info.value


def test_float32_with_x64_off_gets_a_float64_reference_and_leaves_the_flag_off(x32):
    seen = []

    def f(x):
        seen.append(x.dtype)
        return x**3 + jnp.sin(x)

    report = vj.check_function(f, (jnp.array([0.5, -1.0, 2.0]),))
    assert report["inputs[0]"].dtype == "float32" and report.forward_checked == 1
    assert jnp.float64 in seen and jnp.float32 in seen
    assert not jax.config.jax_enable_x64


def test_float64_input_with_x64_off_is_a_clear_error(x32):
    with pytest.raises(ValueError, match=r"inputs\[0\] is float64 but jax_enable_x64 is off"):
        vj.check_function(jnp.tanh, (np.array([0.5, -1.0]),))
    assert not jax.config.jax_enable_x64


def test_a_custom_vjp_rule_passes_in_reverse_mode_and_says_forward_mode_is_not_supported(x64):
    report = vj.check_function(RIGHT, (X, WSQ))
    assert [s.name for s in report.slots] == ["inputs[0]", "inputs[1]"] and report.forward_checked == 0
    assert report["inputs[1]"].forward.startswith("forward mode not supported by this function")
    assert jax.config.jax_enable_x64


def test_planted_custom_vjp_bugs_are_caught_and_named(x64):
    dropped = _dense_vjp(lambda x, W, g: (g @ W.T, x.T @ jnp.ones_like(g)))
    assert "the incoming gradient (the cotangent u, grad_output) is ignored" in str(_failure(dropped, (X, WSQ)))
    transposed = _dense_vjp(lambda x, W, g: (g @ W.T, (x.T @ g).T))
    assert "transposed: vjp(u) is the transpose" in str(_failure(transposed, (X, WSQ)))
    flipped = _dense_vjp(lambda x, W, g: (-(g @ W.T), x.T @ g))
    failure = _failure(flipped, (X, WSQ))
    assert "w.r.t. inputs[0]" in str(failure) and "a flipped sign" in str(failure)
    rounded = _dense_vjp(lambda x, W, g: (g @ W.T, (x.T @ g).astype(jnp.float32).astype(x.dtype)))
    assert "w.r.t. inputs[1]" in str(_failure(rounded, (X, WSQ)))


def test_a_custom_jvp_rule_is_checked_in_both_modes(x64):
    @jax.custom_jvp
    def softplus(x):
        return jnp.logaddexp(x, 0.0)

    softplus.defjvp(lambda primals, tangents: (softplus(primals[0]), jax.nn.sigmoid(primals[0]) * tangents[0]))
    report = vj.check_function(softplus, (np.array([-3.0, 0.5, 2.0]),))
    assert report.forward_checked == 1

    @jax.custom_jvp
    def wrong(x):
        return jnp.logaddexp(x, 0.0)

    wrong.defjvp(lambda primals, tangents: (wrong(primals[0]), -jax.nn.sigmoid(primals[0]) * tangents[0]))
    failure = _failure(wrong, (np.array([-3.0, 0.5, 2.0]),))
    assert "the reverse-mode (backward) derivative w.r.t. inputs[0]" in str(failure)  # the transposed jvp rule
    failure = _failure(wrong, (np.array([-3.0, 0.5, 2.0]),), forward=True, jacobian_max=0, directions=1)
    assert "a flipped sign" in str(failure)


def test_integer_inputs_pass_through_and_bad_input_is_refused(x64):
    def pick(logits, labels):
        return jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1)[:, 0]

    report = vj.check_function(pick, (np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]]), jnp.array([2, 0])))
    assert [s.name for s in report.slots] == ["inputs[0]"]
    with pytest.raises(TypeError, match="must return one array; got tuple"):
        vj.check_function(lambda x: (x, x), (X,))
    with pytest.raises(TypeError, match=r"inputs\[1\] is not a float32/float64 array"):
        vj.check_function(pick, (X[:2], jnp.array([2, 0])), wrt=1)
    with pytest.raises(TypeError, match="no float32/float64 array"):
        vj.check_function(lambda y: y * 2, (jnp.array([1, 2]),))
    with pytest.raises(TypeError, match="check_function got an unexpected keyword argument 'ulp'"):
        vj.check_function(jnp.tanh, (X,), ulp=64.0)
    assert vj.check_function(jnp.tanh, (X,), seed=7, directions=1).slots[0].vjp.cotangents == 1


# gelu' = Φ(x) + x·φ(x): at x ≪ 0 both Φ = ½(1 + erf(x/√2)) and the sum cancel (see test_verify_torch.py)
_GELU_POINTS = ([-5.0, -0.5, 0.0, 3.0], [-6.0, -5.5, -4.5, -4.0, 1.0])


def test_jax_gelu_in_float32_passes(x32):
    for point in _GELU_POINTS:
        vj.check_function(lambda x: jax.nn.gelu(x, approximate=False), (jnp.array(point, dtype=jnp.float32),))


def _gelu_vjp(rule):
    """Exact gelu as a jax.custom_vjp whose backward is ``g · rule(x)``."""

    @jax.custom_vjp
    def gelu(x):
        return jax.nn.gelu(x, approximate=False)

    gelu.defvjp(lambda x: (gelu(x), x), lambda x, g: (g * rule(x),))
    return gelu


def _cdf(x):
    return 0.5 * (1.0 + jax.scipy.special.erf(x / np.sqrt(2.0).astype(x.dtype)))


def _pdf(x):
    return jnp.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi).astype(x.dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hand_written_gelu_vjps_at_minus_five_are_judged_right_and_wrong(dtype, request):
    # the classic bug (Φ(x) alone) and a sign error in x·φ(x): at x = -5 the reference must keep the x·φ(x) term
    request.getfixturevalue("x64" if dtype == "float64" else "x32")
    x = jnp.array([-5.0], dtype=dtype)
    vj.check_function(_gelu_vjp(lambda x: _cdf(x) + x * _pdf(x)), (x,))
    for wrong in (_cdf, lambda x: _cdf(x) - x * _pdf(x)):
        with pytest.raises(CheckFailure, match="reverse-mode"):
            vj.check_function(_gelu_vjp(wrong), (x,))
