"""PyTorch's and JAX's autograd of their built-ins, as correct cases of the corpus.

Each built-in is attached to the family whose function it computes (so its truth is that family's,
at the same seeded points): ``f`` is the framework's function evaluated in float64 (the point promoted),
``grad`` the framework's autograd at the point's own dtype (float32 or float64), returned as NumPy.
Where the framework's backward uses a formula whose terms cancel (torch ``tools/autograd/derivatives.yaml``;
jax ``jax/_src/lax`` JVP rules: ``tanh``: ``g·(1 − y²)`` (torch) and ``g·(1 + y)(1 − y)`` (jax); ``sigmoid``:
``g·y(1 − y)``; softmax: ``y ⊙ (g − Σ g y)``; log-softmax and cross-entropy: ``g − exp(y)·Σg``; BCE with
logits: ``σ(x) − y``), it is judged by the corpus' one rule (:mod:`.truth`): correct where its lost digits
are below ``f``'s resolution; a point where they are not is left out for it (neither correct nor a mutant,
counted in :func:`verify.checks.corpus.excluded`).

A point outside a built-in's domain as the framework defines it is left out: torch's ``softplus``
returns ``x`` for ``x > 20`` (its ``threshold``), a different function from ``log(1 + eˣ)`` there; at ``x = 20``
itself it returns ``log1p(e²⁰) = 20 + 2.06e-9``, so ``f`` jumps by ``2e-9·v`` at the point (a discontinuity
check_gradient reports in float64): the domain is the open ``x < 20``.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from verify.checks.corpus.build import DTYPES, EXCLUDED_REASON, _rng, families, point_screen
from verify.checks.corpus.model import CorpusCase, LeftOut

__all__ = ["build_framework_cases", "OPS"]


# (family, op name, torch expression, jax expression, point filter)
# Expressions take (module namespace, *args) where args are framework tensors/arrays in one dtype.
def _ops():
    def t_mod():
        import torch
        import torch.nn.functional as F

        return torch, F

    def j_mod():
        import jax
        import jax.numpy as jnp

        return jax, jnp

    ops = []

    def add(family, name, torch_expr, jax_expr, keep=None):
        ops.append((family, name, torch_expr, jax_expr, keep))

    add("tanh", "tanh", lambda t, F, x, v: (v * t.tanh(x)).sum(), lambda j, n, x, v: (v * n.tanh(x)).sum())
    add("sigmoid", "sigmoid", lambda t, F, x, v: (v * t.sigmoid(x)).sum(),
        lambda j, n, x, v: (v * j.nn.sigmoid(x)).sum())
    add("softplus", "softplus", lambda t, F, x, v: (v * F.softplus(x)).sum(),
        lambda j, n, x, v: (v * j.nn.softplus(x)).sum(), {"torch": lambda x, v: bool(np.all(x < 20))})
    add("log_sigmoid", "log_sigmoid", lambda t, F, x, v: (v * F.logsigmoid(x)).sum(),
        lambda j, n, x, v: (v * j.nn.log_sigmoid(x)).sum())
    add("gelu", "gelu", lambda t, F, x, v: (v * F.gelu(x)).sum(),
        lambda j, n, x, v: (v * j.nn.gelu(x, approximate=False)).sum())
    add("elu", "elu", lambda t, F, x, v: (v * F.elu(x, alpha=1.5)).sum(),
        lambda j, n, x, v: (v * j.nn.elu(x, alpha=1.5)).sum())
    add("relu", "relu", lambda t, F, x, v: (v * F.relu(x)).sum(), lambda j, n, x, v: (v * j.nn.relu(x)).sum())
    add("leaky_relu", "leaky_relu", lambda t, F, x, v: (v * F.leaky_relu(x, 0.01)).sum(),
        lambda j, n, x, v: (v * j.nn.leaky_relu(x, 0.01)).sum())
    add("abs", "abs", lambda t, F, x, v: (v * t.abs(x)).sum(), lambda j, n, x, v: (v * n.abs(x)).sum())
    add("hardtanh", "hardtanh", lambda t, F, x, v: (v * F.hardtanh(x)).sum(),
        lambda j, n, x, v: (v * j.nn.hard_tanh(x)).sum())
    add("quadratic", "mul", lambda t, F, x, v: (0.5 * v * x * x).sum(), lambda j, n, x, v: (0.5 * v * x * x).sum())
    add("max", "max", lambda t, F, x: t.max(x), lambda j, n, x: n.max(x))
    add("logsumexp", "logsumexp", lambda t, F, x: t.logsumexp(x, dim=-1), lambda j, n, x: j.nn.logsumexp(x))
    add("softmax_vjp", "softmax", lambda t, F, z, v: (v * F.softmax(z, dim=-1)).sum(),
        lambda j, n, z, v: (v * j.nn.softmax(z)).sum())
    add("log_softmax_vjp", "log_softmax", lambda t, F, z, v: (v * F.log_softmax(z, dim=-1)).sum(),
        lambda j, n, z, v: (v * j.nn.log_softmax(z)).sum())
    add("cross_entropy", "cross_entropy", lambda t, F, z, y: F.cross_entropy(z, y),
        lambda j, n, z, y: -n.mean(n.take_along_axis(j.nn.log_softmax(z), y[:, None], axis=-1)))
    add("bce_hard", "binary_cross_entropy_with_logits", lambda t, F, x, y: F.binary_cross_entropy_with_logits(x, y),
        lambda j, n, x, y: -n.mean(y * j.nn.log_sigmoid(x) + (1 - y) * j.nn.log_sigmoid(-x)))
    add("bce_soft", "binary_cross_entropy_with_logits", lambda t, F, x, y: F.binary_cross_entropy_with_logits(x, y),
        lambda j, n, x, y: -n.mean(y * j.nn.log_sigmoid(x) + (1 - y) * j.nn.log_sigmoid(-x)))
    add("hinge", "relu hinge", lambda t, F, s, y: F.relu(1 - y * s).mean(),
        lambda j, n, s, y: j.nn.relu(1 - y * s).mean())
    add("dense_tanh", "linear + tanh", lambda t, F, W, X, b, V: (V * t.tanh(X @ W + b)).sum(),
        lambda j, n, W, X, b, V: (V * n.tanh(X @ W + b)).sum())
    add("dense_relu", "linear + relu", lambda t, F, W, X, b, V: (V * F.relu(X @ W + b)).sum(),
        lambda j, n, W, X, b, V: (V * j.nn.relu(X @ W + b)).sum())
    add("residual", "residual tanh", lambda t, F, x, W, b, v: (v * (x + t.tanh(W @ x + b))).sum(),
        lambda j, n, x, W, b, v: (v * (x + n.tanh(W @ x + b))).sum())
    add("conv1d_kernel", "conv1d", lambda t, F, w, x, v: (v * t.tanh(F.conv1d(x.view(1, 1, -1), w.view(1, 1, -1))
                                                                      .view(-1))).sum(),
        lambda j, n, w, x, v: (v * n.tanh(n.correlate(x, w, mode="valid"))).sum())
    add("layer_norm", "layer_norm", lambda t, F, x, w: (w * F.layer_norm(x, x.shape, eps=1e-5)).sum(),
        lambda j, n, x, w: (w * (x - n.mean(x)) / n.sqrt(n.var(x) + 1e-5)).sum())
    add("max_pool", "max_pool1d", lambda t, F, x, v: (v * F.max_pool1d(x.view(1, 1, -1), 2).view(-1)).sum(),
        lambda j, n, x, v: (v * n.max(x.reshape(-1, 2), axis=1)).sum())
    return ops, t_mod, j_mod


OPS = None


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _is_float(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _has_subnormal(args) -> bool:
    for a in args:
        if _is_float(a):
            tiny = np.finfo(a.dtype).tiny
            if np.any((a != 0) & (np.abs(a) < tiny)):
                return True
    return False


def _own(fn, label):
    """A function object of the case's own (a checker may learn things per function object)."""
    def call(*a):
        return fn(*a)
    call.__qualname__ = f"{label}.{getattr(fn, '__name__', 'fn')}"
    return call


