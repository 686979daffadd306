"""The catalogue of losses: everything generated from the records agrees with them, and a registry that
disagrees (a loss without a SymPy builder, a CUDA function with another signature) is refused at import."""

from __future__ import annotations

import doctest
import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest

from verify.kernels import activations as act
from verify.kernels import losses as los
from verify.kernels.catalogue import KINDS, Argument, LossRecord, check_agreement, loss_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_is_the_one_generated_from_the_records():
    text = README.read_text()
    found = re.search(r"<!-- loss table:[^\n]*-->\n(.*?)\n<!-- end of the loss table -->", text, re.S)
    assert found, "README.md lost its loss-table markers"
    want = loss_table(los.RECORDS.values())
    assert found.group(1).strip() == want, f"README.md's loss table is stale; replace it with:\n{want}"


@pytest.mark.parametrize("name", sorted(los.RECORDS))
def test_public_function_is_generated_from_its_record(name):
    record, function = los.RECORDS[name], los.LOSSES[name]
    assert getattr(los, name) is function and name in los.__all__
    assert inspect.signature(function) == record.signature()
    doc = function.__doc__
    for text in (record.source, *(o.name for o in record.options), "Raises:", "reduction"):
        assert text in doc, (name, text)
    assert all(kind in KINDS for a in record.arguments for kind in a.kinds)
    assert record.example, f"{name}: the record gives no example for the docstring"


@pytest.mark.parametrize("name", sorted(los.RECORDS))
def test_docstring_examples_run(name):
    function = los.LOSSES[name]
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(function, name, globs={"np": np, "math": math, **los.LOSSES}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


@pytest.mark.parametrize("function", [act.activation, act.activation_derivative, act.softmax, act.log_softmax,
                                      act.logsumexp], ids=lambda f: f.__name__)
def test_activation_docstring_examples_run(function):
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder(recurse=False).find(function, globs=vars(act)):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


def test_the_registries_agree_and_a_disagreeing_one_is_refused():
    from verify.kernels.cuda import losses as cuda_losses
    from verify.symbolic.losses import BUILDERS

    check_agreement(los.RECORDS, cpu=los.LOSSES, cuda=cuda_losses.LOSSES, symbolic=BUILDERS)
    name = sorted(BUILDERS)[0]
    without = {k: v for k, v in BUILDERS.items() if k != name}
    with pytest.raises(ImportError, match=rf"symbolic has \[\] without a record and lacks \['{name}'\]"):
        check_agreement(los.RECORDS, symbolic=without)
    extra = {**BUILDERS, "focal": BUILDERS[name]}
    with pytest.raises(ImportError, match=r"symbolic has \['focal'\] without a record"):
        check_agreement(los.RECORDS, symbolic=extra)

    def least_squares(prediction, target, *, reduction="sum"):  # a hand-written twin with another default
        return los.least_squares(prediction, target, reduction=reduction, backend="cuda")

    with pytest.raises(ImportError, match=r"cuda least_squares\(prediction, target, \*, reduction='sum'\)"):
        check_agreement(los.RECORDS, cuda={**cuda_losses.LOSSES, "least_squares": least_squares})


def test_a_record_needs_a_kernel_and_a_numpy_form_for_each_kind_of_target():
    record = los.RECORDS["softmax_cross_entropy"]
    with pytest.raises(ValueError, match=r"kernels must have one entry per kind of target \['labels', 'simplex'\]"):
        LossRecord(name="broken", formula="", source="", arguments=record.arguments,
                   kernels={"labels": record.kernels["labels"]}, numpy=record.numpy, edge_cases=record.edge_cases)


def test_every_record_names_its_source_by_title_and_file():
    for record in los.RECORDS.values():
        files = re.findall(r"\(\d{3}_[0-9a-f]+\.txt\)", record.source)
        external = "torch" in record.source or "Huber" in record.source or "Szegedy" in record.source
        assert files or external, record.name
        for file in files:  # a title stands before every file name of the lecture notes
            assert record.source.index(file) > 20, record.source


def test_argument_kinds_are_the_known_ones():
    assert set(KINDS) == {"reals", "logits", "probabilities", "simplex", "labels", "signs", "binary"}
    assert Argument("x", ("logits",), "x", "").shape("logits", "vector") == "(N, K)"
    assert Argument("t", ("labels",), "t", "").shape("labels", "vector") == "(N,)"
