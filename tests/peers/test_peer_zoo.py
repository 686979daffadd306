"""The zoo through the peers: where torch.autograd.gradcheck and jax.test_util.check_grads fall short.

Each peer is importorskip-ped; the whole module is marked ``peers``. The rows come from
``verify.checks.zoo.compare_with_peers`` (the same function ``verify bench`` reuses).
"""

from __future__ import annotations

import pytest

from verify.checks.zoo import WRONG, ZOO, compare_with_peers, format_table, get_case

pytestmark = pytest.mark.peers

KINKS = ("relu_at_kink", "hinge_at_margin", "max_at_tie")


def _outcomes(tool: str, names: tuple[str, ...]) -> dict[str, str]:
    rows = compare_with_peers(tuple(get_case(n) for n in names), repeats=1, tools=(tool,))
    return {row["case"]: row["outcome"] for row in rows if row["tool"] == tool}


def test_verify_catches_every_bug_without_false_alarms():
    outcomes = _outcomes("verify", tuple(case.name for case in ZOO))
    assert {name for name, o in outcomes.items() if o == "caught"} == {case.name for case in WRONG}
    assert all(outcomes[case.name] == "passed" for case in ZOO if not case.wrong)


def test_torch_gradcheck_misses_underflow_and_false_alarms_at_kinks():
    pytest.importorskip("torch")
    outcomes = _outcomes("torch.autograd.gradcheck",
                         ("underflow_to_zero", "sign_error", *KINKS, "float32_softplus", "softplus_tiny_gradients"))
    assert outcomes["underflow_to_zero"] == "missed"  # atol 1e-5 hides a gradient of 1e-18 computed as 0
    assert outcomes["sign_error"] == "caught"
    assert all(outcomes[name] == "false alarm" for name in KINKS)  # numerical slope 0.5 at the kink
    # gradcheck runs in float64 (as it requires); a float32 gradient's 1e-7 relative error is inside rtol 1e-3
    assert outcomes["float32_softplus"] == "passed"
    assert outcomes["softplus_tiny_gradients"] == "passed"


def test_jax_check_grads_misses_underflow_and_false_alarms_at_kinks():
    pytest.importorskip("jax")
    outcomes = _outcomes("jax.test_util.check_grads", ("underflow_to_zero", "one_coordinate_only", *KINKS))
    assert outcomes["underflow_to_zero"] == "missed"  # tolerance 1e-5 on one random direction
    assert outcomes["one_coordinate_only"] == "caught"
    assert all(outcomes[name] == "false alarm" for name in KINKS)


def test_the_table_is_printable():
    rows = compare_with_peers((get_case("sign_error"), get_case("relu_at_kink")), repeats=1)
    table = format_table(rows)
    assert "| sign_error |" in table and "verify: caught 1/1 wrong gradients, 0/1 false alarms" in table
