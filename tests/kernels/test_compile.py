"""Kernels written once: the generated serial, parallel and CUDA loops compute what the one function says."""

from __future__ import annotations

import math

import numpy as np
import pytest

from verify._jit import jit
from verify.kernels._compile import COMPILED, blockwise, elementwise, reduction, switch
from verify.kernels.network import _sum_rows  # a column sum over a part of the rows


@jit(inline="always", cache=False)
def _momentum(theta, g, b, lr, mu):
    b = mu * b + g
    return theta - lr * b, b


@jit(inline="always", cache=False)
def _row_logsumexp(z, out):
    for r in range(z.shape[0]):
        m = z[r, 0]
        for k in range(1, z.shape[1]):
            m = max(m, z[r, k])
        s = 0.0
        for k in range(z.shape[1]):
            s += math.exp(z[r, k] - m)
        out[r] = m + math.log(s)


MOMENTUM = elementwise(_momentum, name="test_compile_momentum", arrays=("theta", "g", "b"),
                       assigned=("theta", "b"), scalars=("lr", "mu"), cache=False)
LSE = {rows: blockwise(_row_logsumexp, name=f"test_compile_lse_{rows}", arrays=("z", "out"), rows_per_block=rows,
                       cache=False) for rows in (1, 3, 256)}


def _momentum_numpy(theta, g, b, lr, mu):
    b = mu * b + g
    return theta - lr * b, b


@pytest.mark.parametrize("variant", ["cpu", "parallel"])
def test_elementwise_variants_compute_the_function_at_every_index(variant):
    rng = np.random.default_rng(0)
    theta, g, b = rng.normal(size=(3, 3 * 4096 + 1001))  # parallel: four chunks, the last one partial
    want_theta, want_b = _momentum_numpy(theta, g, b, 0.1, 0.9)
    theta, b = theta.copy(), b.copy()
    getattr(MOMENTUM, variant)(theta, g, b, 0.1, 0.9)
    np.testing.assert_array_equal(theta, want_theta)  # the same IEEE operations in the same order
    np.testing.assert_array_equal(b, want_b)


def test_one_compiled_kernel_serves_both_cpu_backends():
    # Numba's cache key does not include `parallel`: a prange twin under the same name would share machine code.
    # There is no twin: cpu and parallel run the one serial kernel (on one thread, on chunks over all threads).
    assert MOMENTUM.serial.py_func.__qualname__ == "test_compile_momentum__cpu"
    assert not MOMENTUM.serial.targetoptions.get("parallel")
    assert MOMENTUM.serial.targetoptions.get("nogil") is True  # else the threads would take turns
    assert "prange" not in MOMENTUM.source and "_first, _last" in MOMENTUM.source
    theta, g, b = np.ones((3, 50_000))
    MOMENTUM.parallel(theta, g, b, 0.1, 0.9)
    assert len(MOMENTUM.serial.signatures) == 1  # what cpu then calls: nothing more to compile
    assert COMPILED["test_compile_momentum"] is MOMENTUM


@pytest.mark.parametrize("rows", [1, 3, 256])
@pytest.mark.parametrize("variant", ["cpu", "parallel"])
def test_blockwise_gives_every_row_to_the_function_whatever_the_block_size(variant, rows):
    z = np.random.default_rng(1).normal(size=(1000, 7)) * 30.0  # 1000 rows: the last block is partial
    out = np.full(1000, np.nan)
    getattr(LSE[rows], variant)(z, out)
    m = z.max(axis=1)
    want = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    np.testing.assert_allclose(out, want, rtol=8 * np.finfo(float).eps)


