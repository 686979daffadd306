"""Every docstring example of the package runs as a doctest (the examples users copy must work).

The adapters (``verify.torch``, ``verify.jax``) and the layer checkers run theirs in
tests/checks/test_layer_exports.py, under the frameworks' settings; the CUDA modules need a GPU or the simulator.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import verify

_ELSEWHERE = {"verify.torch", "verify.jax", "verify.checks.vjp", "verify.checks.hessian", "verify.__main__"}


def _modules() -> list[str]:
    return [info.name for info in pkgutil.walk_packages(verify.__path__, "verify.")
            if info.name not in _ELSEWHERE and ".cuda" not in info.name]


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (printed above)"


def test_the_examples_are_found():
    attempted = sum(doctest.testmod(importlib.import_module(name), report=False).attempted
                    for name in ("verify.claims.builders", "verify.kernels.optimizers"))
    assert attempted >= 10
