"""The binary losses' labels as float64 signs ±1 on the host backends: one compiled pass (cpu, parallel), NumPy's
formula (numpy), the same values whatever the labels' dtype; ±1 labels already in float64 are read, not copied."""

import numpy as np
import pytest

from verify.kernels import losses
from verify.kernels.catalogue import array_backend

_ZERO_ONE = np.array([0, 1, 1, 0, 1] * 2001)  # 10,005 labels: several chunks on the parallel backend


@pytest.mark.parametrize("backend", ["numpy", "cpu", "parallel"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.float32, np.float64])
def test_zero_one_labels_become_minus_one_and_one(backend, dtype):
    labels = _ZERO_ONE.astype(dtype)
    signs = array_backend(backend).signs(labels, True)
    assert signs.dtype == np.float64
    np.testing.assert_array_equal(signs, 2.0 * _ZERO_ONE - 1.0)
    np.testing.assert_array_equal(labels, _ZERO_ONE.astype(dtype))  # the caller's labels are left as they were


@pytest.mark.parametrize("backend", ["cpu", "parallel"])
def test_float64_signs_are_read_in_place_and_other_dtypes_converted(backend):
    arrays = array_backend(backend)
    signs = 2.0 * _ZERO_ONE - 1.0
    assert arrays.signs(signs, False) is signs
    converted = arrays.signs(signs.astype(np.float32), False)
    assert converted.dtype == np.float64 and not np.shares_memory(converted, signs)
    np.testing.assert_array_equal(converted, signs)


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32])
def test_logistic_loss_of_labels_in_any_dtype_is_that_of_the_float64_labels(dtype):
    rng = np.random.default_rng(3)
    x = 2.0 * rng.standard_normal(_ZERO_ONE.size)
    reference = losses.logistic_from_logit(x, _ZERO_ONE.astype(np.float64), backend="numpy", reduction="none")
    for backend in ("cpu", "parallel"):
        expected = losses.logistic_from_logit(x, 2.0 * _ZERO_ONE - 1.0, labels="plus_minus_one", backend=backend,
                                              reduction="none")
        value, grad = losses.logistic_from_logit(x, _ZERO_ONE.astype(dtype), backend=backend, reduction="none")
        np.testing.assert_array_equal(value, expected[0])
        np.testing.assert_array_equal(grad, expected[1])
        np.testing.assert_allclose(value, reference[0], rtol=1e-15, atol=0.0)  # the kernels: within a few ULPs
        np.testing.assert_allclose(grad, reference[1], rtol=1e-15, atol=0.0)
    wrong = losses.logistic_from_logit(x, 1 - _ZERO_ONE.astype(dtype), backend="cpu", reduction="none")
    assert not np.allclose(wrong[0], reference[0])  # the comparisons above can tell the labels apart
