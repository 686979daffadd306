"""pytest plugin for ``verify`` (registered through the ``pytest11`` entry point).

- Markers: ``cuda`` (needs the CUDA backend: a GPU or ``NUMBA_ENABLE_CUDASIM=1``), ``slow``.
- Hypothesis profiles, all with ``deadline=None`` because the first call of a kernel JIT-compiles it:
  ``verify-dev`` (the default, 50 examples), ``verify-ci`` (derandomised, so a CI run is
  reproducible, 30 examples; chosen automatically when ``CI`` is set), ``verify-thorough``
  (1000 examples) and ``verify-soak`` (``SOAK_FACTOR`` = 20 × verify-dev's examples, random seeds, not
  derandomised: it finds what CI would only hit by chance; ``tox -e soak``, not part of CI). A test that
  fixes its own example count writes it as ``scaled(n)``, which is ``SOAK_FACTOR·n`` under verify-soak.
  ``--hypothesis-profile NAME`` or ``VERIFY_HYPOTHESIS_PROFILE`` overrides.
- ``--backends numpy,cpu,parallel`` (or ``VERIFY_TEST_BACKENDS``): the backends a test that takes a
  ``backend`` argument is run over (chex-style variants). ``cuda`` is included only when asked for.
- Fixtures ``check_gradient`` and ``check_loss`` for another project's test suite: the checkers of
  ``verify`` (same signatures), whose reports are recorded in the test's ``user_properties`` (so
  they reach JUnit XML) and listed in a "verify checks" section of the terminal summary with
  ``--verify-summary`` (examples tried, worst error / tolerance, references, kinks met).
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
SOAK_FACTOR = 20
settings.register_profile("verify-soak", deadline=None, max_examples=SOAK_FACTOR * 50, derandomize=False,
                          print_blob=True, suppress_health_check=_SUPPRESS)
_ACTIVE_PROFILE = {"name": None}


def scaled(examples: int) -> int:
    """A test's own example count, ``SOAK_FACTOR`` times larger under the ``verify-soak`` profile."""
    name = _ACTIVE_PROFILE["name"] or os.environ.get("VERIFY_HYPOTHESIS_PROFILE")
    return examples * SOAK_FACTOR if name == "verify-soak" else examples


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
    group.addoption(
        "--verify-summary", action="store_true", default=False,
        help="list every check run through the check_gradient / check_loss fixtures in the terminal summary",
    )


_REPORTS = pytest.StashKey[list]()


def _recording(request: pytest.FixtureRequest, checker_name: str, module: str):
    import importlib

    checker = getattr(importlib.import_module(module), checker_name)

    def run(*args, **kwargs):
        __tracebackhide__ = True  # a failure points at the user's test line, not at this wrapper
        report = checker(*args, **kwargs)
        request.node.user_properties.append((f"verify.{checker_name}", str(report)))
        request.config.stash.setdefault(_REPORTS, []).append((request.node.nodeid, checker_name, report))
        return report

    run.__doc__ = checker.__doc__
    run.__name__ = checker_name
    return run


@pytest.fixture
def check_gradient(request: pytest.FixtureRequest):
    """``verify.check_gradient``, with its report recorded (user_properties, ``--verify-summary``)."""
    return _recording(request, "check_gradient", "verify.checks.gradient")


@pytest.fixture
def check_loss(request: pytest.FixtureRequest):
    """``verify.check_loss``, with its report recorded (user_properties, ``--verify-summary``)."""
    return _recording(request, "check_loss", "verify.checks.loss")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    reports = config.stash.get(_REPORTS, [])
    if not reports or not config.getoption("--verify-summary"):
        return
    terminalreporter.section("verify checks")
    for nodeid, name, report in reports:
        terminalreporter.write_line(f"{nodeid} — {name}")
        for line in str(report).splitlines():
            terminalreporter.write_line(f"    {line}")


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
    explicit = config.getoption("hypothesis_profile", default=None)
    if not explicit:
        settings.load_profile(_default_profile())
    _ACTIVE_PROFILE["name"] = explicit or _default_profile()


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