def _torch_pair(expr, t, F):
    import torch

    def tensor(a, dtype):
        if _is_float(a):
            return torch.from_numpy(np.ascontiguousarray(a.astype(dtype)))
        return torch.from_numpy(np.ascontiguousarray(a))

    def f(*a):
        with torch.no_grad():
            return float(expr(t, F, *[tensor(np.asarray(v), np.float64) if np.asarray(v).dtype.kind == "f"
                                      else tensor(np.asarray(v), None) for v in a]))

    def grad(*a):
        dtype = a[0].dtype
        with torch.enable_grad():  # also when called from inside another backward (a peer's wrapper)
            x = tensor(a[0], dtype).clone().requires_grad_(True)
            rest = [tensor(v, dtype) for v in a[1:]]
            expr(t, F, x, *rest).backward()
        return x.grad.numpy().copy()

    f.__name__, grad.__name__ = "f", "grad"
    return f, grad


def _jax_pair(expr, j, n):
    """f and grad of one op, jit-compiled once (per input shape and dtype) and shared by its cases."""
    value = j.jit(lambda *a: expr(j, n, *a))
    gradient = j.jit(j.grad(lambda *a: expr(j, n, *a)))

    def f(*a):
        vals = [np.asarray(v, dtype=np.float64) if np.asarray(v).dtype.kind == "f" else np.asarray(v) for v in a]  # complex stays complex
        return float(value(*vals))

    def grad(*a):
        dtype = a[0].dtype
        vals = [np.asarray(v).astype(dtype) if _is_float(np.asarray(v)) else np.asarray(v) for v in a]
        return np.asarray(gradient(*vals)).astype(dtype)

    f.__name__, grad.__name__ = "f", "grad"
    return f, grad


