"""The catalogue: size and coverage of the seeds, record schema, determinism, figures, the CLI."""

import json

import pytest

from verify.claims import Context, all_claims, run_claim
from verify.claims.command import exit_status, run_catalogue
from verify.cli import main

SEEDS = ("000_42086e2af0f76780.txt", "001_02deb113427fab16.txt", "002_1388b78ad9a2d202.txt")
SCHEMA = {"id", "statement", "source", "kind", "verdict", "evidence", "seconds"}


@pytest.fixture(scope="module")
def quick_records():
    return run_catalogue(seed=11, quick=True, backend="cpu")


def test_at_least_30_claims_drawn_from_all_three_seeds():
    claims = all_claims()
    assert len(claims) >= 30
    for seed in SEEDS:
        assert sum(seed in c.source for c in claims) >= 5, seed
    assert all('slide "' in c.source or "Drori" in c.source or "mlxtend" in c.source or "Kingma" in c.source
               for c in claims)
    assert len({c.id for c in claims}) == len(claims)


def test_every_record_has_the_schema_and_a_computed_verdict(quick_records):
    for rec in quick_records:
        data = rec.to_json()
        assert SCHEMA <= set(data), rec.id
        json.dumps(data)
        assert rec.error is None, f"{rec.id} raised:\n{rec.error}"
        if rec.verdict == "refuted":
            assert rec.counterexample, rec.id
    kinds = {r.verdict for r in quick_records}
    assert {"holds", "refuted"} <= kinds
    # only formulas of the source material may be refuted; everything else holds (or says why not)
    assert exit_status(quick_records) == 0
    assert all(r.corrected for r in quick_records if r.verdict == "refuted")


def test_the_catalogue_is_deterministic_for_a_fixed_seed(quick_records):
    again = run_catalogue(seed=11, quick=True, backend="cpu")
    for a, b in zip(quick_records, again, strict=True):
        assert (a.id, a.verdict) == (b.id, b.verdict)
        assert json.dumps(a.evidence, sort_keys=True) == json.dumps(b.evidence, sort_keys=True), a.id


def test_every_figure_renders_with_labelled_axes(quick_records):
    from matplotlib.figure import Figure

    by_id = {c.id: c for c in all_claims()}
    drawn = 0
    for rec in quick_records:
        c = by_id[rec.id]
        if c.figure is None:
            continue
        fig = c.figure(rec.outcome)
        assert isinstance(fig, Figure), rec.id
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_xlabel() and ax.get_ylabel(), rec.id
        drawn += 1
    assert drawn >= 10


def test_cli_json_prints_one_record_per_claim(capsys):
    ids = ["step_size.exercise_x2", "information.kl_step1_as_written"]
    status = main(["claims", "--json", "--quick", "--seed", "2", *[a for i in ids for a in ("--only", i)]])
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert [r["id"] for r in lines] == ids
    assert SCHEMA <= set(lines[0]) and lines[1]["verdict"] == "refuted" and "corrected" in lines[1]
    assert status == 0 and "exercise_x2" in out.err


def test_cli_rejects_an_unknown_claim(capsys):
    assert main(["claims", "--only", "no.such.claim"]) == 2
    assert "unknown claim id" in capsys.readouterr().err


def test_a_refuted_non_formula_claim_fails_the_exit_status():
    from verify.claims.registry import Claim
    from verify.claims.step_size import check_gd_quadratic

    broken = Claim(id="t.broken", statement="", source="test", kind="empirical",
                   check=lambda ctx: check_gd_quadratic(ctx, step=lambda x, g, eta: x - 0.5 * eta * g))
    assert exit_status([run_claim(broken, Context(quick=True))]) == 1
