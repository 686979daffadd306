"""The losses on the ``"cuda"`` backend: :mod:`verify.kernels.losses`' functions with ``backend="cuda"``.

Nothing here is written a second time. Each loss is its record's row function compiled for CUDA by
:mod:`verify.kernels._compile` (one thread per row, float64 arithmetic rounded once), run by the driver of
:mod:`verify.kernels.catalogue` on :class:`~verify.kernels.cuda._device.DeviceArrays`: the same validation,
conventions, reductions and error messages as on the CPU backends, with the signatures of
:mod:`verify.kernels.losses` minus ``backend``. Inputs may be host or device arrays (see
:mod:`verify.kernels.cuda._device`); device inputs are checked on the device and give device results.
"""

from __future__ import annotations

from verify.kernels import losses as _losses
from verify.kernels.catalogue import check_agreement
from verify.kernels.cuda._device import on_cuda

REDUCTIONS = _losses.REDUCTIONS
LOGISTIC_LABELS = _losses.LOGISTIC_LABELS
LOSSES = {name: on_cuda(function) for name, function in _losses.LOSSES.items()}
"""Every loss of the catalogue on the device, by name."""

globals().update(LOSSES)
__all__ = ["REDUCTIONS", "LOGISTIC_LABELS", "LOSSES", *LOSSES]

check_agreement(_losses.RECORDS, cpu=_losses.LOSSES, cuda=LOSSES)
