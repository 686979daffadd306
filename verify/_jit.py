"""Numba compilation for every CPU kernel of ``verify``: ``jit``.

Compiled kernels are cached on disk so that a new process loads machine code instead of compiling it
again. The cache must never break a user, so every way it can fail is handled here, once, for the
whole package:

1. **No usable cache directory** (a read-only install, ``$HOME`` not writable, a full disk): kernels
   are compiled in memory and ``import verify`` still works. This is said once per process (a warning
   on the ``verify`` logger, which reaches stderr when logging is not configured). A directory that
   exists but cannot be written (a read-only file system, a cache prepared by an administrator) is
   still read: the kernels found there are loaded, the others compiled in memory.
2. **Corrupted cache files.** Numba unpickles its index (``.nbi``) and data (``.nbc``) files without any
   check: a truncated file raises ``UnpicklingError`` in every later process, and a flipped bit in the
   machine code can crash the interpreter (SIGSEGV, SIGABRT) — until the files are deleted by hand.
   Here every file is written with a header (magic, payload length, SHA-256 of the payload) and is
   verified *before* it is unpickled; a file that fails is deleted and the kernel recompiled (and saved
   again). Said once per process.
3. **Writes that fail** (``ENOSPC`` on a full disk, a read-only file system, permissions): the freshly
   compiled kernel is used from memory, no further write is attempted in this process, said once.
4. **Never into the package's source tree.** Numba tries a list of cache locations in turn, and one of
   them is ``__pycache__`` next to the source file: when our directory could not be created, Numba fell
   through to it and wrote ``.nbi``/``.nbc`` files into ``verify/kernels/__pycache__``. Our kernels use a
   cache implementation whose only locator is ours; Numba's global list is left untouched.
5. **Stale caches.** Numba keys a cached function on the hash of *its own* source file, so a kernel
   that calls a ``@jit`` helper from another module keeps the old machine code after the helper
   changes. Our locator stamps every compiled function of the package with the hash of its own file
   *and* of every source under ``verify/kernels/`` (where all shared ``@jit`` helpers live) and
   ``verify/_jit.py``, so a change to any helper invalidates every function that may inline it, while
   editing, say, a claim module does not recompile the kernels.

Set ``VERIFY_NUMBA_CACHE=0`` to disable on-disk caching altogether (silently); ``VERIFY_CACHE_DIR``
chooses the directory (default: ``<user cache dir>/verify-numba``, honouring ``XDG_CACHE_HOME``); the
cache of one version of the sources lives in ``<directory>/<first 16 hex digits of their hash>``.

Numba 0.68 offers no integrity check of its cache files (``numba/core/caching.py``:
``IndexDataCacheFile._load_index`` and ``_load_data`` call ``pickle.load`` on the raw bytes), hence the
subclasses below. They rely on ``Dispatcher._cache`` (what ``Dispatcher.enable_caching`` sets) and on the
``IndexDataCacheFile`` methods; if a future Numba moves them, kernels are compiled in memory (said once).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import io
import logging
import os
import pickle
import tempfile
import uuid
from pathlib import Path

import numba

__all__ = ["jit", "cache_directory", "cache_writable", "caching_enabled", "CACHE_FILE_MAGIC"]

_PACKAGE_ROOT = Path(__file__).resolve().parent
_LOG = logging.getLogger("verify")

#: The first bytes of every cache file this module writes (then 8 bytes of payload length, little-endian,
#: and the 32-byte SHA-256 of the payload).
CACHE_FILE_MAGIC = b"VRFYNB1\n"
_HEADER = len(CACHE_FILE_MAGIC) + 8 + 32


# --------------------------------------------------------------------------- saying things once

_SAID: set[str] = set()
_WRITES = {"stopped": False}  # set after a failed write: no further write is attempted in this process


def _say_once(topic: str, message: str) -> None:
    """Log ``message`` on the ``verify`` logger the first time ``topic`` comes up in this process."""
    if topic in _SAID:
        return
    _SAID.add(topic)
    _LOG.warning("verify: %s", message)


# --------------------------------------------------------------------------- where the cache lives


def source_hash(root: Path) -> str:
    """SHA-256 over the sources every compiled function of the package at ``root`` may inline from:
    ``kernels/**`` and ``_jit.py`` (paths relative to ``root``, and bytes)."""
    digest = hashlib.sha256()
    for path in sorted([*(root / "kernels").rglob("*.py"), root / "_jit.py"]):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def package_source_hash() -> str:
    """:func:`source_hash` of this package, computed once per process."""
    return source_hash(_PACKAGE_ROOT)


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


def _unwritable_reason(path: Path) -> str | None:
    """``None`` when ``path`` is (or can be made) a directory we can create files in; else why not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


def _caching_switched_off() -> bool:
    return os.environ.get("VERIFY_NUMBA_CACHE", "1").strip().lower() in {"0", "false", "no", "off"}


@functools.lru_cache(maxsize=1)
def _cache_state() -> tuple[Path | None, bool]:
    """``(directory, writable)``: where kernels are cached, and whether new ones can be saved there.

    An existing directory that cannot be written (a read-only file system, a cache prepared by an
    administrator) is still read: kernels found there are loaded, the others compiled in memory.
    """
    if _caching_switched_off():
        return None, False
    path = _default_cache_root() / package_source_hash()[:16]
    reason = _unwritable_reason(path)
    if reason is None:
        return path, True
    if path.is_dir() and os.access(path, os.R_OK | os.X_OK):
        _say_once("memory", f"the compile cache directory {path} is read-only ({reason}); cached kernels are "
                            "loaded from it and the others compiled in memory in this process")
        return path, False
    _say_once("memory", f"the compile cache directory {path} is not usable ({reason}); kernels are "
                        "compiled in memory in this process (set VERIFY_CACHE_DIR to a writable "
                        "directory, or VERIFY_NUMBA_CACHE=0 to turn the cache off)")
    return None, False


def cache_directory() -> Path | None:
    """The directory compiled kernels are cached in, or ``None`` when caching is off or impossible
    (then kernels are compiled in memory, and that is said once unless ``VERIFY_NUMBA_CACHE=0``)."""
    return _cache_state()[0]


def cache_writable() -> bool:
    """Whether kernels compiled in this process are saved to :func:`cache_directory`."""
    return _cache_state()[1] and not _WRITES["stopped"]


@functools.lru_cache(maxsize=1)
def caching_enabled() -> bool:
    """Whether kernels are cached on disk in this process (a writable directory and a Numba whose
    cache this module knows how to extend)."""
    return cache_directory() is not None and _numba_cache_classes() is not None


def _in_package(py_file: str) -> Path | None:
    """``py_file`` relative to the package root, or ``None`` when it is not one of our sources."""
    try:
        return Path(py_file).resolve().relative_to(_PACKAGE_ROOT)
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- the cache files



def _stop_writing(exc: BaseException) -> None:
    _WRITES["stopped"] = True
    _say_once("write", f"could not write the compile cache ({type(exc).__name__}: {exc}); the kernels "
                       "compiled from now on are kept in memory only in this process")


def frame(payload: bytes) -> bytes:
    """``payload`` with the header that :func:`unframe` checks (magic, length, SHA-256)."""
    return CACHE_FILE_MAGIC + len(payload).to_bytes(8, "little") + hashlib.sha256(payload).digest() + payload


def unframe(raw: bytes) -> bytes | None:
    """The payload of a framed file, or ``None`` when the file is not exactly what :func:`frame` wrote
    (truncated, extended, any bit changed, or another format)."""
    if len(raw) < _HEADER or not raw.startswith(CACHE_FILE_MAGIC):
        return None
    start = len(CACHE_FILE_MAGIC)
    length = int.from_bytes(raw[start:start + 8], "little")
    payload = raw[_HEADER:]
    if len(payload) != length or hashlib.sha256(payload).digest() != raw[start + 8:_HEADER]:
        return None
    return payload


def _discard(path: str, why: str) -> None:
    """Delete a cache file that cannot be used; the kernel is then compiled (and saved) again."""
    try:
        os.unlink(path)
        done = "removed"
    except OSError:  # a read-only cache: leave it, compile in memory
        done = "ignored (it could not be removed)"
    _say_once("corrupt", f"{done} an unusable compile-cache file {path} ({why}) and compiled the kernel "
                         "again; further such files in this process are handled silently")


def _read_verified(path: str) -> bytes | None:
    """The verified payload of the cache file at ``path``; ``None`` if it is missing or unusable (then
    it has been deleted)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        _say_once("read", f"could not read the compile-cache file {path} ({exc}); compiling instead")
        return None
    payload = unframe(raw)
    if payload is None:
        _discard(path, f"{len(raw)} bytes failing the length and SHA-256 check")
    return payload


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path`` (atomic on POSIX),
    so that a reader never sees half a file; the temporary file is removed if anything fails."""
    temporary = f"{path}.tmp.{uuid.uuid4().hex[:16]}"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@functools.lru_cache(maxsize=1)
def _numba_cache_classes():
    """``(cache class)`` built on Numba's caching machinery, or ``None`` if its internals moved."""
    try:
        from numba.core import caching

        locator_base = caching._CacheLocator
        impl_base = caching.CompileResultCacheImpl
        file_base = caching.IndexDataCacheFile
        cache_base = caching.FunctionCache
        for name in ("_load_index", "_load_data", "_open_for_write", "_data_path"):
            getattr(file_base, name)
    except (ImportError, AttributeError):  # pragma: no cover - depends on the Numba release
        return None

    class PackageLocator(locator_base):
        """Caches a kernel of ``verify`` under :func:`cache_directory`, stamped by the package hash."""

        def __init__(self, py_func, py_file, cache_path: Path):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = str(cache_path)

        def get_cache_path(self):
            return self._cache_path

        def get_source_stamp(self):
            return package_source_hash(), _file_hash(self._py_file)

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            directory = cache_directory()
            relative = _in_package(py_file)
            if directory is None or relative is None:
                return None
            locator = cls(py_func, py_file, directory / relative.parent)
            if not _cache_state()[1]:  # read-only: use what is there, create nothing
                return locator if os.path.isdir(locator.get_cache_path()) else None
            try:
                locator.ensure_cache_path()
            except OSError as exc:
                _say_once("memory", f"the compile cache directory {locator.get_cache_path()} is not usable "
                                    f"({type(exc).__name__}: {exc.strerror or exc}); kernels are compiled in "
                                    "memory in this process")
                return None
            return locator

    class PackageCacheImpl(impl_base):
        # Only our locator: never Numba's fall-backs (``__pycache__`` beside the source, NUMBA_CACHE_DIR…).
        _locator_classes = [PackageLocator]

    class ChecksummedCacheFile(file_base):
        """Numba's index and data files, each framed by :func:`frame` and checked before unpickling."""

        def _load_index(self):
            payload = _read_verified(self._index_path)
            if payload is None:
                return {}
            try:
                stream = io.BytesIO(payload)
                version = pickle.load(stream)
                if version != self._version:  # another Numba: its entries are not ours to read
                    return {}
                stamp, overloads = pickle.loads(stream.read())
            except Exception as exc:  # noqa: BLE001 - a verified file that does not unpickle is unusable too
                _discard(self._index_path, f"unreadable index: {type(exc).__name__}")
                return {}
            return overloads if stamp == self._source_stamp else {}

        def _load_data(self, name):
            path = self._data_path(name)
            payload = _read_verified(path)
            if payload is None:
                return None
            try:
                return pickle.loads(payload)
            except Exception as exc:  # noqa: BLE001 - see _load_index
                _discard(path, f"unreadable data: {type(exc).__name__}")
                return None

        @contextlib.contextmanager
        def _open_for_write(self, filepath):
            buffer = io.BytesIO()
            yield buffer
            write_atomically(filepath, frame(buffer.getvalue()))

    class PackageFunctionCache(cache_base):
        """Numba's per-function cache with our locator, checksummed files and no failure reaching the caller."""

        _impl_class = PackageCacheImpl

        def __init__(self, py_func):
            super().__init__(py_func)
            self._cache_file = ChecksummedCacheFile(
                cache_path=self._cache_path, filename_base=self._impl.filename_base,
                source_stamp=self._impl.locator.get_source_stamp(),
            )

        def load_overload(self, sig, target_context):
            try:
                return super().load_overload(sig, target_context)
            except Exception as exc:  # noqa: BLE001 - a cache that cannot be loaded means: compile
                _say_once("load", f"could not load a cached kernel of {self._name} ({type(exc).__name__}: "
                                  f"{exc}); compiling it instead")
                return None

        def save_overload(self, sig, data):
            if not cache_writable():
                return
            try:
                super().save_overload(sig, data)
            except Exception as exc:  # noqa: BLE001 - the kernel is compiled; only its copy on disk is lost
                _stop_writing(exc)

    return PackageFunctionCache


def _attach_cache(dispatcher) -> None:
    """Give ``dispatcher`` (a kernel of this package) the checked on-disk cache, if one is usable."""
    py_func = getattr(dispatcher, "py_func", None)  # None under NUMBA_DISABLE_JIT: a plain function
    if py_func is None or not _in_package(inspect.getfile(py_func)) or not caching_enabled():
        return
    if not hasattr(dispatcher, "_cache"):  # pragma: no cover - depends on the Numba release
        _say_once("memory", "this Numba's dispatcher has no _cache attribute; kernels are compiled in memory")
        return
    try:
        cache = _numba_cache_classes()(py_func)
    except (OSError, RuntimeError) as exc:  # RuntimeError: Numba found no locator
        if cache_writable():  # a read-only cache without this kernel: compiled in memory, already said
            _say_once("memory", f"cannot cache {py_func.__qualname__} ({exc}); compiled in memory")
        return
    dispatcher._cache = cache


def jit(func=None, **options):
    """``numba.njit`` with the package's caching policy; usable bare or with options.

    ``cache=False`` compiles in memory; otherwise a function defined in this package is cached on disk
    when :func:`caching_enabled` (a function defined elsewhere is never cached).

    Compile-time policy (``verify selfcheck`` compiles a few hundred specialisations on a first run):

    - no C-callable wrapper (``no_cfunc_wrapper=True`` unless given): Numba otherwise builds, optimises and
      emits one for every specialisation, for use as a first-class function value (a ``cfunc`` pointer),
      which no kernel of the package is; calls from Python (the CPython wrapper) and between ``@jit``
      functions do not use it;
    - helpers meant to disappear into a caller's loop are declared ``forceinline=True``: LLVM inlines them
      (``alwaysinline``) into every caller, where they vectorise with the loop, while Numba types and lowers
      each of them once per signature. Numba's own ``inline="always"`` copies and re-types the callee's IR at
      every call site of every specialisation (most of the compile time of the kernels built on it) and
      drops the callee's own ``fastmath`` flags.
    """
    cache = options.pop("cache", True)
    options.setdefault("no_cfunc_wrapper", True)

    def decorate(f):
        dispatcher = numba.njit(f, **options)
        if cache:
            _attach_cache(dispatcher)
        return dispatcher

    return decorate if func is None else decorate(func)
