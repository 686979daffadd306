"""Seeded Hypothesis draws that depend on the seed alone (used by the claims' searches and ``verify selfcheck``)."""

from __future__ import annotations

import contextlib

__all__ = ["without_local_constants"]


@contextlib.contextmanager
def without_local_constants():
    """Hypothesis draws, now and then, constants it mines from the source of every *local* module imported so
    far (an editable install of this package, a user's claims file): the values a seeded search draws would then
    depend on what the process happened to import before it — a claim's evidence on the order claims and tests
    ran (found as a flaky determinism test), selfcheck's inputs on whether it runs in one process or several.
    Within this context the mined set is empty, so the seed alone decides. Hypothesis has no public switch for
    it; where its internals differ, nothing is changed."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - another Hypothesis layout
        yield
        return
    mined = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if mined is None or cache is None or not hasattr(providers, "Constants"):  # pragma: no cover
        yield
        return
    providers._get_local_constants = providers.Constants
    cache.cache.clear()  # permitted constants were cached with the mined ones
    try:
        yield
    finally:
        providers._get_local_constants = mined
        cache.cache.clear()
