"""``verify selfcheck``: a table of every (kernel, backend) pair, exit 0 when all agree, 1 otherwise."""

import argparse

import numpy as np

from verify.checks import selfcheck
from verify.kernels import activations as act
from verify.kernels import losses as los


def _args(**kw):
    parser = argparse.ArgumentParser()
    selfcheck.add_arguments(parser)
    return parser.parse_args([f"--{k}={v}" for k, v in kw.items()])


def test_every_kernel_is_in_the_catalogue():
    names = {s.name for s in selfcheck.KERNELS}
    # the activations and their derivatives, the softmax family, one per loss record
    assert len(selfcheck.KERNELS) == 2 * len(act.ACTIVATIONS) + 3 + len(los.RECORDS)
    assert {"relu′", "logsumexp", "softmax_cross_entropy", "kl_divergence"} <= names


def test_selfcheck_passes_and_prints_a_table(capsys):
    status = selfcheck.run(_args(examples=5, only="tanh,logsumexp,hinge", dtypes="float64"))
    out = capsys.readouterr().out
    assert status == 0
    assert "9/9 checks agree (9 (kernel, backend) pairs)" in out
    assert out.count(" ok") == 9


def test_selfcheck_fails_on_a_wrong_kernel(capsys, monkeypatch):
    real = act.logsumexp

    def wrong(z, *, backend=None):
        if backend != "cpu":
            return real(z, backend=backend)
        with np.errstate(over="ignore"):
            return np.log(np.exp(z).sum(axis=1))  # unshifted, on one backend only

    monkeypatch.setattr(act, "logsumexp", wrong)
    status = selfcheck.run(_args(examples=50, only="logsumexp", dtypes="float64"))
    out = capsys.readouterr().out
    assert status == 1
    assert "DISAGREES" in out and "logsumexp on cpu (float64)" in out


def test_unknown_kernel_name_is_an_error(capsys):
    assert selfcheck.run(_args(only="swish")) == 2
