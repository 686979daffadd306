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
    assert "verify: " not in result.stderr  # switched off on purpose: nothing to say


def test_unwritable_cache_directory_falls_back_to_memory_and_says_so_once(tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache directory would go")
    env = {**os.environ, "VERIFY_CACHE_DIR": str(blocked / "cache")}
    result = _run(
        """
        from verify._jit import jit, caching_enabled, cache_directory
        from verify.kernels.losses import hinge
        f = jit(lambda x: x + 1.0)
        print(caching_enabled(), cache_directory(), f(1.0), hinge([0.5], [1], backend="cpu")[0])
        """,
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "None", "2.0", "0.5"]
    assert result.stderr.count("verify: ") == 1 and "compiled in memory" in result.stderr, result.stderr


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


# --------------------------------------------------------------------------- a cache that never breaks a user
# The processes below import a private copy of the package with a probe module of small kernels, so that
# the cache is keyed on the copy (edits to the working tree cannot interfere) and compiling is quick.

import errno  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

_PROBES = 18  # one per corruption below and file kind
_PROBE_MODULE = "from verify._jit import jit\nfrom verify.kernels._threads import run_chunks\n\n" + "".join(
    f"\n\n@jit\ndef f{i}(x):\n    return x * {i + 2}.0 + {i}.0\n" for i in range(_PROBES)
) + (
    "\n\n@jit(nogil=True)\ndef p_chunk(a, first, last):\n    for i in range(first, min(last, a.size)):\n"
    "        a[i] = a[i] * 2.0 + 1.0\n\n\ndef p(a):\n    run_chunks(p_chunk, (a,), a.size, 1)\n"
)
_PROBE_PROGRAM = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    PRELUDE
    from verify._jit import cache_directory, cache_writable
    from verify.kernels import _cache_probe as probe
    a = np.arange(5.0)
    probe.p(a)
    kernels = [getattr(probe, f"f{i}") for i in range(NPROBES)] + [probe.p_chunk]
    values = [k(1.5) for k in kernels[:-1]] + a.tolist()
    hits = sum(sum(k.stats.cache_hits.values()) for k in kernels)
    print(json.dumps({"values": values, "hits": hits, "dir": str(cache_directory()), "writable": cache_writable()}))
    """
).replace("NPROBES", str(_PROBES))
_EXPECTED = [1.5 * (i + 2) + i for i in range(_PROBES)] + [1.0, 3.0, 5.0, 7.0, 9.0]

# Simulated file-system failures for the cache directory (root ignores permissions, so a chmod cannot
# make a directory read-only for these tests): every open for writing under it raises ``error``.
_FAILING_WRITES = textwrap.dedent(
    """
    import builtins, errno, os
    _root = os.environ["VERIFY_CACHE_DIR"]
    _error = getattr(errno, os.environ["PROBE_ERRNO"])
    _open, _os_open, _mkdir = builtins.open, os.open, os.mkdir
    def _fail(path):
        raise OSError(_error, os.strerror(_error), str(path))
    def _writing(mode):
        return any(c in mode for c in "wax+")
    def _guarded_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and str(file).startswith(_root) and _writing(mode):
            _fail(file)
        return _open(file, mode, *args, **kwargs)
    def _guarded_os_open(path, flags, *args, **kwargs):
        if str(path).startswith(_root) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            _fail(path)
        return _os_open(path, flags, *args, **kwargs)
    def _guarded_mkdir(path, *args, **kwargs):
        if str(path).startswith(_root) and not os.path.isdir(path):
            _fail(path)
        return _mkdir(path, *args, **kwargs)
    builtins.open, os.open, os.mkdir = _guarded_open, _guarded_os_open, _guarded_mkdir
    """
)


@pytest.fixture(scope="module")
def probe_package(tmp_path_factory):
    import verify

    src = tmp_path_factory.mktemp("probe") / "src"
    shutil.copytree(os.path.dirname(verify.__file__), src / "verify", ignore=shutil.ignore_patterns("__pycache__"))
    (src / "verify" / "kernels" / "_cache_probe.py").write_text(_PROBE_MODULE)
    return src


def _probe_run(src: Path, cache: Path, prelude: str = "", **extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "VERIFY_"))}
    env.update(PYTHONPATH=str(src), PYTHONDONTWRITEBYTECODE="1", VERIFY_CACHE_DIR=str(cache), **extra_env)
    program = _PROBE_PROGRAM.replace("PRELUDE", prelude)
    # cwd: ``python -c`` puts the working directory first on sys.path, before PYTHONPATH.
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env,
                            cwd=src.parent, timeout=300)
    assert result.returncode == 0, f"the process failed (exit {result.returncode}):\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def _cache_files(cache: Path, suffix: str = "") -> dict[str, bytes]:
    return {str(p.relative_to(cache)): p.read_bytes() for p in cache.rglob(f"*{suffix}")
            if p.is_file() and p.suffix in (".nbi", ".nbc")}


def test_frame_detects_every_truncation_and_every_single_bit_flip():
    payload = bytes(range(256)) * 3
    framed = _jit.frame(payload)
    assert _jit.unframe(framed) == payload
    assert all(_jit.unframe(framed[:cut]) is None for cut in range(len(framed)))
    assert _jit.unframe(framed + b"\0") is None
    for offset in range(len(framed)):
        for bit in range(8):
            flipped = bytearray(framed)
            flipped[offset] ^= 1 << bit
            assert _jit.unframe(bytes(flipped)) is None, (offset, bit)
    assert _jit.unframe(payload) is None  # Numba's own (unframed) format is not taken for ours


def test_a_failed_write_leaves_no_temporary_file_and_the_old_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "entry.nbi"
    target.write_bytes(b"old")

    class FullDisk:
        def __init__(self, path):
            self.path = path

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            Path(self.path).write_bytes(data[: len(data) // 2])  # half of it reached the disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.path)

    monkeypatch.setattr("builtins.open", lambda path, mode="r", *a, **k: FullDisk(path))
    with pytest.raises(OSError, match="No space left"):
        _jit.write_atomically(str(target), b"new contents")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry.nbi"] and target.read_bytes() == b"old"


# Truncations and single bit flips over the header (magic, length, digest) and the payload.
_CORRUPTIONS = (("truncate", 0), ("truncate", 0.5), ("truncate", -1), ("flip", 0), ("flip", 10), ("flip", 30),
                ("flip", len(_jit.CACHE_FILE_MAGIC) + 40), ("flip", 0.5), ("flip", -1))
assert 2 * len(_CORRUPTIONS) == _PROBES


def _corrupt(path: Path, how: str, where: float) -> None:
    data = bytearray(path.read_bytes())
    offset = int(where * len(data)) if isinstance(where, float) else where % len(data)
    if how == "truncate":
        del data[offset if where != -1 else len(data) - 1:]
    else:
        data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def test_corrupted_cache_files_are_replaced_and_the_next_process_gives_right_results(probe_package, tmp_path):
    cache = tmp_path / "cache"
    first, _ = _probe_run(probe_package, cache)
    assert first["values"] == _EXPECTED and first["hits"] == 0
    # kernel f_i gets corruption i % 9: in its index (.nbi) for i < 9, in its data (.nbc) after
    for i in range(_PROBES):
        how, where = _CORRUPTIONS[i % len(_CORRUPTIONS)]
        (path,) = cache.rglob(f"_cache_probe.f{i}-*{'.nbi' if i < len(_CORRUPTIONS) else '.nbc'}")
        _corrupt(path, how, where)
    second, stderr = _probe_run(probe_package, cache)  # a crash (SIGSEGV, SIGABRT) fails inside _probe_run
    assert second["values"] == _EXPECTED and second["hits"] == 1  # only the parallel kernel was intact
    assert stderr.count("an unusable compile-cache file") == 1, stderr  # said once, not per file
    healed = _cache_files(cache)
    assert all(_jit.unframe(data) is not None for data in healed.values())
    third, _ = _probe_run(probe_package, cache)
    assert third["values"] == _EXPECTED and third["hits"] == _PROBES + 1  # everything loaded from the cache
    assert _cache_files(cache) == healed


def test_a_full_disk_compiles_in_memory_and_says_so_once(probe_package, tmp_path):
    cache = tmp_path / "cache"
    result, stderr = _probe_run(probe_package, cache, _FAILING_WRITES, PROBE_ERRNO="ENOSPC")
    assert result["values"] == _EXPECTED and result["writable"] is False
    assert stderr.count("verify: ") == 1 and "No space left on device" in stderr, stderr
    assert not _cache_files(cache)
    healthy, stderr = _probe_run(probe_package, cache)  # the disk has room again: cached as usual
    assert healthy["values"] == _EXPECTED and "verify: " not in stderr and len(_cache_files(cache)) > _PROBES


def test_a_read_only_cache_is_loaded_and_never_written(probe_package, tmp_path):
    cache = tmp_path / "cache"
    _probe_run(probe_package, cache)
    before = _cache_files(cache)
    (victim,) = cache.rglob("_cache_probe.f0-*.nbc")
    victim.unlink()  # one kernel missing from the read-only cache: compiled in memory
    result, stderr = _probe_run(probe_package, cache, _FAILING_WRITES, PROBE_ERRNO="EROFS")
    assert result["values"] == _EXPECTED and result["writable"] is False
    assert result["hits"] == _PROBES  # every kernel but f0 loaded
    assert stderr.count("verify: ") == 1 and "read-only" in stderr, stderr
    assert _cache_files(cache) == {k: v for k, v in before.items() if k != str(victim.relative_to(cache))}


def test_the_cache_is_never_written_into_the_package(probe_package, tmp_path):
    # The cache directory can be created but its "kernels" subdirectory cannot (a file is in the way):
    # Numba's own fall-back used to write .nbi/.nbc files into verify/kernels/__pycache__ then.
    digest = _jit.source_hash(probe_package / "verify")
    cache = tmp_path / "cache"
    (cache / digest[:16]).mkdir(parents=True)
    (cache / digest[:16] / "kernels").write_text("in the way")
    result, stderr = _probe_run(probe_package, cache)
    assert result["values"] == _EXPECTED
    assert stderr.count("verify: ") == 1 and "compiled in memory" in stderr, stderr
    assert not [p for p in probe_package.rglob("*") if p.suffix in (".nbi", ".nbc")]
    blocked = tmp_path / "file"
    blocked.write_text("")
    result, stderr = _probe_run(probe_package, blocked / "cache")  # no cache directory at all
    assert result["values"] == _EXPECTED and result["dir"] == "None" and stderr.count("verify: ") == 1
    assert not [p for p in probe_package.rglob("*") if p.suffix in (".nbi", ".nbc")]


def test_kernels_build_no_cfunc_wrapper_unless_asked():
    kernel = _jit.jit(lambda x: x + 1.0, cache=False)
    asked = _jit.jit(lambda x: x + 1.0, cache=False, no_cfunc_wrapper=False)
    assert kernel(1.0) == asked(1.0) == 2.0
    assert kernel.targetoptions["no_cfunc_wrapper"] is True
    assert asked.targetoptions["no_cfunc_wrapper"] is False


def test_a_forceinline_helper_is_compiled_once_for_all_its_callers():
    """LLVM inlines a ``forceinline=True`` helper into each caller; Numba types and lowers it once per signature
    (``inline="always"`` would copy and re-type its IR into every caller instead)."""

    @_jit.jit(forceinline=True, cache=False)
    def helper(x):
        return x * 2.0 + 1.0

    @_jit.jit(cache=False)
    def first(x):
        return helper(x)

    @_jit.jit(cache=False)
    def second(x):
        return helper(x) - 1.0

    assert (first(1.5), second(1.5)) == (4.0, 3.0)
    assert len(helper.signatures) == 1
