"""``verify bench``: the kernels side by side with NumPy, torch and the machine's own limits.

- :mod:`verify.bench.harness`: timing (warm-up, medians of repeats), ratios, compile / cache-load time
  in child processes, the table and the JSON document;
- :mod:`verify.bench.machine`: STREAM-style triad bandwidth and exp throughput on the kernels' threads;
- :mod:`verify.bench.workloads`: one function per workload;
- :mod:`verify.bench.profile`: phase timings of the kernels (``--profile``): where the time goes;
- :mod:`verify.bench.command`: the ``verify bench`` subcommand (:func:`run_bench` for programs).

Imported lazily: ``import verify.bench`` compiles nothing and does not import torch.
"""

from __future__ import annotations

from typing import Any

from verify import _lazy_export

_LAZY = {
    "run_bench": "verify.bench.command",
    "WORKLOADS": "verify.bench.workloads",
    "machine_limits": "verify.bench.machine",
    "measure": "verify.bench.harness",
    "measure_compile": "verify.bench.harness",
    "Timing": "verify.bench.harness",
    "WorkloadResult": "verify.bench.harness",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return _lazy_export(globals(), _LAZY, name)
    raise AttributeError(f"module 'verify.bench' has no attribute {name!r}")
