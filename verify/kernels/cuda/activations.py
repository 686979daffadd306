"""Activations and the row-wise softmax family on the ``"cuda"`` backend: :mod:`verify.kernels.activations`'
functions with ``backend="cuda"``.

Nothing here is written a second time: the element functions of the activation records and the softmax
family's row functions are compiled for CUDA by :mod:`verify.kernels._compile` (one thread per element or
row, float64 arithmetic rounded once) and run by the same drivers on
:class:`~verify.kernels.cuda._device.DeviceArrays`; same signatures minus ``backend``.
"""

from __future__ import annotations

from verify.kernels import activations as _activations
from verify.kernels.cuda._device import on_cuda

ACTIVATIONS = _activations.ACTIVATIONS
ACTIVATION_CODES = _activations.ACTIVATION_CODES
activation = on_cuda(_activations.activation)
activation_derivative = on_cuda(_activations.activation_derivative)
softmax = on_cuda(_activations.softmax)
log_softmax = on_cuda(_activations.log_softmax)
logsumexp = on_cuda(_activations.logsumexp)

__all__ = ["ACTIVATIONS", "ACTIVATION_CODES", "activation", "activation_derivative", "softmax", "log_softmax",
           "logsumexp"]
