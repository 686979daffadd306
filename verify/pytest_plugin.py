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
- Fixtures for another project's test suite, one per checker: ``check_gradient``, ``check_vjp``,
  ``check_jvp``, ``check_hessian``, ``check_loss``, ``check_optimizer``, ``check_torch_function``,
  ``check_torch_module`` and ``check_jax_function`` (the last three import their framework only when
  used). Each is the checker itself (same signature); its report — or its failure, recorded before the
  ``CheckFailure`` propagates — goes into the test's ``user_properties`` (so it reaches JUnit XML) and,
  with ``--verify-summary``, into a "verify checks" section of the terminal summary (passed and failed
  counts; per check the examples tried, worst error / tolerance, references, kinks met, or the failure's
  headline and likely mistake).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

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
        help="list every check run through verify's fixtures (check_gradient, check_vjp, …), passed or failed, in "
             "the terminal summary",
    )


_REPORTS = pytest.StashKey[list]()


@dataclass(frozen=True)
class _Failed:
    """A check that raised ``CheckFailure``: its message (the summary shows the headline and the likely
    mistake)."""

    message: str

    def headline(self) -> list[str]:
        lines = self.message.splitlines()
        picked = lines[:1] + [line for line in lines[1:] if line.lstrip().startswith(("check_", "likely mistake"))]
        return ["FAILED: " + picked[0], *picked[1:4]] if picked else ["FAILED"]

    def __str__(self) -> str:
        return "\n".join(self.headline())


def _recording(request: pytest.FixtureRequest, checker_name: str, module: str, attribute: str):
    """The checker ``module.attribute``, recording its report — or its failure, before re-raising it — in the
    test's ``user_properties`` and in the session's list for ``--verify-summary``."""
    import importlib

    from verify.checks.failure import CheckFailure

    checker = getattr(importlib.import_module(module), attribute)

    def record(outcome: object) -> None:
        request.node.user_properties.append((f"verify.{checker_name}", str(outcome)))
        request.config.stash.setdefault(_REPORTS, []).append((request.node.nodeid, checker_name, outcome))

    def run(*args, **kwargs):
        __tracebackhide__ = True  # a failure points at the user's test line, not at this wrapper
        try:
            report = checker(*args, **kwargs)
        except CheckFailure as failure:
            record(_Failed(str(failure)))
            raise
        record(report)
        return report

    run.__doc__ = checker.__doc__
    run.__name__ = checker_name
    return run


_FIXTURES = (
    # (fixture name, module, attribute, what its docstring adds)
    ("check_gradient", "verify.checks.gradient", "check_gradient", ""),
    ("check_vjp", "verify.checks.vjp", "check_vjp", ""),
    ("check_jvp", "verify.checks.vjp", "check_jvp", ""),
    ("check_hessian", "verify.checks.hessian", "check_hessian", ""),
    ("check_loss", "verify.checks.loss", "check_loss", ""),
    ("check_optimizer", "verify.checks.optimizer", "check_optimizer", ""),
    ("check_torch_function", "verify.torch", "check_function", " (imports torch when used)"),
    ("check_torch_module", "verify.torch", "check_module", " (imports torch when used)"),
    ("check_jax_function", "verify.jax", "check_function", " (imports jax when used)"),
)
"""One fixture per checker: the checker ``module.attribute`` under the fixture's name, recording its reports."""


def _checker_fixture(name: str, module: str, attribute: str, imports: str):
    def fixture(request: pytest.FixtureRequest):
        return _recording(request, name, module, attribute)

    fixture.__name__ = fixture.__qualname__ = name
    public = "verify" if module.startswith("verify.checks.") else module  # the checkers are re-exported by verify
    fixture.__doc__ = f"``{public}.{attribute}``{imports}, with its report (or failure) recorded."
    return pytest.fixture(name=name)(fixture)


for _name, _module, _attribute, _imports in _FIXTURES:
    globals()[_name] = _checker_fixture(_name, _module, _attribute, _imports)
del _name, _module, _attribute, _imports


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    reports = config.stash.get(_REPORTS, [])
    if not reports or not config.getoption("--verify-summary"):
        return
    failed = sum(isinstance(outcome, _Failed) for _, _, outcome in reports)
    terminalreporter.section("verify checks")
    terminalreporter.write_line(f"{len(reports) - failed} passed, {failed} failed")
    for nodeid, name, outcome in reports:
        terminalreporter.write_line(f"{nodeid} — {name}" + (" FAILED" if isinstance(outcome, _Failed) else ""))
        for line in str(outcome).splitlines():
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
