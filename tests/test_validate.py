"""Argument validation: every refusal names the argument and shows the value."""

import numpy as np
import pytest

from verify import _validate as v


def test_float_arrays_pass_through_without_copy():
    x = np.zeros((2, 3))
    assert v.as_float_array(x, "x") is x


@pytest.mark.parametrize("bad", [np.arange(3), [1, 2, 3], np.array([True, False])])
def test_integer_and_bool_data_are_refused_not_cast(bad):
    with pytest.raises(TypeError, match="x must"):
        v.as_float_array(bad, "x")


def test_float16_is_refused():
    with pytest.raises(TypeError, match="float32 or float64"):
        v.as_float_array(np.zeros(3, dtype=np.float16), "logits")


def test_ndim_is_checked():
    with pytest.raises(ValueError, match=r"logits must have ndim in \(2,\); got shape \(3,\)"):
        v.as_float_array(np.zeros(3), "logits", ndim=2)


def test_non_finite_entry_is_located():
    x = np.array([[0.0, 1.0], [np.nan, 2.0]])
    with pytest.raises(ValueError, match=r"x must be finite; x\[1, 0\] = nan"):
        v.require_finite(x, "x")


def test_rows_not_summing_to_one_are_refused_not_renormalised():
    p = np.array([[0.5, 0.5], [0.5, 0.6]])
    with pytest.raises(ValueError, match=r"row \[1\] sums to 1.1"):
        v.require_simplex_rows(p, "p")
    assert p[1, 1] == 0.6  # untouched


def test_rounding_level_deviation_from_one_is_accepted():
    p = np.full((1, 10), 0.1)  # sums to 0.9999999999999999 in float64
    v.require_simplex_rows(p, "p")


def test_negative_probability_is_refused():
    with pytest.raises(ValueError, match="p must be non-negative"):
        v.require_simplex_rows(np.array([[1.5, -0.5]]), "p")


def test_labels_out_of_range_and_wrong_dtype():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\); labels\[1\] = 3"):
        v.require_labels(np.array([0, 3]), "labels", 2, 3)
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        v.require_labels(np.array([0.0, 1.0]), "labels", 2, 3)
    with pytest.raises(ValueError, match=r"labels must have shape \(2\)"):
        v.require_labels(np.array([0, 1, 2]), "labels", 2, 3)


def test_sign_labels():
    v.require_sign_labels(np.array([1.0, -1.0]), "y")
    with pytest.raises(ValueError, match=r"y must contain only -1 and \+1; y\[1\] = 0"):
        v.require_sign_labels(np.array([1, 0]), "y")


@pytest.mark.parametrize(
    ("value", "exc", "pattern"),
    [
        (-0.1, ValueError, "lr must be >= 0"),
        (float("nan"), ValueError, "lr must be finite"),
        ("0.1", TypeError, "lr must be a real number"),
        (True, TypeError, "lr must be a real number"),
    ],
)
def test_scalar_hyperparameters(value, exc, pattern):
    with pytest.raises(exc, match=pattern):
        v.require_scalar(value, "lr", low=0.0)


def test_open_interval_bound():
    with pytest.raises(ValueError, match="beta must be < 1"):
        v.require_scalar(1.0, "beta", low=0.0, high=1.0, high_inclusive=False)
    assert v.require_scalar(0.0, "beta", low=0.0, high=1.0, high_inclusive=False) == 0.0


def test_choice():
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum'\); got 'avg'"):
        v.require_choice("avg", "reduction", ("mean", "sum"))