def test_a_wrong_row_function_is_visible_through_every_variant():
    @jit(inline="always", cache=False)
    def _skips_the_last_column(z, out):
        for r in range(z.shape[0]):
            s = 0.0
            for k in range(z.shape[1] - 1):
                s += math.exp(z[r, k])
            out[r] = math.log(s)

    wrong = blockwise(_skips_the_last_column, name="test_compile_wrong_lse", arrays=("z", "out"), cache=False)
    z = np.zeros((5, 4))
    for variant in ("cpu", "parallel"):
        out = np.empty(5)
        getattr(wrong, variant)(z, out)
        assert np.all(out == np.log(3.0))  # not log 4: the generated loop adds nothing of its own


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"arrays": ("x", "x"), "assigned": ("x",)}, "repeated: \\['x'\\]"),
        ({"arrays": ("x",), "assigned": ("y",)}, "assigned must be a non-empty subset"),
        ({"arrays": ("x", "not valid"), "assigned": ("x",)}, "identifiers; got 'not valid'"),
        ({"arrays": ("_i",), "assigned": ("_i",)}, "reserved for the generated loop"),
        ({"arrays": (), "assigned": ()}, "at least one array"),
    ],
)
def test_bad_specifications_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        elementwise(_momentum, name="test_compile_bad", cache=False, **kwargs)


def test_a_name_is_generated_once():
    with pytest.raises(ValueError, match="already generated"):
        elementwise(_momentum, name="test_compile_momentum", arrays=("theta", "g", "b"), assigned=("theta", "b"),
                    scalars=("lr", "mu"), cache=False)


def test_rows_per_block_must_be_positive():
    with pytest.raises(ValueError, match="rows_per_block must be an integer >= 1; got 0"):
        blockwise(_row_logsumexp, name="test_compile_zero_rows", arrays=("z", "out"), rows_per_block=0, cache=False)


# ------------------------------------------------------------------------------ scratch, reduction, switch


@jit(inline="always", cache=False)
def _two_pass_log_sum(z, out, work):
    # per-row values kept in the scratch rows between two loops over the block
    for r in range(z.shape[0]):
        work[0, r] = z[r, 0] + z[r, 1]
        work[1, r] = z[r, 0] * z[r, 1]
    for r in range(z.shape[0]):
        out[r] = work[0, r] - work[1, r]


@jit(inline="always", cache=False)
def _first_negative(x, out, first):
    out[0] = 0
    out[1] = -1
    for i in range(x.shape[0]):
        if x[i] < 0.0:
            if out[0] == 0:
                out[1] = first + i
            out[0] += 1


SCRATCH = blockwise(_two_pass_log_sum, name="test_compile_scratch", arrays=("z", "out"), rows_per_block=7,
                    scratch=2, cache=False)
COLUMN_SUMS = reduction(_sum_rows, name="test_compile_column_sums", arrays=("x", "out"), out="out", cache=False)
FIRST_NEGATIVE = reduction(_first_negative, name="test_compile_first_negative", arrays=("x", "out"), out="out",
                           cache=False)


@pytest.mark.parametrize("variant", ["cpu", "parallel"])
def test_blockwise_scratch_holds_per_row_values_of_the_block(variant):
    z = np.random.default_rng(4).normal(size=(50, 2))
    out = np.full(50, np.nan)
    getattr(SCRATCH, variant)(z, out)
    np.testing.assert_array_equal(out, (z[:, 0] + z[:, 1]) - z[:, 0] * z[:, 1])


@pytest.mark.parametrize("parts", [1, 3, 64])
@pytest.mark.parametrize("variant", ["cpu", "parallel"])
def test_reduction_parts_cover_every_row_once_and_do_not_depend_on_threads(variant, parts):
    x = np.random.default_rng(5).normal(size=(1001, 3))
    partial = np.full((parts, 3), np.nan)
    getattr(COLUMN_SUMS, variant)(x, partial)
    bounds = [p * 1001 // parts for p in range(parts + 1)]
    want = np.array([x[lo:hi].sum(axis=0) if hi > lo else np.zeros(3) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)])
    np.testing.assert_allclose(partial, want, rtol=1e-13, atol=1e-13)
    other = np.empty_like(partial)
    getattr(COLUMN_SUMS, "parallel" if variant == "cpu" else "cpu")(x, other)
    np.testing.assert_array_equal(other, partial)  # the same sums in the same order: the same bits


@pytest.mark.parametrize("variant", ["cpu", "parallel"])
def test_reduction_passes_the_first_row_of_each_part(variant):
    x = np.zeros(100)
    x[[37, 38, 90]] = -1.0
    partial = np.zeros((8, 2), dtype=np.int64)
    getattr(FIRST_NEGATIVE, variant)(x, partial)
    assert partial[:, 0].sum() == 3
    assert min(int(i) for c, i in partial if c) == 37


