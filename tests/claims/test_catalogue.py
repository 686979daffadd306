"""The catalogue: size and coverage of the seeds, record schema, determinism, figures, the CLI, and what a
reader sees (titles, sources by title, typeset formulas, evidence in words, checked corrections)."""

import json
import re

import pytest

from verify.claims import Context, all_claims, run_claim
from verify.claims._common import NOTES
from verify.claims.command import exit_status, run_catalogue
from verify.claims.registry import RELATIONS
from verify.cli import main

SEEDS = tuple(str(n) for n in NOTES)
SCHEMA = {"id", "statement", "source", "kind", "verdict", "evidence", "seconds"}


@pytest.fixture(scope="module")
def quick_records():
    return run_catalogue(seed=11, quick=True, backend="cpu")


def test_at_least_30_claims_drawn_from_all_three_seeds():
    claims = all_claims()
    assert len(claims) >= 30
    for seed in SEEDS:
        assert sum(seed in c.source for c in claims) >= 5, seed
    assert len({c.id for c in claims}) == len(claims)


def test_sources_cite_the_notes_by_title_with_the_file_beside_it():
    for c in all_claims():
        for notes in NOTES:
            if str(notes) in c.source:
                assert f"{notes.title} ({notes})" in c.source, (c.id, c.source)
        assert any(str(n) in c.source for n in NOTES) or re.search(r"\(\d{4}\)|ICML|Raschka|Math\. Program", c.source), \
            (c.id, c.source)


def test_titles_are_written_by_people():
    for c in all_claims():
        assert c.title and c.title != c.id and "." not in c.title.split()[0], (c.id, c.title)


def test_every_statement_and_correction_typesets():
    from verify.report.latex import mathtext_lines, split_math

    for c in all_claims():
        for is_math, piece in split_math(c.statement):
            if is_math:
                assert mathtext_lines(piece) is not None, (c.id, piece)


def test_every_record_has_the_schema_and_a_computed_verdict(quick_records):
    for rec in quick_records:
        data = rec.to_json()
        assert SCHEMA <= set(data), rec.id
        json.dumps(data, allow_nan=False)
        assert rec.error is None, f"{rec.id} raised:\n{rec.error}"
        if rec.verdict == "refuted":
            assert rec.counterexample, rec.id
    kinds = {r.verdict for r in quick_records}
    assert {"holds", "refuted"} <= kinds
    # only formulas of the source material may be refuted; everything else holds (or says why not)
    assert exit_status(quick_records) == 0


def test_every_record_has_the_measured_and_theoretical_pair(quick_records):
    for rec in quick_records:
        if "frameworks missing" in rec.evidence:  # nothing measured without the optional extras; it says so
            assert rec.verdict == "inconclusive" and "pip install" in rec.why, rec.id
            continue
        pair = rec.evidence.get("pair")
        assert isinstance(pair, dict), rec.id
        assert {"quantity", "measured", "theoretical", "relation"} <= set(pair), rec.id
        assert pair["relation"] in RELATIONS and pair["quantity"], rec.id


def test_every_refuted_formula_has_a_checked_correction_in_latex_and_words(quick_records):
    from verify.report.latex import mathtext_lines

    refuted = [r for r in quick_records if r.verdict == "refuted"]
    assert refuted
    for rec in refuted:
        fix = rec.correction
        assert fix and fix["verified"] is True, rec.id
        assert fix["explanation"] and len(fix["explanation"].split()) >= 8, rec.id
        assert rec.corrected == fix["formula"] and "$" not in fix["formula"], rec.id
        assert mathtext_lines(fix["formula"]) is not None, (rec.id, fix["formula"])
        assert fix["evidence"]["pair"], rec.id  # the correction's own check, with its measured/theoretical pair


_CODE_KEY = re.compile(r"^[A-Za-z]+(_[A-Za-z0-9]+)+$")  # max_abs_difference, E_theta_T: identifiers, not words


