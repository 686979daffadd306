"""Domingos's 0-1 decomposition, broken on purpose, and mlxtend's 0-1 numbers measured against it."""

from fractions import Fraction

import numpy as np
import pytest

from verify.claims import Context, get_claim, run_claim
from verify.claims import bias_variance_01 as bv01

CTX = Context(seed=4, quick=True)


def test_the_terms_by_hand_two_classes():
    # P(t = 1) = 3/4, so y* = 1 and N = 1/4; predictions: 1 in 2 of 5 training sets, so y_m = 0 (biased)
    t = bv01.domingos_terms(np.array([1, 1, 0, 0, 0]), [Fraction(1, 4), Fraction(3, 4)])
    assert (t["y_star"], t["y_main"], t["bias"]) == (1, 0, 1)
    assert t["noise"] == Fraction(1, 4) and t["variance"] == Fraction(2, 5) and t["c2"] == -1
    assert t["c1"] == 2 * Fraction(2, 5) - 1
    # E[L] = 2/5 * 1/4 + 3/5 * 3/4 = 11/20 = c1 N + B + c2 V
    assert t["loss"] == Fraction(11, 20) == t["c1"] * t["noise"] + t["bias"] + t["c2"] * t["variance"]


def test_the_decomposition_holds_exactly_and_variance_subtracts_where_biased():
    rec = run_claim(get_claim("bias_variance.zero_one_domingos"), CTX)
    assert rec.verdict == "holds" and rec.evidence["pair"]["measured"] == "0"
    rows = rec.evidence["two classes, by k"]
    assert any(r["variance on biased points (−)"] > 0 for r in rows)  # the sign is exercised
    assert rec.evidence["without the signs: largest |E[L] − (N + B + V)|"] > 0


@pytest.mark.parametrize("break_it", ["unsigned variance", "two-class c1 for three classes"])
def test_a_wrong_decomposition_is_refuted(break_it):
    def wrong(preds, p_t):
        t = bv01.domingos_terms(preds, p_t)
        if break_it == "unsigned variance":
            t["c2"] = 1
        else:
            counts = np.bincount(preds, minlength=len(p_t))
            t["c1"] = 2 * Fraction(int(counts[t["y_star"]]), int(counts.sum())) - 1
        return t

    out = bv01.check_zero_one_decomposition(CTX, terms=wrong)
    assert out.verdict == "refuted" and out.counterexample


def test_mlxtend_is_measured_against_domingos():
    pytest.importorskip("mlxtend", reason="mlxtend is an optional extra: pip install 'verify[mlxtend]'")
    rec = run_claim(get_claim("bias_variance.mlxtend_zero_one"), CTX)
    assert rec.verdict == "holds" and rec.evidence["pair"]["measured"] <= 1e-12
    rows = rec.evidence["0-1 loss, by k"]
    # mlxtend's bias + variance overstates its own loss wherever a biased point has variance
    assert any(r["avg_bias + avg_var"] > r["mlxtend avg_expected_loss"] + 1e-9 for r in rows)


def test_a_decomposition_that_adds_bias_and_variance_is_refuted():
    def additive(estimator, X_train, y_train, X_test, y_test, loss, num_rounds, random_seed):
        rng = np.random.RandomState(random_seed)
        preds = []
        for _ in range(num_rounds):
            idx = rng.choice(len(y_train), len(y_train))
            preds.append(estimator.fit(X_train[idx], y_train[idx]).predict(X_test))
        preds = np.array(preds)
        if loss == "mse":
            main = preds.mean(axis=0)
            return np.mean((preds - y_test) ** 2), np.mean((main - y_test) ** 2), np.mean((preds - main) ** 2)
        main = (2 * preds.sum(axis=0) > num_rounds).astype(int)
        bias, var = np.mean(main != y_test), np.mean(preds != main)
        return bias + var, bias, var  # the squared-loss habit: loss = bias + variance

    out = bv01.check_mlxtend_zero_one(CTX, decomp=additive)
    assert out.verdict == "refuted"


def test_without_mlxtend_the_claim_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(bv01, "_mlxtend", lambda: (None, None))
    out = bv01.check_mlxtend_zero_one(CTX)
    assert out.verdict == "inconclusive" and "pip install 'verify[mlxtend]'" in out.why
