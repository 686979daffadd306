"""The references themselves: correct rounding, evaluation forms equal to the source's definitions,
``sympy.diff`` gradients, one-sided limits and known values."""

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from verify.symbolic import (
    SYMBOLIC_ACTIVATIONS,
    SYMBOLIC_LOSSES,
    Compiled,
    logsumexp_reference,
    mp_to_float64,
    softmax_definition,
    softmax_reference,
    to_float64,
)
from verify.symbolic.activations import X, logit_symbols
from verify.symbolic.highprec import exact_span_bits


def _exact_nearest(value: Fraction) -> float:
    """The float64 nearest to ``value`` (ties to even), by brute force over the neighbours."""
    guess = float(value)  # Fraction → float is correctly rounded in CPython; cross-check its neighbours
    candidates = [guess, math.nextafter(guess, math.inf), math.nextafter(guess, -math.inf)]
    return min(candidates, key=lambda c: (abs(Fraction(c) - value), int.from_bytes(
        np.float64(c).tobytes(), "little") & 1))


@pytest.mark.parametrize("seed", range(3))
def test_mp_to_float64_rounds_correctly_including_subnormals_and_ties(seed):
    rng = np.random.default_rng(seed)
    with mpmath.workprec(300):
        for _ in range(400):
            exponent = int(rng.integers(-1140, 960))
            mantissa = int(rng.integers(1, 2**62)) * (1 if rng.random() < 0.5 else -1)
            if rng.random() < 0.2:  # an exact tie between two floats
                mantissa = 2 * int(rng.integers(2**52, 2**53)) + 1  # 54 bits, odd
            value = mpmath.ldexp(mpmath.mpf(mantissa), exponent)
            exact = Fraction(mantissa) * Fraction(2) ** exponent
            assert mp_to_float64(value) == _exact_nearest(exact)
    assert mp_to_float64(mpmath.mpf(2) ** -1075) == 0.0  # half the smallest subnormal: tie to even (0)
    assert mp_to_float64(mpmath.mpf(2) ** 1024) == math.inf


def _points(symbols, rng, *, positive=False, simplex_groups=()):
    values = {s: sp.Float(float(rng.uniform(0.05, 0.95) if positive else rng.normal() * 3), 30) for s in symbols}
    for group in simplex_groups:
        weights = rng.uniform(0.1, 1.0, size=len(group))
        for s, w in zip(group, weights / weights.sum(), strict=True):
            values[s] = sp.Float(float(w), 30)
    return values


def _cases() -> list[tuple[str, int, object]]:
    """(loss, k, key) for every record: the keys its edge cases reach (each label of a binary loss, each
    (t, j) of the multi-class hinge), rows of 3 entries (1 for one entry per example)."""
    from verify.symbolic.losses import _prepare

    out = []
    for name, loss in sorted(SYMBOLIC_LOSSES.items()):
        k = 1 if loss.row_shape == "scalar" else 3
        keys = set()
        for args in loss.record.edge_cases(np.dtype(np.float64)):
            rows, row_keys, _ = _prepare(loss, args, "zero_one")
            keys |= {key for row, key in zip(rows, row_keys, strict=True) if len(row[0]) == k}
        out += [(name, k, key) for key in sorted(keys, key=repr)]
    return out


CASES = _cases()


@pytest.mark.parametrize(("name", "k", "key"), CASES)
def test_evaluation_form_equals_the_definition_and_its_derivative(name, k, key):
    loss = SYMBOLIC_LOSSES[name]
    forms = loss.forms(k, key)
    wrt = forms.symbols[loss.wrt]
    probability_groups = [g for g in forms.symbols if str(g[0])[0] in "pqc"] if k > 1 else []
    rng = np.random.default_rng(0)
    for _ in range(5):
        point = _points(forms.flat_symbols, rng, positive=name.startswith("logistic_from_p"),
                        simplex_groups=probability_groups)
        if isinstance(key, tuple):  # (t, j): make j the highest-scoring wrong class, the margin positive
            t, j = key
            y = forms.symbols[0]
            point[y[j]] = max([point[y[i]] for i in range(k) if i not in (t, j)], default=0) + 1
            point[y[t]] = point[y[j]] + sp.Float("0.25", 30)
        definition = sp.N(forms.definition.subs(point), 25)
        value = sp.N(forms.value.subs(point), 25)
        assert abs(definition - value) <= 1e-20 * (1 + abs(definition)), (name, point)
        for symbol, grad in zip(wrt, forms.grads, strict=True):
            expected = sp.N(sp.diff(forms.definition, symbol).subs(point), 25)
            got = sp.N(grad.subs(point), 25)
            assert abs(expected - got) <= 1e-20 * (1 + abs(expected)), (name, symbol, point)


@pytest.mark.parametrize("name", sorted(SYMBOLIC_ACTIVATIONS))
def test_activation_evaluation_forms_equal_definitions(name):
    a = SYMBOLIC_ACTIVATIONS[name]
    for x in (-7.25, -0.5, 0.3, 2.0, 11.0):
        at = {X: sp.Float(x, 50)}
        assert abs(sp.N((a.definition - a.stable_definition).subs(at), 40)) < 1e-35
        assert abs(sp.N((a.derivative - a.stable_derivative).subs(at), 40)) < 1e-35
    assert a.source


