"""A claim's seeded search draws the same examples whatever the process imported before it (Hypothesis mines
constants from every local module imported so far; a flaky catalogue-determinism test traced to it)."""

from __future__ import annotations

import importlib

from hypothesis import strategies as st

from verify.claims._common import hypothesis_search


def _draws(seed: int) -> list[float]:
    seen: list[float] = []

    def violation(x):
        seen.append(x)
        return None

    hypothesis_search(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3), violation, seed=seed, max_examples=60)
    return seen


def test_a_seeded_search_does_not_depend_on_the_modules_imported(tmp_path, monkeypatch):
    before = _draws(5)
    module = tmp_path / "many_local_constants.py"
    module.write_text("VALUES = (" + ", ".join(f"{k}.{k:03d}5" for k in range(1, 200)) + ")\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("many_local_constants")
    assert _draws(5) == before