def _walk(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield path + (k,), k, None
            yield from _walk(v, path + (k,))
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from _walk(v, path + (k,))
    else:
        yield path, None, value


def _outside_math(text: str) -> str:
    return re.sub(r"(?<!\\)\$[^$]*\$", "", text)


def test_evidence_is_words_and_numbers_not_code(quick_records):
    for rec in quick_records:
        for part in ("evidence", "counterexample"):
            for path, key, value in _walk(getattr(rec, part) or {}):
                if key is not None:
                    assert not _CODE_KEY.match(str(key)), (rec.id, path)
                    assert "." not in str(key).replace("...", "") or " " in str(key), (rec.id, path)
                if isinstance(value, str):
                    plain = _outside_math(value)
                    for token in ("**", "_{", "^{", "np.", "\\frac", "\\nabla"):
                        assert token not in plain, (rec.id, path, value)
                if isinstance(value, float):
                    assert not (value == 0 and str(value).startswith("-")), (rec.id, path)  # no -0


def test_no_two_claims_share_a_figure():
    figures = [c.figure for c in all_claims() if c.figure is not None]
    assert len(figures) == len(set(map(id, figures))) >= 10


def test_statistical_claims_declare_their_false_fail_rate(quick_records):
    declared = {c.id: c.false_fail_rate for c in all_claims() if c.false_fail_rate is not None}
    assert len(declared) >= 9
    for rec in quick_records:
        if rec.id in declared:
            assert rec.to_json()["false_fail_rate"] == declared[rec.id]


def _without_timings(value):
    """Evidence less the measured times (keys naming seconds): the seed determines everything else."""
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if "seconds" not in str(k)}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_the_catalogue_is_deterministic_for_a_fixed_seed(quick_records):
    again = run_catalogue(seed=11, quick=True, backend="cpu")
    for a, b in zip(quick_records, again, strict=True):
        assert (a.id, a.verdict) == (b.id, b.verdict)
        assert json.dumps(_without_timings(a.evidence), sort_keys=True) == \
            json.dumps(_without_timings(b.evidence), sort_keys=True), a.id


def test_every_figure_renders_with_labelled_axes_and_its_legend_outside_the_data(quick_records):
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


def test_nonnegative_quantities_are_drawn_on_axes_from_zero(quick_records):
    by_id = {c.id: c for c in all_claims()}
    for cid in ("bias_variance.complexity_tradeoff", "bias_variance.ridge_tradeoff"):
        rec = next(r for r in quick_records if r.id == cid)
        ax = by_id[cid].figure(rec.outcome).axes[0]
        assert ax.get_ylim()[0] == 0 and ax.get_yscale() == "linear", cid


def test_the_exercise_figure_separates_the_runs_it_would_otherwise_flatten(quick_records):
    import numpy as np

    rec = next(r for r in quick_records if r.id == "step_size.exercise_x2")
    fig = next(c for c in all_claims() if c.id == rec.id).figure(rec.outcome)
    bounded = fig.axes[0]
    low, high = bounded.get_ylim()
    assert high / low < 1e6  # the bounded runs on their own axis: the three lines are apart
    values = np.concatenate([line.get_ydata() for line in bounded.get_lines()])
    assert np.nanmax(values) <= high and np.nanmin(values[values > 0]) >= low


def test_cli_json_prints_one_record_per_claim(capsys):
    ids = ["step_size.exercise_x2", "information.kl_step1_as_written"]
    status = main(["claims", "--json", "--quick", "--seed", "2", *[a for i in ids for a in ("--only", i)]])
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert [r["id"] for r in lines] == ids
    assert SCHEMA <= set(lines[0]) and lines[1]["verdict"] == "refuted" and "corrected" in lines[1]
    assert lines[1]["correction"]["verified"] is True
    assert status == 0 and "exercise_x2" in out.err


def test_cli_table_shows_the_counterexample_and_the_correction_of_a_refuted_claim(capsys):
    status = main(["claims", "--quick", "--seed", "2", "--only", "loss.simplex_as_written"])
    out = capsys.readouterr().out
    assert status == 0 and "counterexample" in out and "corrected (checked: holds)" in out


def test_cli_rejects_an_unknown_claim(capsys):
    assert main(["claims", "--only", "no.such.claim"]) == 2
    assert "unknown claim id" in capsys.readouterr().err


def test_a_refuted_non_formula_claim_fails_the_exit_status():
    from verify.claims.registry import Claim
    from verify.claims.step_size import check_gd_quadratic

    broken = Claim(id="t.broken", statement="", source="test", kind="empirical",
                   check=lambda ctx: check_gd_quadratic(ctx, step=lambda x, g, eta: x - 0.5 * eta * g))
    assert exit_status([run_claim(broken, Context(quick=True))]) == 1
