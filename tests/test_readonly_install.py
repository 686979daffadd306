"""A read-only install with no writable cache directory still imports and runs a jitted kernel."""

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import verify

CODE = textwrap.dedent(
    """
    import numpy as np, verify
    from verify._jit import caching_enabled
    from verify.kernels.losses import softmax_cross_entropy
    assert verify.__file__.startswith(ROOT), verify.__file__
    value, grad = softmax_cross_entropy(np.array([[1.0, 2.0, 3.0]]), np.array([2]), backend="cpu")
    assert abs(value - 0.40760596444437) < 1e-12, value
    print("ok", caching_enabled())
    """
)


def _make_read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        path.chmod(mode)


def test_import_and_run_from_a_read_only_install(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(Path(verify.__file__).parent, site / "verify",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    _make_read_only(site)
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o500)  # no writable ~/.cache (root ignores this, hence XDG_CACHE_HOME below)
    unwritable_cache = "/proc/verify-no-cache"  # not creatable, even by root
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERIFY_", "NUMBA_CACHE"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=unwritable_cache, PYTHONPATH=str(site),
               PYTHONDONTWRITEBYTECODE="1", NUMBA_CACHE_DIR=unwritable_cache)
    code = f"ROOT = {str(site)!r}\n" + CODE
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                cwd=tmp_path, timeout=300)
    finally:
        for path in [site, *site.rglob("*"), home]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "False"]  # compiled in memory: no cache directory was usable
