"""What the adapters' reports say, as a new user reads them (issue 13, items 2 and 8): entries that are exactly 0
(the off-diagonal Jacobian of an elementwise function) verified, not left unverified without a word; every
unverified entry counted with its reason and remedy; the share of entries verified in the headline; ULP figures that
mean something near 0; the complex step's rejection worded for what was measured; bad options named after the
adapter. Each behaviour has a wrong twin that must fail."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _frameworks import F, jax, jnp, torch, vj, vt  # skips this module without torch or jax

from verify.checks import CheckFailure

pytestmark = pytest.mark.peers

POINT = [-1.0, 0.5, 2.0, 3.0]


def _torch(values, dtype):
    return torch.tensor(values, dtype=dtype)


def _assert_honest(report) -> None:
    """Every unverified entry is counted with its reason and a remedy, in the notes of the mode that has it."""
    for slot in report.slots:
        for mode in (slot.vjp, slot.jvp):
            if mode is not None and mode.unverified:
                reasons = [n for n in mode.notes if n.startswith("UNVERIFIED")]
                assert reasons and all("remedy" in n for n in reasons), mode.notes
    if report.unverified:
        assert any("to get a verdict on the UNVERIFIED entries" in n for n in report.notes), report.notes
        assert "UNVERIFIED" in report.headline()


# --- item 1: exactly-zero Jacobian entries --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", ["erf", "sin", "exp", "tanh", "sum", "softmax"])
def test_torch_elementwise_and_reductions_verify_their_zero_entries(name, dtype):
    fn = {"erf": torch.erf, "sin": torch.sin, "exp": torch.exp, "tanh": torch.tanh, "sum": lambda x: x.sum(-1),
          "softmax": lambda x: F.softmax(x, -1)}[name]
    report = vt.check_function(fn, (_torch(POINT, dtype),))
    assert report.unverified == 0, str(report)
    assert report.verified == report.entries > 0
    _assert_honest(report)


@pytest.mark.parametrize("name", ["erf", "tanh", "softmax"])
def test_jax_equivalents_verify_their_zero_entries(name, x64):
    fn = {"erf": jax.scipy.special.erf, "tanh": jnp.tanh, "softmax": lambda x: jax.nn.softmax(x, -1)}[name]
    for dtype in (jnp.float64, jnp.float32):
        report = vj.check_function(fn, (jnp.array(POINT, dtype=dtype),))
        assert report.unverified == 0, str(report)


class _ErfLeaking(torch.autograd.Function):
    """erf whose backward leaks ``leak`` of each neighbour's incoming gradient: a nonzero off-diagonal Jacobian
    entry where the truth is exactly 0."""

    leak = 1e-9

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.erf(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2.0 / math.sqrt(math.pi) * torch.exp(-x * x) + _ErfLeaking.leak * torch.roll(g, 1)


@pytest.mark.parametrize("leak", [1e-9, 1e-12])
def test_a_wrong_nonzero_off_diagonal_entry_still_fails(leak, monkeypatch):
    monkeypatch.setattr(_ErfLeaking, "leak", leak)
    with pytest.raises(CheckFailure) as info:
        vt.check_function(_ErfLeaking.apply, (_torch(POINT, torch.float64),), forward=False)
    assert "reverse-mode" in str(info.value)
    monkeypatch.setattr(_ErfLeaking, "leak", 0.0)
    assert vt.check_function(_ErfLeaking.apply, (_torch(POINT, torch.float64),), forward=False).unverified == 0


# --- item 2 of the issue: what stays unverified is said, with the reason and the remedy ---------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_torch_built_ins_at_hard_points_pass_and_say_why_any_entry_is_unverified(dtype):
    cases = [
        (F.gelu, (_torch([-12.0, -5.0, 0.0, 1.5], dtype),)),
        (F.softplus, (_torch([-30.0, 0.0, 25.0, 1.0], dtype),)),
        (lambda x: torch.logsumexp(x, -1), (_torch([0.5, -math.inf, 2.0, 2.0], dtype),)),
        (lambda x: F.softmax(x, -1), (_torch([0.5, -math.inf, 2.0, 2.0], dtype),)),
        (lambda x: F.layer_norm(x, (4,)), (_torch([2.0, 5.0, 5.0, 5.0], dtype),)),
        (torch.relu, (_torch([-1.0, 0.0, 2.0, 0.0], dtype),)),
        (lambda x: x.max(), (_torch([1.0, 3.0, 3.0, -2.0], dtype),)),
        (lambda x, y: F.cross_entropy(x, y), (_torch([[1e3, 0.0, -2.0], [0.5, 0.5, 0.5]], dtype),
                                              torch.tensor([0, 2]))),
    ]
    for fn, inputs in cases:
        _assert_honest(vt.check_function(fn, inputs))


def test_jax_softplus_deep_in_its_tail_passes_where_its_complex_step_loses_its_imaginary_part(x64):
    """JAX's complex softplus (logaddexp) wraps Im into [−π, π], so Im f(x + i·h) at x = −30 is rounded to 0 at
    every small step; the judge took that for a derivative of exactly 0 and failed the right VJP (4.4 × the
    tolerance). A rule that underflows to 0 there is wrong, and caught."""
    x = jnp.array([-30.0, 0.0, 25.0, 1.0])
    report = vj.check_function(jax.nn.softplus, (x,))
    _assert_honest(report)

    @jax.custom_jvp
    def underflowing(x):
        return jax.nn.softplus(x)

    underflowing.defjvp(lambda p, t: (jax.nn.softplus(p[0]),
                                      jnp.where(p[0] < -20.0, 0.0, jax.nn.sigmoid(p[0])) * t[0]))
    with pytest.raises(CheckFailure):
        vj.check_function(underflowing, (x,))


# --- item 4: the headline says what share of the entries was verified -------------------------------------------


def test_the_headline_gives_the_share_of_entries_verified():
    report = vt.check_function(torch.erf, (_torch(POINT, torch.float64),))
    # reverse mode: 3 drawn cotangents and 4 Jacobian rows, 4 entries each; forward mode: 6 contractions (one
    # entry each) and 4 rows of the Jacobian assembled from the unit tangents
    assert report["inputs[0]"].vjp.entries == 28
    assert report["inputs[0]"].jvp.entries == 6 + 16
    assert report.headline().startswith("verify.torch.check_function passed: 50 of 50 entries verified;")
    gelu = vt.check_function(F.gelu, (_torch([-12.0, -5.0, 0.0, 1.5], torch.float64),))
    if gelu.unverified:
        assert f"{gelu.verified} of {gelu.entries} entries verified, {gelu.unverified} UNVERIFIED" in str(gelu)


# --- item 3 of the brief (issue item 8): ULP figures that mean something near 0 ----------------------------------


def test_a_passing_check_reports_no_astronomical_ulps_for_errors_at_the_rounding_level():
    """tanh at 20 and −30: the derivative is ~1e-17 and 0 next to values of size 1; PyTorch's 1 − tanh² is 0 there.
    Counted in subnormals the error was '8.59e+15 ULPs'; in the unit of f's resolution along the entry it is a few."""
    report = vt.check_function(torch.tanh, (_torch([-1.0, 0.0, 20.0, -30.0], torch.float64),))
    for slot in report.slots:
        assert slot.vjp.worst_ulps <= 32.0 and slot.jvp.worst_ulps <= 32.0, str(report)


