"""The layer checkers' exports: lazy, and importing verify never imports torch or jax."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest


def test_importing_verify_and_its_checkers_imports_neither_torch_nor_jax():
    code = (
        "import sys, verify, verify.checks\n"
        "from verify import *\n"
        "assert 'torch' not in globals() and 'jax' not in globals()\n"
        "verify.check_vjp, verify.check_jvp, verify.check_hessian, verify.VJPReport\n"
        "import verify.torch, verify.jax, verify.pytest_plugin\n"
        "assert 'torch' not in sys.modules and 'jax' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m or 'jax' in m)\n"
        "assert verify.torch.check_function and verify.jax.check_function\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_star_import_does_not_shadow_the_frameworks():
    import verify

    assert "torch" not in verify.__all__ and "jax" not in verify.__all__
    assert "torch" in dir(verify) and "jax" in dir(verify)


@pytest.mark.parametrize("name", ["check_vjp", "check_jvp", "check_hessian", "VJPReport", "JVPReport", "HessianReport"])
def test_exported_from_verify_and_verify_checks(name):
    import verify
    import verify.checks

    assert getattr(verify, name) is getattr(verify.checks, name)
    assert name in verify.__all__ and name in verify.checks.__all__


@pytest.mark.parametrize("module", ["verify.checks.vjp", "verify.checks.hessian"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.peers
@pytest.mark.parametrize("module, framework", [("verify.torch", "torch"), ("verify.jax", "jax")])
def test_adapter_docstring_examples_run(module, framework):
    pytest.importorskip(framework)
    if framework == "jax":
        import jax

        previous = jax.config.jax_enable_x64
        jax.config.update("jax_enable_x64", False)
    try:
        result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    finally:
        if framework == "jax":
            jax.config.update("jax_enable_x64", previous)
    assert result.attempted > 0 and result.failed == 0
