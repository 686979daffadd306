"""The package's Numba caching policy."""

import os
import subprocess
import sys
import textwrap

from verify import _jit


def test_source_hash_is_stable_within_a_process():
    assert _jit.package_source_hash() == _jit.package_source_hash()
    assert len(_jit.package_source_hash()) == 64


def _run(code, env, cwd=None):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          cwd=cwd)


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


def _helper_change_outputs(tmp_path, caller_decorator, extra_env):
    """Run a cached caller twice, changing the helper it inlines (in another module) in between."""
    import shutil

    import verify

    package = tmp_path / "src" / "verify"
    shutil.copytree(os.path.dirname(verify.__file__), package, ignore=shutil.ignore_patterns("__pycache__"))
    helper = package / "kernels" / "_probe_helper.py"
    (package / "kernels" / "_probe_caller.py").write_text(
        "import numba\n"
        "from verify._jit import jit\n"
        "from verify.kernels._probe_helper import constant\n\n\n"
        f"@{caller_decorator}\n"
        "def call():\n"
        "    return constant() + 0.5\n"
    )
    # No .pyc: the two helper versions have the same size and may share an mtime second, and Python
    # would then reuse the first version's bytecode (a staleness of its own, not Numba's).
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src"), "PYTHONDONTWRITEBYTECODE": "1", **extra_env}
    code = "from verify.kernels._probe_caller import call; print(call())"
    outputs = []
    for value in ("1.0", "2.0"):
        helper.write_text(f"from verify._jit import jit\n\n\n@jit\ndef constant():\n    return {value}\n")
        result = _run(code, env, cwd=tmp_path)  # not the checkout: its verify/ would shadow the copy
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.strip())
    assert list((tmp_path / "cache").rglob("*.nbi")), "the caller was cached on disk"
    return outputs


def test_changing_a_helper_in_another_module_invalidates_the_cached_caller(tmp_path):
    outputs = _helper_change_outputs(tmp_path, "jit", {"VERIFY_CACHE_DIR": str(tmp_path / "cache")})
    assert outputs == ["1.5", "2.5"]


def test_plain_numba_caching_returns_the_stale_result_that_verify_jit_avoids(tmp_path):
    """The hazard is real: Numba's own locator keys the caller on its own file and misses the change."""
    env = {"VERIFY_NUMBA_CACHE": "0", "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    outputs = _helper_change_outputs(tmp_path, "numba.njit(cache=True)", env)
    assert outputs == ["1.5", "1.5"]
