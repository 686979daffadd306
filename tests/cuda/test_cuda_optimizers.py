"""The CUDA optimizer kernels — generated from the same per-element functions as the CPU ones — through
:func:`verify.check_optimizer` (exact rational / high-precision runs), with device and host arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from numba import cuda

from verify.checks.failure import CheckFailure
from verify.checks.optimizer import check_optimizer
from verify.kernels import optimizers as cpu
from verify.kernels.cuda import optimizers as co
from verify.kernels.schedules import CosineAnnealing
from verify.strategies import gradient_sequences, parameter_vectors

pytestmark = pytest.mark.cuda

EXAMPLES = 3  # each example runs T steps of a few kernel launches on the (slow) simulator


@st.composite
def _small_problems(draw, dtype=np.float64):
    """(theta0, grads) with T ≤ 6 steps and n ≤ 4 parameters: every gradient kind, simulator-sized."""
    grads = draw(gradient_sequences(dtype=dtype, max_steps=6, max_size=4))
    return draw(parameter_vectors(grads.shape[1], dtype=dtype)), grads


def _run(rule):
    def run(theta0, grads, **hyper):
        return co.run_optimizer(rule, theta0, grads, return_state=True, **hyper)

    return run


def _configurations():
    """Every rule, and every choice of every option, once (each compiled layout included)."""
    for rule, spec in cpu.RULES.items():
        yield rule, {"weight_decay": 0.01} if "weight_decay" in spec.optional else {}
        for option, choices in spec.options.items():
            for choice in choices[1:]:
                options = {option: choice}
                if option in ("decay_scale",):
                    if spec.decoupled:
                        yield rule, options | ({} if "weight_decay" in spec.hyperparameters else {"weight_decay": 0.1})
                    continue
                if option == "amsgrad_max":
                    options["amsgrad"] = True
                if option == "decoupled_weight_decay":
                    options["weight_decay"] = 0.1
                yield rule, options
    yield "rmsprop", {"momentum": 0.5, "centered": True}
    yield "adam", {"lr": CosineAnnealing(0.1, T_max=3)}


@pytest.mark.parametrize(("rule", "options"), list(_configurations()), ids=lambda v: str(v))
def test_every_rule_and_option_passes_check_optimizer(rule, options):
    report = check_optimizer(rule, _run(rule), inputs=_small_problems(), max_examples=EXAMPLES, **options)
    assert report.examples >= 1 and report.compared_state == bool(cpu.state_names(rule, options))


@pytest.mark.parametrize("rule", ["adam", "momentum", "adagrad_norm", "lion"])
def test_float32_passes_check_optimizer(rule):
    report = check_optimizer(rule, _run(rule), inputs=_small_problems(np.float32), dtype=np.float32,
                             max_examples=EXAMPLES)
    assert report.dtype == "float32" and report.examples >= 1


def test_the_cuda_kernels_are_the_generated_ones():
    for layouts in cpu._LAYOUTS.values():
        for layout in layouts.values():
            assert co.KERNELS[layout.compiled.name] is layout.compiled.cuda
    from verify.kernels.cuda._device import KERNELS  # registered for compile_all_ptx

    assert {f"verify.kernels.optimizers.{name}__cuda" for name in co.KERNELS} <= set(KERNELS)


# ------------------------------------------------------------------------------ wrong variants


THETA0 = np.array([1.0, -2.0, 0.5])
GRADS = np.array([[0.5, -1.0, 2.0], [0.25, 0.0, -3.0], [1.0, 1.0, 1.0], [-0.5, 2.0, 0.0]])


def test_learning_rate_applied_twice_is_caught():
    def wrong(theta0, grads, *, lr, momentum):
        return co.run_optimizer("momentum", theta0, grads, lr=2 * lr, momentum=momentum)

    with pytest.raises(CheckFailure, match="momentum"):
        check_optimizer("momentum", wrong, theta0=THETA0, grads=GRADS, lr=0.1, momentum=0.9)


def test_adam_with_l2_is_caught_as_adamw():
    def wrong(theta0, grads, *, lr, beta1, beta2, eps, weight_decay):
        return co.run_optimizer("adam", theta0, grads, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                                weight_decay=weight_decay)

    with pytest.raises(CheckFailure) as caught:
        check_optimizer("adamw", wrong, theta0=THETA0, grads=GRADS, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8,
                        weight_decay=0.5)
    assert "l2_decay" in caught.value.details["diagnosis"]


def test_adagrad_with_the_other_eps_convention_is_caught():
    def wrong(theta0, grads, **hyper):
        return co.run_optimizer("adagrad", theta0, grads, eps_mode="outside", **hyper)

    with pytest.raises(CheckFailure):
        check_optimizer("adagrad", wrong, theta0=THETA0, grads=GRADS, lr=0.5, eps=0.25)


# ------------------------------------------------------------------------------ arrays and in-place steps


def test_in_place_steps_on_host_and_device_arrays_match_run_optimizer():
    hyper = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1)
    expected = co.run_optimizer("adamw", THETA0, GRADS, **hyper)
    theta, m, v = THETA0.copy(), np.zeros(3), np.zeros(3)
    d_theta, d_m, d_v = cuda.to_device(THETA0), cuda.to_device(np.zeros(3)), cuda.to_device(np.zeros(3))
    for t, g in enumerate(GRADS, start=1):
        co.adamw_step(theta, g, m, v, t, **hyper)
        co.adamw_step(d_theta, cuda.to_device(g), d_m, d_v, t, **hyper)
    np.testing.assert_array_equal(theta, expected[-1])
    np.testing.assert_array_equal(d_theta.copy_to_host(), expected[-1])
    np.testing.assert_allclose(expected, cpu.run_optimizer("adamw", THETA0, GRADS, backend="cpu", **hyper),
                               rtol=1e-15)


def test_device_inputs_keep_iterates_on_the_device():
    out = co.run_optimizer("sgd", cuda.to_device(THETA0), cuda.to_device(GRADS), lr=0.5)
    assert not isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out.copy_to_host(), co.run_optimizer("sgd", THETA0, GRADS, lr=0.5))


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match="lr must be >= 0"):
        co.sgd_step(THETA0.copy(), GRADS[0], lr=-0.1)
    with pytest.raises(ValueError, match=r"beta1 must be < 1"):
        co.adam_step(THETA0.copy(), GRADS[0], np.zeros(3), np.zeros(3), 1, lr=0.1, beta1=1.0, beta2=0.9, eps=0.0)
    with pytest.raises(ValueError, match=r"grad must be finite; grad\[1\] = nan"):
        co.sgd_step(cuda.to_device(THETA0), cuda.to_device(np.array([0.0, np.nan, 0.0])), lr=0.1)
    with pytest.raises(ValueError, match="theta must be writable"):
        frozen = THETA0.copy()
        frozen.flags.writeable = False
        co.sgd_step(frozen, GRADS[0], lr=0.1)
    with pytest.raises(TypeError, match="grad must have dtype float64"):
        co.sgd_step(THETA0.copy(), GRADS[0].astype(np.float32), lr=0.1)
    with pytest.raises(ValueError, match=r"t must be >= 1"):
        co.adam_step(THETA0.copy(), GRADS[0], np.zeros(3), np.zeros(3), 0, lr=0.1, beta1=0.9, beta2=0.9, eps=0.0)
    with pytest.raises(ValueError, match=r"grads\[2\] \(step 3\) is not finite: grads\[2, 0\] = inf"):
        bad = GRADS.copy()
        bad[2, 0] = np.inf
        co.run_optimizer("sgd", THETA0, bad, lr=0.1)


def test_device_state_that_is_aliased_or_not_finite_is_refused():
    d_m = cuda.to_device(np.zeros(3))
    with pytest.raises(ValueError, match="m and v share memory"):
        co.adam_step(cuda.to_device(THETA0), GRADS[0], d_m, d_m, 1, lr=0.1, beta1=0.9, beta2=0.9, eps=1e-8)
    with pytest.raises(TypeError, match="m must be a NumPy or device array"):
        co.adam_step(THETA0.copy(), GRADS[0], [0.0, 0.0, 0.0], np.zeros(3), 1, lr=0.1, beta1=0.9, beta2=0.9, eps=0.0)
    d_v = cuda.to_device(np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match=r"v must be finite; v held 1 NaN/inf entry before this step; now v\[1\]"):
        co.adam_step(cuda.to_device(THETA0), GRADS[0], d_m, d_v, 1, lr=0.1, beta1=0.9, beta2=0.9, eps=1e-8)