def test_softmax_forms_equal_the_definition():
    z = logit_symbols(3)
    point = {z[0]: sp.Float(0.5, 50), z[1]: sp.Float(-2.0, 50), z[2]: sp.Float(3.25, 50)}
    expected = [to_float64(sp.N(e.subs(point), 40)) for e in softmax_definition(3)]
    assert softmax_reference(np.array([[0.5, -2.0, 3.25]]))[0].tolist() == expected
    assert logsumexp_reference(np.array([[0.5, -2.0, 3.25]]))[0] == to_float64(
        sp.N(sp.log(sum(sp.exp(v) for v in point.values())), 40))


def test_no_tiny_term_is_absorbed():
    # 1 − tanh²(300) cancels at any fixed precision below ~870 bits; the evaluation form sech² does not.
    _, derivative = SYMBOLIC_ACTIVATIONS["tanh"].reference(np.array([300.0]))
    with mpmath.workprec(4000):
        truth = mp_to_float64(1 - mpmath.tanh(300) ** 2)
    assert derivative[0] == truth and 0 < truth < 1e-250
    naive = Compiled([X], [1 - sp.tanh(X) ** 2]).evaluate([300.0])[0][0]
    assert naive == 0.0  # why the evaluation forms exist
    # log(1 + e^{−700}) = 9.86e−305, a normal float: log1p keeps it
    value, _ = SYMBOLIC_LOSSES["logistic_from_logit"].reference(np.array([700.0]), np.array([1]))
    assert value[0] == pytest.approx(math.exp(-700), rel=1e-15)


def test_differences_of_far_apart_arguments_are_exact():
    # z_0 − z_2 = 1e200 + 1.8e277 needs 309 bits: at 128 and 256 bits the 1e200 is absorbed at both, the two
    # precisions agree, and the softmax of the row comes out as [1/3, 1/3, 0, 1/3] instead of [1, 0, 0, 0].
    z = np.array([[1e200, 0.0, -1.7726622920963562e277, 0.0]])
    assert exact_span_bits(z[0]) == 309
    _, grad = SYMBOLIC_LOSSES["softmax_cross_entropy"].reference(z, np.array([2]), reduction="none")
    assert grad[0].tolist() == [1.0, 0.0, -1.0, 0.0]
    a, b = sp.symbols("a b")
    _, (difference,) = Compiled([a, b], [a - b]).evaluate([1e200, -1.7726622920963562e277])
    with mpmath.workprec(1024):  # the ladder starts where a − b is exact
        assert difference == mpmath.mpf(1e200) + mpmath.mpf(1.7726622920963562e277)
    with mpmath.workprec(256):
        assert mpmath.mpf(1e200) + mpmath.mpf(1.7726622920963562e277) == mpmath.mpf(1.7726622920963562e277)


def test_exact_span_bits():
    assert exact_span_bits([1.0]) == 1 and exact_span_bits([1.0, 0.5]) == 2 and exact_span_bits([0.0]) == 0
    assert exact_span_bits([5e-324, 1.7976931348623157e308]) == 1024 + 1074
    assert exact_span_bits([1.0 + 2.0**-52]) == 53


def test_boundary_values_are_one_sided_limits():
    value, grad = SYMBOLIC_LOSSES["kl_divergence"].reference(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
    assert value[0] == math.inf and grad[0].tolist() == [-0.5, -math.inf]
    value, grad = SYMBOLIC_LOSSES["logistic_from_probability"].reference(np.array([1.0]), np.array([0]))
    assert value[0] == math.inf and grad[0] == math.inf
    _, grad = SYMBOLIC_LOSSES["entropy"].reference(np.array([[1.0, 0.0]]))
    assert grad[0].tolist() == [-1.0, math.inf]


def test_known_values_and_reductions():
    sig, dsig = SYMBOLIC_ACTIVATIONS["sigmoid"].reference(np.array([0.0]))
    assert (sig[0], dsig[0]) == (0.5, 0.25)
    h, _ = SYMBOLIC_LOSSES["entropy"].reference(np.full((1, 4), 0.25))
    assert h[0] == math.log(4)
    p = np.array([[0.25, 0.75], [0.5, 0.5]])
    rows, g_rows = SYMBOLIC_LOSSES["entropy"].reference(p)
    mean, g_mean = SYMBOLIC_LOSSES["entropy"].reference(p, reduction="mean")
    assert mean == pytest.approx(rows.mean(), rel=1e-16) and np.array_equal(g_mean, g_rows / 2)
    assert "(002_1388b78ad9a2d202.txt)" in SYMBOLIC_LOSSES["softmax_cross_entropy"].source  # title, file beside it


def test_every_record_has_cases_and_its_options_enter_the_reference():
    assert {name for name, _, _ in CASES} == set(SYMBOLIC_LOSSES)
    huber = SYMBOLIC_LOSSES["huber"]
    f, c = np.array([[3.0, 0.25]]), np.zeros((1, 2))
    assert huber.reference(f, c, delta=1.0)[0][0] == 2.5 + 0.03125
    assert huber.reference(f, c, delta=4.0)[0][0] == 4.5 + 0.03125
    z, t = np.array([[0.0, 0.0]]), np.array([0])
    value, grad = SYMBOLIC_LOSSES["label_smoothed_cross_entropy"].reference(z, t, label_smoothing=0.5)
    assert value[0] == math.log(2) and grad[0].tolist() == [-0.25, 0.25]
    with pytest.raises(ValueError, match="label_smoothing must be <= 1.0"):
        SYMBOLIC_LOSSES["label_smoothed_cross_entropy"].reference(z, t, label_smoothing=1.5)
    with pytest.raises(TypeError, match="unknown option"):
        SYMBOLIC_LOSSES["least_squares"].reference(f, c, delta=1.0)
