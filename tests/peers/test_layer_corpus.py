"""The layer corpus: every planted bug caught by verify, no false alarm on the right implementations; and
what the peers (torch.autograd.gradcheck / gradgradcheck, jax.test_util.check_grads) catch and miss.

The rows come from ``verify.checks.layer_corpus.compare_layers`` (what ``verify bench`` and the report show).
"""

from __future__ import annotations

import pytest

from verify.checks.layer_corpus import LAYER_CASES, compare_layers, format_layer_table, get_layer_case

pytestmark = pytest.mark.peers


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in LAYER_CASES])
def test_verify_catches_every_planted_bug_and_accepts_every_right_implementation(case):
    pytest.importorskip(case.framework)
    (row,) = compare_layers((case,), tools=("verify",), repeats=0)
    assert row["outcome"] == ("caught" if case.wrong else "ok"), row


def test_the_corpus_covers_the_layers_and_bugs_of_the_issue():
    layers = {case.layer for case in LAYER_CASES}
    assert {"dense", "conv1d", "residual", "layer norm", "softmax", "attention"} <= layers
    bugs = {case.bug for case in LAYER_CASES}
    assert {"dropped grad_output", "transposed weight gradient", "missing term", "flipped sign",
            "float32 rounding"} <= bugs
    for framework in ("torch", "jax"):
        mine = [case for case in LAYER_CASES if case.framework == framework]
        assert any(case.wrong for case in mine) and any(not case.wrong for case in mine)


def test_what_the_peers_miss():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    names = ("torch_dense_float32_rounding", "jax_dense_float32_rounding", "torch_dense_dropped_grad_output",
             "torch_softplus_detached_backward")
    rows = compare_layers(tuple(get_layer_case(n) for n in names), repeats=0,
                          tools=("torch.autograd.gradcheck", "torch.autograd.gradgradcheck", "jax.test_util.check_grads"))
    outcome = {(row["case"], row["tool"]): row["outcome"] for row in rows}
    # an error of 1e-8 relative is far inside gradcheck's atol 1e-5 / rtol 1e-3, and check_grads' tolerance
    assert outcome["torch_dense_float32_rounding", "torch.autograd.gradcheck"] == "missed"
    assert outcome["jax_dense_float32_rounding", "jax.test_util.check_grads"] == "missed"
    # gradgradcheck differentiates the backward as written: a backward that ignores grad_output is consistent
    assert outcome["torch_dense_dropped_grad_output", "torch.autograd.gradcheck"] == "caught"
    assert outcome["torch_dense_dropped_grad_output", "torch.autograd.gradgradcheck"] == "missed"
    # a detached backward: first derivatives right, second derivative wrong
    assert outcome["torch_softplus_detached_backward", "torch.autograd.gradcheck"] == "missed"
    assert outcome["torch_softplus_detached_backward", "torch.autograd.gradgradcheck"] == "caught"


def test_the_table_is_printable():
    pytest.importorskip("torch")
    rows = compare_layers((get_layer_case("torch_softmax_missing_term"),), tools=("verify",), repeats=1)
    table = format_layer_table(rows)
    assert "| torch_softmax_missing_term | missing term | caught (" in table
    assert "verify: caught 1/1 planted bugs, 0/0 false alarms" in table