def test_a_failure_table_counts_an_error_at_a_zero_reference_in_the_resolutions_unit():
    """A wrong 1e-9 where the truth is exactly 0 (f does not depend on x_0): the ULPs column said 'inf' (the
    subnormals of 0); it now counts in the unit the tolerance uses there (the central differences' error bound,
    1.1e-11, coarser than f's resolution), and the entry still fails."""
    import verify

    def f(x):
        if np.iscomplexobj(x):
            raise TypeError("real input only")  # as torch.erf: the central differences decide
        return math.erf(float(x[1]))

    slope = 2.0 / math.sqrt(math.pi) * math.exp(-0.25)
    with pytest.raises(CheckFailure) as info:
        verify.check_gradient(f, lambda x: np.array([1e-9, slope, 0.0, 0.0]), (np.array(POINT),))
    row = next(line for line in str(info.value).splitlines() if line.strip().startswith("(0,)"))
    reference, computed, ulps = row.split()[1], row.split()[2], row.split()[5]
    assert (reference, computed) == ("0.0", "1e-09") and ulps != "inf" and 10 < float(ulps) < 1e9, row


# --- item 2 of the brief: the complex step's rejection says what was measured ------------------------------------


def test_a_rejected_complex_step_where_f_is_bitwise_constant_does_not_blame_analyticity(x64):
    """gelu (tanh form) at −12: 1 + tanh(…) is exactly 0 in float64, so f is bitwise constant there though analytic."""
    report = vj.check_function(jax.nn.gelu, (jnp.array([-12.0, -5.0, 0.0, 1.5]),))
    notes = [n for n in report["inputs[0]"].vjp.notes if n.startswith("complex step rejected")]
    assert notes and all("not analytic there" not in n for n in notes)
    assert all("bitwise constant along that entry" in n for n in notes)


# --- item 5: bad options name the adapter, the option and the value -----------------------------------------------


@pytest.mark.parametrize("checker, call", [
    ("verify.torch.check_function", lambda **o: vt.check_function(torch.erf, (_torch(POINT, torch.float64),), **o)),
    ("verify.torch.check_module", lambda **o: vt.check_module(torch.nn.Linear(2, 1).double(),
                                                              (torch.ones(1, 2, dtype=torch.float64),), **o)),
    ("verify.jax.check_function", lambda **o: vj.check_function(jnp.tanh, (jnp.array([0.5, 1.0]),), **o)),
])
def test_a_bad_option_names_the_adapter_the_option_and_the_value(checker, call):
    for option, value, error in [("directions", "3", TypeError), ("seed", 1.5, TypeError), ("worst", True, TypeError),
                                 ("ulps", "64", TypeError), ("jacobian_max", -1, ValueError),
                                 ("directions", 0, ValueError), ("atol", float("nan"), ValueError)]:
        with pytest.raises(error) as info:
            call(**{option: value})
        assert str(info.value).startswith(checker) and option in str(info.value) and repr(value) in str(info.value)


@pytest.mark.parametrize("check", ["torch", "jax"])
def test_wrt_that_names_no_input_or_is_not_an_index_is_refused_by_name(check):
    # Found by a new user: wrt=[] passed with "0 of 0 entries verified" (nothing checked), wrt=1.0 raised
    # "'float' object is not iterable" naming no argument.
    run = (lambda **kw: vt.check_function(torch.sin, (torch.tensor([0.5, -1.0], dtype=torch.float64),), **kw)) \
        if check == "torch" else (lambda **kw: vj.check_function(jnp.sin, (np.array([0.5, -1.0], np.float32),), **kw))
    with pytest.raises(ValueError, match=r"check_function: wrt=\[\] names no input"):
        run(wrt=[])
    for bad in (1.0, "0", True):
        with pytest.raises(TypeError, match=r"check_function: wrt"):
            run(wrt=bad)
    with pytest.raises(TypeError, match=r"wrt holds 0.0 \(a float\)"):
        run(wrt=[0.0])
    assert run(wrt=(0,)).verified == run(wrt=0).verified > 0
