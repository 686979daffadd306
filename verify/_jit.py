"""Numba compilation for every CPU kernel of ``verify``: ``jit`` and ``parallel_jit``.

Two failure modes of ``@njit(cache=True)`` are handled here, once, for the whole package:

1. **Read-only installs.** Numba raises at decoration time when it finds no writable cache
   directory. We probe for one ourselves and compile in memory (``cache=False``) when there is none,
   so ``import verify`` always works.
2. **Stale caches.** Numba keys a cached function on the hash of *its own* source file. A kernel
   that calls a ``@njit`` helper from another module keeps the old machine code after the helper
   changes. Our cache locator stamps every compiled function of the package with the hash of its
   own file *and* of every source under ``verify/kernels/`` (where all shared ``@jit`` helpers live)
   and ``verify/_jit.py``, so a change to any helper invalidates every function that may inline it,
   while editing, say, a claim module does not recompile the kernels.

Set ``VERIFY_NUMBA_CACHE=0`` to disable on-disk caching altogether; ``VERIFY_CACHE_DIR`` chooses the
directory (default: ``<user cache dir>/verify-numba``, honouring ``XDG_CACHE_HOME``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

import numba

__all__ = ["jit", "parallel_jit", "cache_directory", "caching_enabled"]

_PACKAGE_ROOT = Path(__file__).resolve().parent


def _hash_files(paths) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(_PACKAGE_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def package_source_hash() -> str:
    """SHA-256 over the sources every compiled function may inline from: ``verify/kernels/**`` and
    ``verify/_jit.py`` (paths and bytes), computed once per process."""
    return _hash_files([*(_PACKAGE_ROOT / "kernels").rglob("*.py"), _PACKAGE_ROOT / "_jit.py"])


@functools.cache
def _file_hash(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _default_cache_root() -> Path:
    explicit = os.environ.get("VERIFY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "verify-numba"


def _is_writable_directory(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def cache_directory() -> Path | None:
    """The directory compiled kernels are cached in, or ``None`` when caching is off or impossible."""
    if os.environ.get("VERIFY_NUMBA_CACHE", "1").strip().lower() in {"0", "false", "no", "off"}:
        return None
    path = _default_cache_root() / package_source_hash()[:16]
    return path if _is_writable_directory(path) else None


def _install_locator() -> bool:
    """Put our package-hash locator first in Numba's list; ``False`` if Numba's internals moved."""
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover - numba layout changed
        return False
    base = getattr(caching, "_CacheLocator", None)
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    if base is None or impl is None or not hasattr(impl, "_locator_classes"):
        return False  # pragma: no cover - numba layout changed
    if any(getattr(c, "_verify_locator", False) for c in impl._locator_classes):
        return True

    class VerifyPackageLocator(base):
        """Caches kernels of ``verify`` under :func:`cache_directory`, stamped by the package hash."""

        _verify_locator = True

        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            relative = Path(py_file).resolve().relative_to(_PACKAGE_ROOT)
            self._cache_path = str(cache_directory() / relative.parent)

        def get_cache_path(self):
            return self._cache_path

        def get_source_stamp(self):
            return package_source_hash(), _file_hash(self._py_file)

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            if cache_directory() is None:
                return None
            try:
                Path(py_file).resolve().relative_to(_PACKAGE_ROOT)
            except ValueError:
                return None
            locator = cls(py_func, py_file)
            try:
                locator.ensure_cache_path()
            except OSError:
                return None
            return locator

    impl._locator_classes.insert(0, VerifyPackageLocator)
    return True


@functools.lru_cache(maxsize=1)
def caching_enabled() -> bool:
    """Whether kernels are cached on disk in this process (a writable directory and our locator)."""
    return cache_directory() is not None and _install_locator()


def jit(func=None, **options):
    """``numba.njit`` with the package's caching policy; usable bare or with options."""
    options.setdefault("cache", caching_enabled())
    if func is None:
        return lambda f: numba.njit(f, **options)
    return numba.njit(func, **options)


def parallel_jit(func=None, **options):
    """``jit`` with ``parallel=True``: loops written with ``numba.prange`` run on all threads."""
    options["parallel"] = True
    return jit(func, **options)