def test_a_reduction_needs_out_among_the_arrays_and_another_array():
    with pytest.raises(ValueError, match="out must be one of arrays"):
        reduction(_sum_rows, name="test_compile_bad_out", arrays=("x", "out"), out="y", cache=False)
    with pytest.raises(ValueError, match="out must be one of arrays"):
        reduction(_sum_rows, name="test_compile_only_out", arrays=("out",), out="out", cache=False)


def test_a_cuda_signature_must_type_every_parameter_of_the_cuda_kernel():
    # The simulator ignores signatures, so the one of a reduction that typed its part's first row (an int64 the
    # kernel does not take) broke only PTX compilation for a real GPU; now it is refused when the kernel is built.
    with pytest.raises(ValueError, match=r"test_compile_bad_signature: signature .* types 3 arguments; the CUDA "
                                         r"kernel takes 2 \(x, out\)"):
        reduction(_sum_rows, name="test_compile_bad_signature", arrays=("x", "out"), out="out", cache=False,
                  signatures=("void(float64[:, ::1], float64[:, ::1], int64)",))
    # an elementwise kernel counting non-finite entries takes one array more on CUDA (the counts)
    with pytest.raises(ValueError, match="types 5 arguments; the CUDA kernel takes 6"):
        elementwise(_momentum, name="test_compile_bad_count_signature", arrays=("theta", "g", "b"),
                    assigned=("theta", "b"), scalars=("lr", "mu"), count_nonfinite=("g",), cache=False,
                    signatures=("void(float64[::1], float64[::1], float64[::1], float64, float64)",))
    for bad, message in (("void(float64[:, ::1], float64[:, ::1])", "a sequence of signature strings"),
                         (("void(float64[:, ::1], float64[:, ::1]",), "is not a Numba signature .SyntaxError"),
                         (("void(floaty[:, ::1], float64[:, ::1])",), "is not a Numba signature .NameError")):
        with pytest.raises(ValueError, match=f"test_compile_unparsed_signature: .*{message}"):
            reduction(_sum_rows, name="test_compile_unparsed_signature", arrays=("x", "out"), out="out", cache=False,
                      signatures=bad)
    good = reduction(_sum_rows, name="test_compile_good_signature", arrays=("x", "out"), out="out", cache=False,
                     signatures=("void(float64[:, ::1], float64[:, ::1])",))
    assert good.signatures == ("void(float64[:, ::1], float64[:, ::1])",)
    from_generator = reduction(_sum_rows, name="test_compile_generator_signature", arrays=("x", "out"), out="out",
                               cache=False, signatures=(s for s in ["void(float64[:, ::1], float64[:, ::1])"]))
    assert from_generator.signatures == ("void(float64[:, ::1], float64[:, ::1])",)  # read once, kept whole


def test_every_kernel_of_the_package_declares_signatures_of_its_cuda_kernel():
    from verify.kernels._compile import _checked_signatures

    assert COMPILED
    for compiled in COMPILED.values():
        assert _checked_signatures(compiled.name, compiled.cuda_source, compiled.signatures) == compiled.signatures


@jit(inline="always", cache=False)
def _double(x):
    return 2.0 * x


@jit(inline="always", cache=False)
def _square(x):
    return x * x


_SQUARE_OR_DOUBLE = switch((_double, _square), name="test_compile_switch")


@jit(cache=False)
def _apply_switch(code, x):
    return _SQUARE_OR_DOUBLE(code, x)


def test_switch_calls_the_function_of_the_code():
    assert _apply_switch(0, 3.0) == 6.0 and _apply_switch(1, 3.0) == 9.0
    with pytest.raises(ValueError, match="at least one function"):
        switch((), name="test_compile_empty_switch")


def test_scratch_must_be_a_nonnegative_integer():
    with pytest.raises(ValueError, match="scratch must be an integer >= 0; got -1"):
        blockwise(_row_logsumexp, name="test_compile_bad_scratch", arrays=("z", "out"), scratch=-1, cache=False)
