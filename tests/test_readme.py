"""The README's code is the code users copy: its quick start runs, its plugin example is the tested one."""

from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    """The README's ```python blocks, in order (also used by test_readme_layers)."""
    blocks, inside, lines = [], False, []
    for line in text.splitlines():
        if line.strip() == "```python":
            inside, lines = True, []
        elif inside and line.strip() == "```":
            inside = False
            blocks.append("\n".join(lines) + "\n")
        elif inside:
            lines.append(line)
    return blocks


def test_quick_start_runs_and_its_checks_pass(capsys):
    quick_start = python_blocks(README.read_text())[0]
    assert "check_gradient" in quick_start and "check_loss" in quick_start and "check_optimizer" in quick_start
    exec(compile(quick_start, "README.md (quick start)", "exec"), {})
    out = capsys.readouterr().out
    assert "check_loss('least_squares'" in out and "check_optimizer('adam') passed" in out


def test_the_quick_start_optimizer_check_catches_a_wrong_adam():
    import numpy as np

    import verify

    def adam_with_bias_correction_one_plus_beta(theta0, grads, *, lr, beta1, beta2, eps):
        theta, m, v, iterates = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0), []
        for t, g in enumerate(grads, start=1):
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            theta = theta - lr * (m / (1 + beta1**t)) / (np.sqrt(v / (1 + beta2**t)) + eps)
            iterates.append(theta)
        return np.array(iterates)

    with pytest.raises(verify.CheckFailure):
        verify.check_optimizer("adam", adam_with_bias_correction_one_plus_beta, lr=1e-3, beta1=0.9,
                               beta2=0.999, eps=1e-8)


def test_plugin_example_in_the_readme_is_the_tested_one():
    import importlib.util

    path = README.parent / "tests" / "checks" / "test_plugin_example.py"
    spec = importlib.util.spec_from_file_location("_plugin_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.README_EXAMPLE.strip() in README.read_text()
