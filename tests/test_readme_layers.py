"""The README's quick start for layers, PyTorch and JAX runs, its checks pass, and the wrong rule it shows fails."""

from __future__ import annotations

import pytest
from test_readme import README, python_blocks


def _block(first_line: str) -> str:
    (block,) = [b for b in python_blocks(README.read_text()) if b.startswith(first_line)]
    return block


def _run(block: str, name: str) -> None:
    exec(compile(block, f"README.md ({name})", "exec"), {"__name__": "readme"})


def test_the_layers_quick_start_runs(capsys):
    _run(_block("# Layers:"), "layers")
    out = capsys.readouterr().out
    assert "check_vjp: 1 example(s) passed" in out and "check_jvp: 1 example(s) passed" in out
    assert "likely mistake: the incoming gradient (the cotangent u, grad_output) is ignored" in out
    assert "check_hessian: 1 example(s) passed" in out


@pytest.mark.peers
def test_the_pytorch_quick_start_runs_and_a_wrong_backward_fails(capsys):
    torch = pytest.importorskip("torch")
    namespace: dict = {"__name__": "readme"}
    exec(compile(_block("# PyTorch:"), "README.md (PyTorch)", "exec"), namespace)
    out = capsys.readouterr().out
    assert "verify.torch.check_function passed: " in out and "; 1 input(s)/parameter(s) in " in out
    assert "verify.torch.check_module passed: " in out and "; 3 input(s)/parameter(s) in " in out

    import verify
    import verify.torch

    class SquareForgettingGradOutput(namespace["Square"]):
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return 2 * x

    with pytest.raises(verify.CheckFailure, match="is ignored"):
        verify.torch.check_function(SquareForgettingGradOutput.apply, (torch.tensor([0.5, -1.0, 2.0],
                                                                                     dtype=torch.float64),))


@pytest.mark.peers
def test_the_jax_quick_start_runs_with_x64_off(capsys):
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        _run(_block("# JAX:"), "JAX")
        assert not jax.config.jax_enable_x64
    finally:
        jax.config.update("jax_enable_x64", previous)
    out = capsys.readouterr().out
    assert "verify.jax.check_function passed: " in out and "; 1 input(s)/parameter(s) in " in out
    assert "forward mode not supported by this function" in out
