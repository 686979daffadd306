"""False alarms measured: every statistical claim over 200 seeds, no spurious refutation.

The claims come from the catalogue: every claim that declares a false-fail rate (``false_fail_rate=`` on its
decorator) is statistical. Each declares 1e-6, so over 200 seeds a single refutation of a true claim would
already be evidence of miscalibration (P <= 200 x 1e-6 = 2e-4). The same run measures power: a statistical
claim about a formula *as written* in the notes (the literal first bias-variance slide, which drops the
variance) must be refuted at every seed.

Slow (about 8 minutes on 2 cores), so opt-in: ``VERIFY_SLOW=1 pytest -m slow tests/claims/test_false_alarms.py``,
or as a script that prints the table: ``python tests/claims/test_false_alarms.py [n_seeds]``.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter

import pytest


def _statistical() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(claims that must hold at every seed, as-written claims that must be refuted at every seed)."""
    from verify.claims import all_claims

    declared = [c for c in all_claims() if c.false_fail_rate is not None]
    return (tuple(c.id for c in declared if c.kind != "as-written"),
            tuple(c.id for c in declared if c.kind == "as-written"))


STATISTICAL, POWER = _statistical()


def verdicts_for_seed(seed: int, rng=None) -> dict[str, str]:
    from verify.claims import Context, get_claim, run_claim

    ctx = Context(seed=int(seed), quick=True, backend="cpu")
    out = {}
    for cid in STATISTICAL + POWER:
        rec = run_claim(get_claim(cid), ctx)
        out[cid] = rec.verdict if rec.error is None else "error"
    return out


def false_alarm_table(n_seeds: int = 200, executor=None) -> dict[str, Counter]:
    from verify.sweep import run_sweep

    results = run_sweep(verdicts_for_seed, list(range(1000, 1000 + n_seeds)), seed=0, executor=executor,
                        name="false_alarms")
    table: dict[str, Counter] = {cid: Counter() for cid in STATISTICAL + POWER}
    for r in results:
        for cid, verdict in r.value.items():
            table[cid][verdict] += 1
    return table


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("VERIFY_SLOW"), reason="opt-in: set VERIFY_SLOW=1 (about 8 minutes)")
def test_no_false_alarm_over_200_seeds():
    table = false_alarm_table(200, executor="processes")
    for cid in STATISTICAL:
        assert table[cid]["refuted"] == 0 and table[cid]["error"] == 0, (cid, table[cid])
    for cid in POWER:
        assert table[cid]["refuted"] == 200, (cid, table[cid])


def test_the_calibration_set_is_the_catalogues_statistical_claims():
    from verify.claims import all_claims

    assert len(STATISTICAL) >= 9 and POWER == ("bias_variance.first_slide_as_written",)
    for c in all_claims():
        if c.id in STATISTICAL + POWER:
            assert c.false_fail_rate <= 1e-6, c.id


def test_one_seed_runs_every_statistical_claim():
    got = verdicts_for_seed(5)
    assert set(got) == set(STATISTICAL + POWER)
    assert all(got[c] != "refuted" for c in STATISTICAL) and all(got[c] == "refuted" for c in POWER)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    start = time.perf_counter()
    table = false_alarm_table(n, executor="processes")
    print(f"{n} seeds (1000..{999 + n}), quick mode, backend cpu, {time.perf_counter() - start:.0f} s")
    for cid, counts in table.items():
        print(f"  {cid:40s} " + ", ".join(f"{v}: {counts[v]}" for v in ("holds", "inconclusive", "refuted", "error")))
