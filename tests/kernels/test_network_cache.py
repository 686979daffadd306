"""The network kernels are loaded from Numba's on-disk cache by a second process, not recompiled.

A kernel that Numba cannot find in its cache is compiled again and written as a new ``.nbc`` entry;
closures that capture other dispatchers got a new cache key in every process (the pickled cells
hold a per-process id), so every process paid the full compile time of the network. Here a small
forward + backward pass on every layer kind and both Numba backends runs twice, in two fresh
processes sharing one empty cache directory: the first fills it, the second must write nothing.

The processes import a private copy of the package, so that edits to the working tree between the
two runs (which change the source hash the cache is keyed on) cannot make the test fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import verify

_PROGRAM = textwrap.dedent(
    """
    import hashlib
    import warnings

    warnings.simplefilter("always")

    import numpy as np

    import verify
    from verify._jit import cache_directory, caching_enabled
    from verify.kernels.network import (
        Network, conv1d_layer, dense_layer, init_parameters, network_value_and_grad, residual_layer,
    )

    network = Network(
        (dense_layer(6, 5, "tanh"), residual_layer(5, "sigmoid"), conv1d_layer(5, 2, "relu"), dense_layer(4, 3)),
        "softmax_cross_entropy",
    )
    rng = np.random.default_rng(0)
    params = init_parameters(network, rng)
    y = rng.standard_normal((9, 6))
    labels = rng.integers(0, 3, 9)
    digest = hashlib.sha256()
    for backend in ("cpu", "parallel"):
        value, grads, grad_y = network_value_and_grad(network, params, y, labels, backend=backend)
        for array in (np.float64(value), grad_y, *(g for pair in grads for g in pair)):
            digest.update(np.ascontiguousarray(array).tobytes())
    print(verify.__file__)
    print(caching_enabled(), cache_directory())
    print(digest.hexdigest())
    """
)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root``: relative path → (size, mtime in ns)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_second_process_loads_network_kernels_from_the_cache(tmp_path):
    package = tmp_path / "src" / "verify"
    shutil.copytree(Path(verify.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(VERIFY_CACHE_DIR=str(cache), VERIFY_NUMBA_CACHE="1", PYTHONPATH=str(tmp_path / "src"))

    def run() -> tuple[list[str], str]:
        # cwd=tmp_path: ``python -c`` puts the working directory first on sys.path, before PYTHONPATH.
        result = subprocess.run(
            [sys.executable, "-c", _PROGRAM], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split("\n"), result.stderr

    (module, enabled, first_digest, _), _ = run()
    assert Path(module).parent == package, "the subprocess imported the working tree, not the copy"
    assert enabled.startswith("True "), enabled
    first = _snapshot(cache)
    network_entries = [name for name in first if "network." in name and name.endswith(".nbc")]
    passes = ("activate", "correlate", "scale_and_sum", "theta_taps", "sum_rows")
    expected = [f"network_{kernel}__cpu-" for kernel in passes]  # what both CPU backends run
    for kernel in expected:
        assert any(kernel in name for name in network_entries), (kernel, first)

    (_, _, second_digest, _), _ = run()
    second = _snapshot(cache)
    written = sorted(name for name in second if second[name] != first.get(name))
    assert not written, f"the second process compiled again and wrote {written}"
    assert second_digest == first_digest, "the cached kernels gave other bits than the freshly compiled ones"
