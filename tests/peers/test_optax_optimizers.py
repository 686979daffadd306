"""optax's adam, adamw, lion and rmsprop pass check_optimizer, given as the optax factory itself (the adapter
translates ``lr`` → ``learning_rate``, ``beta1``/``beta2`` → ``b1``/``b2``, ``rho`` → ``decay``, ``eps_mode`` →
``eps_in_sqrt``/``eps_root``), in float64 and float32; and optax's NAdam is recognised as the constant-momentum
form."""

from __future__ import annotations

import numpy as np
import pytest

from verify.checks.failure import CheckFailure
from verify.checks.optimizer import check_optimizer
from verify.kernels.schedules import CosineAnnealing

optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")

pytestmark = pytest.mark.peers


@pytest.fixture(autouse=True)
def _x64():
    saved = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", saved)


CASES = [
    ("adam", optax.adam, {}),
    ("adam", optax.adam, {"eps_mode": "inside", "eps": 1e-8}),  # optax's eps_root
    ("adamw", optax.adamw, {"weight_decay": 0.1}),
    ("lion", optax.lion, {"weight_decay": 0.01}),
    ("rmsprop", optax.rmsprop, {"eps_mode": "inside"}),  # optax's default: eps_in_sqrt=True
    ("rmsprop", optax.rmsprop, {"eps_mode": "outside", "centered": True}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(("rule", "factory", "hyper"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_optax_optimizers_pass(rule, factory, hyper, dtype):
    report = check_optimizer(rule, factory, dtype=dtype, max_examples=5, **hyper)
    assert report.max_error_ratio < 1 and report.examples == 5


def test_a_built_transformation_and_a_schedule():
    tx = optax.adamw(learning_rate=CosineAnnealing(0.1, T_max=6).optax(), b1=0.9, b2=0.99, eps=1e-8, weight_decay=0.1)
    report = check_optimizer("adamw", tx, lr=CosineAnnealing(0.1, T_max=6), beta1=0.9, beta2=0.99, eps=1e-8,
                             weight_decay=0.1, max_examples=5)
    assert report.examples == 5


def _optax_nadam(theta0, grads, lr, beta1, beta2, eps, momentum_decay):
    """optax.nadam has no momentum_decay: it keeps μ_t = β₁."""
    tx = optax.nadam(lr, beta1, beta2, eps)
    params = jax.numpy.asarray(theta0)
    state, out = tx.init(params), []
    for g in grads:
        updates, state = tx.update(jax.numpy.asarray(g), state, params)
        params = optax.apply_updates(params, updates)
        out.append(np.asarray(params))
    return np.array(out)


def test_optax_nadam_is_nadam_without_the_momentum_schedule():
    with pytest.raises(CheckFailure) as caught:
        check_optimizer("nadam", _optax_nadam, momentum_decay=4e-3, max_examples=20)
    assert caught.value.details["problem"] is None
    assert "constant_momentum" in caught.value.details["diagnosis"], str(caught.value)


def test_float64_without_x64_is_a_clear_error():
    jax.config.update("jax_enable_x64", False)
    with pytest.raises(TypeError, match="jax_enable_x64"):
        check_optimizer("adam", optax.adam, max_examples=2)
