"""Bad input gets a ValueError/TypeError naming the argument and showing the offending value, on every backend
alike; nothing is renormalised, clipped or cast.

The cases of the losses are generated from their records (:data:`verify.kernels.losses.RECORDS`): for each
argument, the ways its kinds can be wrong (dtype, rank, shape, NaN/inf, values outside the domain, ``None``,
object arrays), each option outside its domain, and an unknown reduction. With ``--backends cuda`` under
``NUMBA_ENABLE_CUDASIM=1`` the same cases run on the CUDA backend.
"""

from __future__ import annotations

import numpy as np
import pytest

from verify.kernels import activations as act
from verify.kernels import losses as los
from verify.kernels import network as net
from verify.kernels.catalogue import KINDS, LossRecord


def _replace(args: tuple, index: int, value) -> tuple:
    return tuple(value if i == index else a for i, a in enumerate(args))


def _cases(record: LossRecord) -> list[tuple[str, tuple, dict, type, list[str]]]:
    """``(case id, args, options, exception, fragments of the message)`` for every way the record's arguments
    and options can be wrong."""
    args = record.edge_cases(np.dtype(np.float64))[0]
    n = args[0].shape[0]
    k = args[0].shape[1] if args[0].ndim == 2 else 1
    out = []
    for i, argument in enumerate(record.arguments):
        name = argument.name
        good = args[i]

        def add(what, value, exc, *fragments, i=i, name=name):
            out.append((f"{name}-{what}", _replace(args, i, value), {}, exc, [name, *fragments]))

        add("none", None, TypeError, "None")
        add("object", np.array([None] * n, dtype=object), TypeError, "None")
        add("strings", ["a"] * n, TypeError)
        kind = KINDS[argument.kinds[0]]
        if kind.floats:
            add("nan", np.where(np.arange(good.size).reshape(good.shape) == 0, np.nan, good), ValueError, "nan")
            add("inf", np.where(np.arange(good.size).reshape(good.shape) == 1, -np.inf, good), ValueError, "-inf")
            add("float16", good.astype(np.float16), TypeError, "float16")
            if i == 0:
                add("integers", good.astype(np.int64), TypeError, "int")
                add("rank", good.reshape(-1) if good.ndim == 2 else good.reshape(-1, 1), ValueError, "ndim")
                add("no-rows", good[:0], ValueError, "at least one row")
            else:
                add("float32", good.astype(np.float32), TypeError, "float32")
                add("rows", good[:-1], ValueError, "shape")
        if argument.kinds[0] == "probabilities":
            add("above-one", np.where(np.arange(n) == 1, 1.5, good), ValueError, "1.5")
            add("negative", np.where(np.arange(n) == 2, -0.5, good), ValueError, "-0.5")
        if "simplex" in argument.kinds and argument.kinds[0] == "simplex":
            bad = good.copy()
            bad[1] = 0.0
            bad[1, 0] = 0.75
            add("sum", bad, ValueError, "sum to 1", "0.75", "never renormalises")
            bad = good.copy()
            bad[0, :2] = [1.5, -0.5]
            bad[0, 2:] = 0.0
            add("negative", bad, ValueError, "non-negative", "-0.5")
        if "labels" in argument.kinds:
            add("class-k", np.where(np.arange(n) == 1, k, np.zeros(n, np.int64)), ValueError, f"[0, {k})", f"= {k}")
            add("class-minus-one", np.where(np.arange(n) == 2, -1, np.zeros(n, np.int64)), ValueError, "= -1")
            add("class-rows", np.zeros(n + 1, np.int64), ValueError, f"({n},)")
            add("float-classes", np.zeros(n), TypeError, "integer class indices")
        if argument.kinds[0] == "signs":
            add("zero", np.where(np.arange(n) == 1, 0, np.ones(n, np.int64)), ValueError, "-1 and +1", "= 0")
            add("sign-rows", np.ones(n + 1, np.int64), ValueError, f"({n},)")
        if argument.kinds[0] == "binary":
            add("minus-one", np.where(np.arange(n) == 0, -1, np.ones(n, np.int64)), ValueError, "0 and 1",
                "plus_minus_one")
            add("two", np.where(np.arange(n) == 3, 2, np.ones(n, np.int64)), ValueError, "= 2")
            add("nan-label", np.where(np.arange(n) == 3, np.nan, np.ones(n)), ValueError, "nan")
    for option in record.options:
        if option.choices:
            bad_values = ["bogus"]
        else:
            low, high, low_inclusive, high_inclusive = option.interval
            bad_values = [low - 1.0, np.nan, "1", None] + ([] if low_inclusive else [low])
            bad_values += [high + 0.5] if np.isfinite(high) else [np.inf]
        for value in bad_values:
            exc = TypeError if isinstance(value, str) and not option.choices or value is None else ValueError
            out.append((f"option-{option.name}-{value!r}", args, {option.name: value}, exc, [option.name]))
    out.append(("reduction-avg", args, {"reduction": "avg"}, ValueError, ["reduction", "'avg'"]))
    return out


