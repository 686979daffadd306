"""The environment section: versions, run settings, CPU and GPU, and never an exception."""

from __future__ import annotations

import pytest

from verify.report import environment
from verify.report.environment import collect_environment


def test_environment_fields():
    env = collect_environment(backend="cpu", seed=7, quick=True)
    assert env["run"]["backend"] == "cpu" and env["run"]["seed"] == 7 and env["run"]["quick"] is True
    assert env["packages"]["numpy"] != "not installed"
    assert env["packages"]["python"].count(".") == 2
    assert env["machine"]["cpu"]
    assert env["machine"]["gpu"]


def test_missing_optional_package_is_named_not_fatal():
    assert environment.package_versions(("surely-not-a-package-xyz",))["surely-not-a-package-xyz"] == "not installed"


def test_gpu_detection_failure_is_reported(monkeypatch: pytest.MonkeyPatch):
    numba_cuda = pytest.importorskip("numba.cuda")
    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM", raising=False)

    def broken():
        raise RuntimeError("driver exploded")

    monkeypatch.setattr(numba_cuda, "is_available", broken)
    text = environment.gpu_description()
    assert "detection failed" in text and "driver exploded" in text


def test_simulator_is_named(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    assert "simulator" in environment.gpu_description()
