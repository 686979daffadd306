"""The package's Numba caching policy."""

import os
import subprocess
import sys
import textwrap

from verify import _jit


def test_source_hash_is_stable_within_a_process():
    assert _jit.package_source_hash() == _jit.package_source_hash()
    assert len(_jit.package_source_hash()) == 64


def _run(code, env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env)


def test_caching_can_be_disabled_and_still_compiles(tmp_path):
    env = {**os.environ, "VERIFY_NUMBA_CACHE": "0"}
    result = _run(
        """
        from verify._jit import jit, caching_enabled
        f = jit(lambda x: x * 2.0)
        print(caching_enabled(), f(2.0))
        """,
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "4.0"]


def test_unwritable_cache_directory_falls_back_to_memory(tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache directory would go")
    env = {**os.environ, "VERIFY_CACHE_DIR": str(blocked / "cache")}
    result = _run(
        """
        from verify._jit import jit, caching_enabled, cache_directory
        f = jit(lambda x: x + 1.0)
        print(caching_enabled(), cache_directory(), f(1.0))
        """,
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "None", "2.0"]


def test_cache_directory_is_keyed_by_the_package_hash(tmp_path):
    env = {**os.environ, "VERIFY_CACHE_DIR": str(tmp_path)}
    result = _run("from verify._jit import cache_directory, package_source_hash as h; print(cache_directory(), h())", env)
    assert result.returncode == 0, result.stderr
    directory, digest = result.stdout.split()
    assert directory == str(tmp_path / digest[:16])
