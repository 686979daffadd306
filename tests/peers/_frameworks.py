"""PyTorch, JAX and verify's adapters for them, as the peer tests use them: a test module that imports these
names is skipped where either framework (an optional extra) is missing."""

import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
vt = pytest.importorskip("verify.torch")
vj = pytest.importorskip("verify.jax")
jnp = jax.numpy
F = torch.nn.functional
