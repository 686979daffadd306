"""The accuracy of softmax cross-entropy on the benchmark's data, in ULPs of the correctly rounded value.

``verify bench`` times ``softmax_cross_entropy`` on ``3·N(0, 1)`` logits of shape (1e6, 10) with integer labels.
This script draws rows from the same distribution and compares each backend's per-row loss and gradient
(``reduction="none"``) with the symbolic reference (SymPy expression evaluated in mpmath, rounded once to
float64), and prints the error in units in the last place of the reference: ``|computed − exact| / ulp(exact)``,
with ``ulp(x) = np.spacing(|x|)`` (so an error of 0.5 is correct rounding). PyTorch's ``cross_entropy``
(``reduction="none"``) is measured beside it when torch is installed.

Usage: ``python scripts/ce_ulps.py [--rows 2000] [--seed 0]`` (about 20 s for 2000 rows: the reference is
evaluated row by row in mpmath).
"""

import argparse

import numpy as np

from verify.kernels import losses
from verify.symbolic import SYMBOLIC_LOSSES


def ulps(computed: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """``|computed − exact|`` in ULPs of ``exact`` (float64); an exact 0 is measured in the smallest subnormal."""
    return np.abs(computed - exact) / np.spacing(np.abs(exact))


def summary(name: str, value_ulps: np.ndarray, grad_ulps: np.ndarray) -> str:
    def stats(u):
        return f"median {np.median(u):5.2f}  99% {np.quantile(u, 0.99):6.2f}  max {np.max(u):7.2f}"

    return f"{name:<18} loss: {stats(value_ulps)}   grad: {stats(grad_ulps)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows drawn (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="NumPy seed (default 0)")
    args = parser.parse_args()
    if args.rows < 1:
        raise ValueError(f"--rows must be at least 1; got {args.rows}")
    rng = np.random.default_rng(args.seed)
    z = 3.0 * rng.standard_normal((args.rows, 10))
    labels = rng.integers(0, 10, args.rows)
    exact_value, exact_grad = SYMBOLIC_LOSSES["softmax_cross_entropy"].reference(z, labels, reduction="none")
    print(f"softmax cross-entropy, {args.rows} rows of 3·N(0,1) logits, 10 classes, seed {args.seed}; "
          "errors in ULPs of the correctly rounded float64 value")
    for backend in ("numpy", "cpu", "parallel"):
        value, grad = losses.softmax_cross_entropy(z, labels, reduction="none", backend=backend)
        print(summary(backend, ulps(value, exact_value), ulps(grad, exact_grad)))
    try:
        import torch
    except ImportError:
        return
    zt = torch.from_numpy(z).requires_grad_(True)
    value_t = torch.nn.functional.cross_entropy(zt, torch.from_numpy(labels), reduction="none")
    value_t.backward(torch.ones_like(value_t))
    print(summary("torch", ulps(value_t.detach().numpy(), exact_value), ulps(zt.grad.numpy(), exact_grad)))


if __name__ == "__main__":
    main()