LOSS_CASES = [(record.name, *case) for record in los.RECORDS.values() for case in _cases(record)]


@pytest.mark.parametrize(("name", "case", "args", "options", "exception", "fragments"), LOSS_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in LOSS_CASES])
def test_bad_loss_input_is_refused_with_a_clear_message(name, case, args, options, exception, fragments, backend):
    with pytest.raises(exception) as info:
        los.LOSSES[name](*args, backend=backend, **options)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize("name", sorted(los.RECORDS))
def test_missing_arguments_and_unknown_keywords_are_python_type_errors(name):
    args = los.RECORDS[name].edge_cases(np.dtype(np.float64))[0]
    with pytest.raises(TypeError, match="missing"):
        los.LOSSES[name](*args[:-1])
    with pytest.raises(TypeError, match="unexpected keyword"):
        los.LOSSES[name](*args, reductions="sum")


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend must be one of .*'tpu'"):
        los.softmax_cross_entropy(np.zeros((1, 2)), np.array([0]), backend="tpu")
    with pytest.raises(ValueError, match="backend must be one of .*'tpu'"):
        act.softmax(np.zeros((1, 2)), backend="tpu")


Z = np.array([[1.0, -2.0], [0.5, 3.0]])

ACTIVATION_CASES = [
    # (call, exception, fragments the message must contain)
    (lambda b: act.activation("sigmoid", np.array([1.0, np.nan]), backend=b), ValueError, ["x", "nan"]),
    (lambda b: act.activation("sigmoid", np.array([np.inf]), backend=b), ValueError, ["x", "inf"]),
    (lambda b: act.activation("swish", np.zeros(2), backend=b), ValueError, ["name", "'swish'"]),
    (lambda b: act.activation("relu", np.array([1, 2]), backend=b), TypeError, ["x", "int"]),
    (lambda b: act.activation("relu", None, backend=b), TypeError, ["x", "None"]),
    (lambda b: act.activation_derivative("tanh", np.zeros(2, np.float16), backend=b), TypeError, ["x", "float16"]),
    (lambda b: act.softmax(np.zeros(3), backend=b), ValueError, ["z", "(3,)"]),
    (lambda b: act.softmax(np.zeros((2, 0)), backend=b), ValueError, ["z", "column"]),
    (lambda b: act.logsumexp(np.array([[1.0, -np.inf]]), backend=b), ValueError, ["z", "-inf"]),
    (lambda b: act.log_softmax(np.array([["a", "b"]]), backend=b), TypeError, ["z"]),
]


@pytest.mark.parametrize(("call", "exception", "fragments"), ACTIVATION_CASES,
                         ids=[f"case{i}" for i in range(len(ACTIVATION_CASES))])
def test_bad_activation_input_is_refused_with_a_clear_message(call, exception, fragments, backend):
    with pytest.raises(exception) as info:
        call(backend)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_probabilities_are_never_renormalised(backend):
    almost = np.array([[0.5, 0.5 - 1e-9]])
    with pytest.raises(ValueError, match="never renormalises"):
        los.entropy(almost, backend=backend)
    assert almost.tolist() == [[0.5, 0.5 - 1e-9]]  # the caller's array is untouched


# --------------------------------------------------------------------------------------------------
# networks: the tape, the error bound's arguments


def _network():
    network = net.Network((net.dense_layer(3, 3), net.dense_layer(3, 2)), "softmax_cross_entropy")
    params = net.init_parameters(network, np.random.default_rng(0))
    return network, params, np.random.default_rng(1).standard_normal((4, 3)), np.array([0, 1, 1, 0])


