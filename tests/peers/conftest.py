"""Fixtures the peer tests share: JAX's x64 flag set for a test and restored after it."""

from __future__ import annotations

import contextlib

import pytest


@contextlib.contextmanager
def jax_x64(enabled: bool):
    """jax_enable_x64 set to ``enabled`` inside, restored after."""
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", enabled)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)


@pytest.fixture
def x64():
    """jax_enable_x64 on for the test, restored after."""
    with jax_x64(True):
        yield


@pytest.fixture
def x32():
    """jax_enable_x64 off for the test (another test may have left it on), restored after."""
    with jax_x64(False):
        yield