def build_framework_cases(seed: int, frameworks: tuple[str, ...]
                          ) -> tuple[list[CorpusCase], dict[str, str], list[LeftOut]]:
    """The framework cases, the frameworks skipped (name → why) and the cases left out at a point because they
    do not meet the corpus' rounding bound there."""
    ops, t_mod, j_mod = _ops()
    by_name = {fam.name: fam for fam in families(seed)}
    skipped: dict[str, str] = {}
    mods: dict[str, tuple] = {}
    for fw in frameworks:
        if not _available(fw):
            skipped[fw] = f"{fw} is not installed (pip install 'verify[peers]')"
            continue
        if fw == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)
        mods[fw] = t_mod() if fw == "torch" else j_mod()
    out: list[CorpusCase] = []
    excluded: list[LeftOut] = []
    for family_name, op, torch_expr, jax_expr, keep in ops:
        family = by_name[family_name]
        for fw, (m1, m2) in mods.items():
            expr = torch_expr if fw == "torch" else jax_expr
            f_shared, grad_shared = (_torch_pair if fw == "torch" else _jax_pair)(expr, m1, m2)
            for dtype in DTYPES:
                rng = _rng(seed, family.name, str(dtype))
                for index, point in enumerate(family.points(rng, dtype)):
                    args = point.args
                    if keep and fw in keep and not keep[fw](*args):
                        continue
                    if fw == "jax" and _has_subnormal(args):
                        continue  # XLA on CPU flushes subnormals to 0: its gradient there is that of 0
                    f, grad = _own(f_shared, fw), _own(grad_shared, fw)
                    name = f"{family.name}/{dtype}/{index:02d}/{fw}.{op}"
                    if not point_screen(family, dtype, index, args).correct(grad(*args)):
                        excluded.append(LeftOut(name, family, grad, args, EXCLUDED_REASON))
                        continue
                    out.append(CorpusCase(name=name, family=family, kind="correct", implementation=fw, f=f, grad=grad,
                                          point=args, tags=point.tags))
    return out, skipped, excluded