def test_a_tape_of_another_network_is_refused(backend):
    network, params, y, _ = _network()
    wider = net.Network((net.dense_layer(3, 2), net.dense_layer(2, 2)), "softmax_cross_entropy")
    wider_params = net.init_parameters(wider, np.random.default_rng(2))
    tape = net.network_forward(wider, wider_params, y, backend="numpy")  # layer 0 of width 2, not 3
    with pytest.raises(ValueError, match=r"tape.slopes\[0\] must have shape \(4, 3\).*got \(4, 2\)"):
        net.network_backward(network, params, tape, np.ones((4, 2)), backend=backend)
    short = net.Tape(tape.inputs[:1], tape.slopes[:1], tape.output)
    with pytest.raises(ValueError, match=r"tape.inputs must hold one array per layer \(2\); got 1"):
        net.network_backward(network, params, short, np.ones((4, 2)), backend=backend)
    with pytest.raises(TypeError, match="tape must be the Tape"):
        net.network_backward(network, params, (tape.inputs, tape.slopes, tape.output), np.ones((4, 2)),
                             backend=backend)
    good = net.network_forward(network, params, y, backend="numpy")
    nan_slopes = net.Tape(good.inputs, (np.full((4, 3), np.nan), good.slopes[1]), good.output)
    with pytest.raises(ValueError, match=r"tape.slopes\[0\] must be finite"):
        net.network_backward(network, params, nan_slopes, np.ones((4, 2)), backend=backend)
    f32 = net.Tape(tuple(a.astype(np.float32) for a in good.inputs), good.slopes, good.output)
    with pytest.raises(TypeError, match=r"tape.inputs\[0\] must have dtype float64"):
        net.network_backward(network, params, f32, np.ones((4, 2)), backend=backend)


def test_error_bound_checks_its_arguments_like_the_network():
    network, params, y, target = _network()
    net.backward_error_bound(network, params, y, target)
    with pytest.raises(ValueError, match="reduction must be one of .*'avg'"):
        net.backward_error_bound(network, params, y, target, reduction="avg")
    with pytest.raises(ValueError, match=r"target must lie in \[0, 2\); target\[1\] = -1"):
        net.backward_error_bound(network, params, y, np.array([0, -1, 1, 0]))
    with pytest.raises(TypeError, match="target must be an array; got None"):
        net.backward_error_bound(network, params, y, None)
    with pytest.raises(ValueError, match="y must have shape"):
        net.backward_error_bound(network, params, np.ones((4, 5)), target)


def test_network_target_none_or_objects(backend):
    network, params, y, _ = _network()
    with pytest.raises(TypeError, match="target must be an array; got None"):
        net.network_value_and_grad(network, params, y, None, backend=backend)
    with pytest.raises(TypeError, match="target must be .*None"):
        net.network_loss(network, params, y, np.array([None] * 4), backend=backend)


def test_big_endian_labels_are_read_as_their_values(backend):
    # a Numba kernel typed for another byte order failed with a raw TypingError; floats are refused with a TypeError
    z = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 0.0], [3.0, -2.0, 0.25]])
    labels = np.array([2, 0, 1])
    expected = los.softmax_cross_entropy(z, labels, backend=backend)
    for dtype in (">i8", ">u4"):
        value, grad = los.softmax_cross_entropy(z, labels.astype(dtype), backend=backend)
        assert value == expected[0]
        np.testing.assert_array_equal(np.asarray(grad), np.asarray(expected[1]))
    x = np.array([0.5, -1.0, 2.0])
    binary = np.array([1, 0, 1])
    expected = los.logistic_from_logit(x, binary, backend=backend)
    for dtype in (">i8", ">f8", ">f4"):
        assert los.logistic_from_logit(x, binary.astype(dtype), backend=backend)[0] == expected[0]
    with pytest.raises(ValueError, match=r"target must contain only 0 and 1 .*; target\[1\] = 2$"):
        los.logistic_from_logit(x, np.array([1, 2, 0], dtype=">i8"), backend=backend)


def test_a_uint64_label_beyond_int64_is_named_with_its_own_value(backend):
    z = np.zeros((3, 4))
    labels = np.array([1, 2**63 + 1, 3], dtype=np.uint64)  # cast to int64 it would read −9223372036854775807
    with pytest.raises(ValueError, match=r"target must lie in \[0, 4\); target\[1\] = 9223372036854775809$"):
        los.softmax_cross_entropy(z, labels, backend=backend)
    with pytest.raises(ValueError, match=r"target must lie in \[0, 4\); target\[1\] = 4$"):
        los.softmax_cross_entropy(z, np.array([1, 4, 3], dtype=np.uint64), backend=backend)


def test_a_float32_row_loss_beyond_float32_is_inf_without_a_warning(backend, recwarn):
    z = np.array([[3e38, -3e38]], dtype=np.float32)  # −log σ(z)_1 = 6e38: beyond float32, not float64
    value, _ = los.softmax_cross_entropy(z, np.array([1]), reduction="none", backend=backend)
    assert np.asarray(value).dtype == np.float32 and np.isposinf(np.asarray(value)[0])
    if backend != "cuda":  # the CUDA simulator casts with NumPy in threads of its own (a real GPU warns of nothing)
        assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in recwarn]
