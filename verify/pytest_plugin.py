"""pytest plugin for ``verify`` (registered through the ``pytest11`` entry point).

- Markers: ``cuda`` (needs the CUDA backend: a GPU or ``NUMBA_ENABLE_CUDASIM=1``), ``slow``.
- Hypothesis profiles, all with ``deadline=None`` because the first call of a kernel JIT-compiles it:
  ``verify-dev`` (the default, 50 examples), ``verify-ci`` (derandomised, so a CI run is
  reproducible, 30 examples; chosen automatically when ``CI`` is set) and ``verify-thorough``
  (1000 examples). ``--hypothesis-profile NAME`` or ``VERIFY_HYPOTHESIS_PROFILE`` overrides.
- ``--backends numpy,cpu,parallel`` (or ``VERIFY_TEST_BACKENDS``): the backends a test that takes a
  ``backend`` argument is run over (chex-style variants). ``cuda`` is included only when asked for.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from verify.kernels._backend import BACKENDS, CPU_BACKENDS

_SUPPRESS = (HealthCheck.too_slow, HealthCheck.data_too_large)

settings.register_profile("verify-dev", deadline=None, max_examples=50, suppress_health_check=_SUPPRESS)
settings.register_profile(
    "verify-ci", deadline=None, max_examples=30, derandomize=True, print_blob=True,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile("verify-thorough", deadline=None, max_examples=1000, suppress_health_check=_SUPPRESS)


def _default_profile() -> str:
    explicit = os.environ.get("VERIFY_HYPOTHESIS_PROFILE")
    if explicit:
        return explicit
    return "verify-ci" if os.environ.get("CI") else "verify-dev"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("verify")
    group.addoption(
        "--backends",
        default=os.environ.get("VERIFY_TEST_BACKENDS", ",".join(CPU_BACKENDS)),
        help="comma-separated backends for tests taking a `backend` argument (default: numpy,cpu,parallel)",
    )


def _selected_backends(config: pytest.Config) -> list[str]:
    names = [b.strip() for b in config.getoption("--backends").split(",") if b.strip()]
    unknown = [b for b in names if b not in BACKENDS]
    if unknown:
        raise pytest.UsageError(f"--backends: unknown backend(s) {unknown}; choose from {BACKENDS}")
    return names


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cuda: needs the CUDA backend (a GPU or NUMBA_ENABLE_CUDASIM=1)")
    config.addinivalue_line("markers", "slow: long-running; deselect with -m 'not slow'")
    config.addinivalue_line("markers", "peers: needs an optional peer library (torch, jax, dask)")
    # An explicit --hypothesis-profile (Hypothesis' own plugin) wins over our default.
    if not config.getoption("hypothesis_profile", default=None):
        settings.load_profile(_default_profile())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and not any(
        m.name == "parametrize" and "backend" in m.args[0] for m in metafunc.definition.iter_markers()
    ):
        metafunc.parametrize("backend", _selected_backends(metafunc.config))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cuda_ok = "cuda" in _selected_backends(config)
    skip_cuda = pytest.mark.skip(reason="CUDA backend not selected (use --backends cuda under NUMBA_ENABLE_CUDASIM=1)")
    for item in items:
        if "cuda" in item.keywords and not cuda_ok:
            item.add_marker(skip_cuda)
