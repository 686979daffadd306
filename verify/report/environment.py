"""The environment a report was produced in: versions, backend, seed, CPU, GPU.

Everything here is best effort and never raises: a field that cannot be found says so.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["PACKAGES", "collect_environment", "package_versions", "cpu_model", "gpu_description"]

#: Distributions whose versions a report lists (optional ones show "not installed").
PACKAGES: tuple[str, ...] = (
    "verify", "numpy", "numba", "numba-cuda", "llvmlite", "scipy", "sympy", "mpmath", "hypothesis", "matplotlib",
    "reportlab", "jinja2", "rich", "torch", "jax", "dask",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """``{distribution: version}`` read from the installed metadata (nothing is imported)."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def cpu_model() -> str:
    """The CPU's marketing name from ``/proc/cpuinfo`` (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _usable_cores() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def gpu_description() -> str:
    """The CUDA GPU Numba sees, the simulator if it is on, or why there is none. Never raises."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "none used: Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1)"
    try:
        from numba import cuda

        if not cuda.is_available():
            return "none (numba.cuda: no CUDA driver or device)"
        device = cuda.get_current_device()
        name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
        major, minor = device.compute_capability
        return f"{name} (compute capability {major}.{minor})"
    except Exception as exc:  # noqa: BLE001 - a broken CUDA setup is reported, not fatal
        return f"none (numba.cuda detection failed: {type(exc).__name__}: {exc})"


def _numba_threads() -> str:
    try:
        import numba

        try:  # the layer actually in use is known only once a parallel kernel has run
            layer = numba.threading_layer()
        except ValueError:
            layer = f"{numba.config.THREADING_LAYER}, not yet started"
        return f"{numba.config.NUMBA_NUM_THREADS} (threading layer: {layer})"
    except Exception as exc:  # noqa: BLE001
        return f"unknown ({type(exc).__name__})"


def _command_line() -> str:
    if not sys.argv or not sys.argv[0]:
        return "python"
    return " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]])


def collect_environment(*, backend: str, seed: int, quick: bool) -> dict[str, Any]:
    """What a reader needs to reproduce the report: run settings, machine and package versions."""
    return {
        "run": {"backend": backend, "seed": seed, "quick": quick, "command": _command_line()},
        "machine": {
            "cpu": cpu_model(),
            "cores (usable / total)": f"{_usable_cores()} / {os.cpu_count()}",
            "numba threads": _numba_threads(),
            "gpu": gpu_description(),
            "platform": platform.platform(),
        },
        "packages": package_versions(),
    }
