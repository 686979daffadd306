"""Layers with hand-written derivatives, right and wrong, and the peer table.

The layers people write backward rules for — dense ``x W + b``, a 1-D convolution (valid
cross-correlation), a residual block ``x + tanh(x W)``, layer norm ``γ ⊙ (x − μ)/σ + β``, softmax and an
attention block ``softmax(Q Kᵀ/√d) V`` — each as a PyTorch ``autograd.Function`` and a JAX ``custom_vjp``
rule, written correctly and with the bugs such rules really have:

- ``dropped grad_output``: the local derivative, never multiplied by the incoming gradient (it passes
  whenever the output is summed, because the incoming gradient is then all ones);
- ``transposed weight gradient``: ``(xᵀ g)ᵀ`` for a square weight (a non-square one is a shape error);
- ``missing term``: the identity path of a residual block, the ``x̂·mean(g·x̂)`` term of layer norm, the
  ``−p⟨p, g⟩`` term of softmax;
- ``flipped sign``; a ``flipped kernel`` (convolution where cross-correlation belongs); a ``missing 1/√d``;
- ``float32 rounding``: a backward that rounds to float32 for float64 inputs (an error of 1e-8 relative);

plus the frameworks' own built-ins as further correct implementations, and two second-order cases (a
``Function`` whose backward is itself differentiable, and one whose backward detaches its input, so its
second derivative is wrong), judged by ``check_hessian`` through torch's double backward.

:func:`compare_layers` runs every case through ``verify`` (``verify.torch.check_function``,
``verify.jax.check_function``, ``verify.check_hessian``), ``torch.autograd.gradcheck`` and
``gradgradcheck`` (defaults: eps 1e-6, atol 1e-5, rtol 1e-3) and ``jax.test_util.check_grads``
(reverse mode, order 1 — order 2 for the second-order cases —, its default tolerances), whichever are
installed, and returns one row per (case, tool): caught, missed, ok, false alarm, or n/a. Every input is
float64 and fixed (seeded), so the table is reproducible.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from verify.checks.zoo import case_named, median_seconds, verdict

__all__ = ["LayerCase", "LAYER_CASES", "get_layer_case", "compare_layers", "tally_layers", "format_layer_table",
           "TOOLS"]

TOOLS = ("verify", "torch.autograd.gradcheck", "torch.autograd.gradgradcheck", "jax.test_util.check_grads")


@dataclass(frozen=True)
class LayerCase:
    """One implementation of a layer's derivative. ``bug`` is "" when it is right.

    ``build(fw)`` returns ``(fn, inputs)``: the callable (a ``Function.apply``, a built-in, a ``custom_vjp``
    function) and its float64 inputs as NumPy arrays, for the framework module ``fw`` (torch or jax).
    ``order`` 2: ``fn`` is scalar and its *second* derivative is what is under test.
    """

    name: str
    layer: str
    framework: str
    bug: str
    build: Callable[[Any], tuple[Callable, tuple]]
    order: int = 1

    @property
    def wrong(self) -> bool:
        return bool(self.bug)


def _inputs(*shapes: tuple, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return tuple(rng.uniform(-1.5, 1.5, shape) for shape in shapes)


# ---------------------------------------------------------------------------------------------
# the layers' backward rules, written once for both frameworks (``xp`` is torch or jax.numpy)


def _is_jax(a) -> bool:
    """Whether ``a`` is a JAX value (an array or a tracer), not a torch tensor."""
    import sys

    torch = sys.modules.get("torch")
    return torch is None or not isinstance(a, torch.Tensor)


def _T(a):
    return a.T if _is_jax(a) else a.transpose(-1, -2)


def _mean(a):
    """Mean over the last axis, kept (torch spells it keepdim, JAX keepdims)."""
    return a.mean(-1, keepdims=True) if _is_jax(a) else a.mean(-1, keepdim=True)


def _rowsum(a):
    return a.sum(-1, keepdims=True) if _is_jax(a) else a.sum(-1, keepdim=True)


def _dense_backward(xp, bug: str):
    def backward(x, W, b, g):
        gx = g @ _T(W)
        gW = _T(x) @ g
        gb = g.sum(0)
        if bug == "dropped grad_output":
            gW = _T(x) @ (g * 0 + 1)
        elif bug == "transposed weight gradient":
            gW = _T(_T(x) @ g)
        elif bug == "flipped sign":
            gx = -gx
        elif bug == "float32 rounding":
            gW = _to32(gW)
        return gx, gW, gb
    return backward


def _to32(a):
    if hasattr(a, "float"):  # torch
        return a.float().double()
    return a.astype("float32").astype("float64")


def _conv1d_forward(xp, x, w):
    k = w.shape[0]
    n = x.shape[-1] - k + 1
    return sum(w[j] * x[..., j:j + n] for j in range(k))


def _conv1d_backward(xp, bug: str):
    def backward(x, w, g):
        k, n = w.shape[0], g.shape[-1]
        kernel = _flip(w) if bug == "flipped kernel" else w
        gx = _scatter(xp, x, [(j, kernel[j] * g) for j in range(k)], n)
        gw = xp.stack([(g * x[..., j:j + n]).sum() for j in range(k)])
        return gx, gw
    return backward


def _flip(w):
    return w[::-1] if _is_jax(w) else w.flip(0)


def _scatter(xp, x, pieces, n):
    """``Σ_j`` piece_j placed at columns ``j … j + n − 1`` of an array shaped like ``x``."""
    total = None
    width = x.shape[-1]
    for j, piece in pieces:
        left = xp.zeros(x.shape[:-1] + (j,), dtype=x.dtype)
        right = xp.zeros(x.shape[:-1] + (width - j - n,), dtype=x.dtype)
        placed = xp.concatenate([left, piece, right], -1) if hasattr(xp, "concatenate") else xp.cat([left, piece, right], -1)
        total = placed if total is None else total + placed
    return total


def _residual_backward(xp, bug: str):
    def backward(x, W, g):
        t = xp.tanh(x @ W)
        inner = g * (1 - t * t)
        gx = inner @ _T(W) + (0 if bug == "missing term" else g)
        return gx, _T(x) @ inner
    return backward


_LN_EPS = 1e-5


def _layer_norm_forward(xp, x, gamma, beta):
    d = x - _mean(x)
    return d / xp.sqrt(_mean(d * d) + _LN_EPS) * gamma + beta


def _layer_norm_backward(xp, bug: str):
    def backward(x, gamma, beta, g):
        d = x - _mean(x)
        s = xp.sqrt(_mean(d * d) + _LN_EPS)
        xhat = d / s
        gy = g * gamma
        gx = (gy - _mean(gy) - (0 if bug == "missing term" else xhat * _mean(gy * xhat))) / s
        return gx, (g * xhat).sum(0), g.sum(0)
    return backward


def _softmax_forward(xp, z):
    m = z.max(-1, keepdims=True) if _is_jax(z) else z.max(-1, keepdim=True).values
    e = xp.exp(z - m)
    return e / _rowsum(e)


def _softmax_backward(xp, bug: str):
    def backward(z, g):
        p = _softmax_forward(xp, z)
        return (p * g,) if bug == "missing term" else (p * (g - _rowsum(g * p)),)
    return backward


def _attention_forward(xp, Q, K, V):
    return _softmax_forward(xp, Q @ _T(K) / math.sqrt(Q.shape[-1])) @ V


def _attention_backward(xp, bug: str):
    def backward(Q, K, V, G):
        scale = 1.0 / math.sqrt(Q.shape[-1])
        A = _softmax_forward(xp, Q @ _T(K) * scale)
        gA = G @ _T(V)
        gS = A * (gA - _rowsum(gA * A))
        s = 1.0 if bug == "missing 1/√d" else scale
        return gS @ K * s, _T(gS) @ Q * s, _T(A) @ G
    return backward


# (layer, forward(xp, *inputs), backward factory, input shapes, seed)
_LAYERS: dict[str, tuple] = {
    "dense": (lambda xp, x, W, b: x @ W + b, _dense_backward, ((3, 3), (3, 3), (3,)), 1),
    "conv1d": (_conv1d_forward, _conv1d_backward, ((2, 6), (3,)), 2),
    "residual": (lambda xp, x, W: x + xp.tanh(x @ W), _residual_backward, ((3, 3), (3, 3)), 3),
    "layer norm": (_layer_norm_forward, _layer_norm_backward, ((3, 4), (4,), (4,)), 4),
    "softmax": (_softmax_forward, _softmax_backward, ((3, 4),), 5),
    "attention": (_attention_forward, _attention_backward, ((3, 2), (3, 2), (3, 2)), 6),
}

_BUGS: dict[str, tuple[str, ...]] = {
    "dense": ("dropped grad_output", "transposed weight gradient", "flipped sign", "float32 rounding"),
    "conv1d": ("flipped kernel",),
    "residual": ("missing term",),
    "layer norm": ("missing term",),
    "softmax": ("missing term",),
    "attention": ("missing 1/√d",),
}


def _xp(fw: Any) -> Any:
    return fw if getattr(fw, "__name__", "") == "torch" else fw.numpy


def _torch_rule(layer: str, bug: str) -> Callable[[Any], tuple[Callable, tuple]]:
    forward, backward_factory, shapes, seed = _LAYERS[layer]

    def build(torch: Any) -> tuple[Callable, tuple]:
        backward = backward_factory(torch, bug)

        class Rule(torch.autograd.Function):
            @staticmethod
            def forward(ctx, *inputs):
                ctx.save_for_backward(*inputs)
                return forward(torch, *inputs)

            @staticmethod
            def backward(ctx, g):
                return backward(*ctx.saved_tensors, g)

        Rule.__name__ = Rule.__qualname__ = f"{layer.title().replace(' ', '')}Function"
        return Rule.apply, _inputs(*shapes, seed=seed)

    return build


def _builtin(layer: str) -> Callable[[Any], tuple[Callable, tuple]]:
    forward, _, shapes, seed = _LAYERS[layer]

    def build(fw: Any) -> tuple[Callable, tuple]:
        xp = _xp(fw)
        if getattr(fw, "__name__", "") == "torch":
            F = fw.nn.functional
            fns = {
                "dense": lambda x, W, b: F.linear(x, W.T, b),
                "conv1d": lambda x, w: F.conv1d(x[:, None, :], w[None, None, :])[:, 0, :],
                "layer norm": lambda x, g, b: F.layer_norm(x, (x.shape[-1],), g, b, eps=_LN_EPS),
                "softmax": lambda z: F.softmax(z, dim=-1),
                "attention": lambda Q, K, V: F.scaled_dot_product_attention(Q, K, V),
                "residual": lambda x, W: x + fw.tanh(x @ W),
            }
        else:
            jax = fw
            fns = {
                "dense": lambda x, W, b: x @ W + b,
                "conv1d": lambda x, w: jax.numpy.stack([jax.numpy.correlate(r, w, mode="valid") for r in x]),
                "layer norm": lambda x, g, b: forward(xp, x, g, b),
                "softmax": lambda z: jax.nn.softmax(z, axis=-1),
                "attention": lambda Q, K, V: jax.nn.softmax(Q @ K.T / math.sqrt(Q.shape[-1]), axis=-1) @ V,
                "residual": lambda x, W: x + jax.numpy.tanh(x @ W),
            }
        return fns[layer], _inputs(*shapes, seed=seed)

    return build


def _jax_rule(layer: str, bug: str) -> Callable[[Any], tuple[Callable, tuple]]:
    forward, backward_factory, shapes, seed = _LAYERS[layer]

    def build(jax: Any) -> tuple[Callable, tuple]:
        xp = jax.numpy
        backward = backward_factory(xp, bug)

        @jax.custom_vjp
        def rule(*inputs):
            return forward(xp, *inputs)

        rule.defvjp(lambda *inputs: (forward(xp, *inputs), inputs), lambda res, g: tuple(backward(*res, g)))
        return rule, _inputs(*shapes, seed=seed)

    return build


def _softplus_second_order(bug: str) -> Callable[[Any], tuple[Callable, tuple]]:
    """``f(x) = Σ w ⊙ softplus(x)`` through a Function whose backward is ``g·σ(x)``: differentiable as written,
    or computed on ``x.detach()`` — right first derivative, second derivative 0."""

    def build(torch: Any) -> tuple[Callable, tuple]:
        class Softplus(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return torch.nn.functional.softplus(x)

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * torch.sigmoid(x.detach() if bug else x)

        w = np.array([0.7, -1.3, 0.4, 2.0])
        return (lambda x: (torch.as_tensor(w, dtype=x.dtype) * Softplus.apply(x)).sum()), (
            np.array([-1.2, 0.3, 2.5, -0.4]),)

    return build


def _jax_softplus_second_order(bug: str) -> Callable[[Any], tuple[Callable, tuple]]:
    """The JAX twin: a ``custom_vjp`` softplus whose backward ``g·σ(x)`` is differentiable as written, or computed
    on ``stop_gradient(x)``."""

    def build(jax: Any) -> tuple[Callable, tuple]:
        jnp = jax.numpy

        @jax.custom_vjp
        def softplus(x):
            return jnp.logaddexp(x, 0.0)

        def backward(x, g):
            return (g * jax.nn.sigmoid(jax.lax.stop_gradient(x) if bug else x),)

        softplus.defvjp(lambda x: (softplus(x), x), backward)
        w = np.array([0.7, -1.3, 0.4, 2.0])
        return (lambda x: jnp.sum(w * softplus(x))), (np.array([-1.2, 0.3, 2.5, -0.4]),)

    return build


def _cases() -> tuple[LayerCase, ...]:
    cases = []
    for layer in _LAYERS:
        cases.append(LayerCase(f"torch_{layer.replace(' ', '_')}_function", layer, "torch", "", _torch_rule(layer, "")))
        cases.append(LayerCase(f"torch_{layer.replace(' ', '_')}_builtin", layer, "torch", "", _builtin(layer)))
        cases.append(LayerCase(f"jax_{layer.replace(' ', '_')}_custom_vjp", layer, "jax", "", _jax_rule(layer, "")))
        cases.append(LayerCase(f"jax_{layer.replace(' ', '_')}_builtin", layer, "jax", "", _builtin(layer)))
        for bug in _BUGS[layer]:
            slug = f"{layer}_{bug}".replace(" ", "_").replace("/", "").replace("√", "sqrt")
            cases.append(LayerCase(f"torch_{slug}", layer, "torch", bug, _torch_rule(layer, bug)))
            cases.append(LayerCase(f"jax_{slug}", layer, "jax", bug, _jax_rule(layer, bug)))
    cases.append(LayerCase("torch_softplus_double_backward", "softplus (2nd order)", "torch", "",
                           _softplus_second_order(""), order=2))
    cases.append(LayerCase("torch_softplus_detached_backward", "softplus (2nd order)", "torch",
                           "backward not differentiable (detached)", _softplus_second_order("detached"), order=2))
    cases.append(LayerCase("jax_softplus_differentiable_rule", "softplus (2nd order)", "jax", "",
                           _jax_softplus_second_order(""), order=2))
    cases.append(LayerCase("jax_softplus_stop_gradient_rule", "softplus (2nd order)", "jax",
                           "backward not differentiable (detached)", _jax_softplus_second_order("stop_gradient"),
                           order=2))
    return tuple(cases)


LAYER_CASES: tuple[LayerCase, ...] = _cases()


def get_layer_case(name: str) -> LayerCase:
    return case_named(LAYER_CASES, name, "layer")


# ---------------------------------------------------------------------------------------------
# the tools


def _framework(name: str) -> Any:
    import importlib

    return importlib.import_module(name)


def _verify(case: LayerCase) -> bool:
    from verify.checks import CheckFailure

    fw = _framework(case.framework)
    fn, inputs = case.build(fw)
    try:
        if case.order == 2 and case.framework == "torch":
            _verify_hessian(fw, fn, inputs)
        elif case.order == 2:
            _verify_hessian_jax(fw, fn, inputs)
        elif case.framework == "torch":
            import verify.torch

            verify.torch.check_function(fn, tuple(fw.tensor(a) for a in inputs))
        else:
            import verify.jax

            with fw.enable_x64(True):
                verify.jax.check_function(fn, tuple(fw.numpy.asarray(a) for a in inputs))
    except CheckFailure:
        return False
    return True


def _verify_hessian(torch: Any, fn: Callable, inputs: tuple) -> None:
    """``check_hessian`` of ``fn`` with torch's double backward as the HVP under test."""
    from verify.checks import check_hessian

    def f(x):
        with torch.no_grad():
            return float(fn(torch.as_tensor(x)))

    def hvp(v, x):
        t = torch.tensor(x, requires_grad=True)
        (g,) = torch.autograd.grad(fn(t), t, create_graph=True)
        if not g.requires_grad:  # the backward left the graph: autograd sees a zero second derivative
            return np.zeros_like(x)
        (h,) = torch.autograd.grad(g, t, grad_outputs=torch.as_tensor(v), allow_unused=True)
        return np.zeros_like(x) if h is None else h.detach().numpy()

    check_hessian(f, hvp, inputs)


def _verify_hessian_jax(jax: Any, fn: Callable, inputs: tuple) -> None:
    """``check_hessian`` of ``fn`` with JAX's reverse-over-reverse HVP under test (a ``custom_vjp`` has no forward
    mode), at float64 under the scoped ``jax.enable_x64``."""
    from verify.checks import check_hessian

    jnp = jax.numpy
    with jax.enable_x64(True):
        grad = jax.grad(fn)
        hvp_fn = jax.jit(lambda x, v: jax.grad(lambda y: jnp.vdot(grad(y), v))(x))
        value = jax.jit(fn)
        check_hessian(lambda x: float(value(jnp.asarray(x))), lambda v, x: np.asarray(hvp_fn(jnp.asarray(x),
                                                                                            jnp.asarray(v))), inputs)


def _torch_check(which: str) -> Callable[[LayerCase], bool | None]:
    def run(case: LayerCase) -> bool | None:
        if case.framework != "torch":
            return None
        torch = _framework("torch")
        fn, inputs = case.build(torch)
        tensors = tuple(torch.tensor(a, requires_grad=True) for a in inputs)
        check = torch.autograd.gradcheck if which == "gradcheck" else torch.autograd.gradgradcheck
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return bool(check(fn, tensors, raise_exception=False))
            except RuntimeError:  # e.g. a backward that is not differentiable at all: the check did fail
                return False
    return run


def _jax_check(case: LayerCase) -> bool | None:
    if case.framework != "jax":
        return None
    jax = _framework("jax")
    from jax.test_util import check_grads

    fn, inputs = case.build(jax)
    with jax.enable_x64(True):
        try:
            check_grads(fn, tuple(jax.numpy.asarray(a) for a in inputs), order=case.order, modes=("rev",))
        except AssertionError:
            return False
    return True


_RUNNERS: dict[str, tuple[str, Callable[[LayerCase], bool | None]]] = {
    "verify": ("numpy", _verify),
    "torch.autograd.gradcheck": ("torch", _torch_check("gradcheck")),
    "torch.autograd.gradgradcheck": ("torch", _torch_check("gradgradcheck")),
    "jax.test_util.check_grads": ("jax", _jax_check),
}


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def compare_layers(cases: tuple[LayerCase, ...] = LAYER_CASES, *, tools: tuple[str, ...] | None = None,
                   repeats: int = 1) -> list[dict[str, Any]]:
    """Every case through every available tool: one row per (case, tool).

    A row: ``case``, ``layer``, ``framework``, ``bug`` ("" when right), ``tool``, ``passed`` (the tool's verdict,
    None when it does not apply), ``outcome`` (``caught`` / ``missed`` for a planted bug, ``ok`` / ``false
    alarm`` for a right one, ``n/a`` when the tool is for the other framework, ``error: …`` when the tool
    raised something else than its verdict) and ``seconds`` (median of ``repeats`` timed runs after one run
    that absorbs tracing and compilation; the case's framework calls included).
    """
    rows = []
    for tool in tools or TOOLS:
        module, run = _RUNNERS[tool]
        for case in cases:
            if not _available(case.framework) or not _available(module):
                continue
            try:
                passed = run(case)
                seconds = median_seconds(run, case, repeats if passed is not None else 0)
                outcome = verdict(case.wrong, passed)
            except Exception as exc:  # noqa: BLE001 - a tool that crashes is a finding, not a stop
                passed, seconds, outcome = None, float("nan"), f"error: {type(exc).__name__}: {exc}"[:160]
            rows.append({"case": case.name, "layer": case.layer, "framework": case.framework, "bug": case.bug,
                         "tool": tool, "passed": passed, "outcome": outcome, "seconds": seconds})
    return rows


def tally_layers(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per tool (in the rows' order), over the cases it applies to: ``caught`` of ``wrong`` planted bugs,
    ``false_alarms`` of ``right`` implementations, ``errors``, the finite ``seconds`` per check and the planted
    bugs ``missed`` (sorted) — what the summary line, ``verify bench`` and the report's claim show."""
    out: dict[str, dict[str, Any]] = {}
    for tool in dict.fromkeys(row["tool"] for row in rows):
        mine = [row for row in rows if row["tool"] == tool and row["outcome"] != "n/a"]
        wrong = [row for row in mine if row["bug"]]
        right = [row for row in mine if not row["bug"]]
        out[tool] = {"caught": sum(row["outcome"] == "caught" for row in wrong), "wrong": len(wrong),
                     "false_alarms": sum(row["outcome"] == "false alarm" for row in right), "right": len(right),
                     "errors": sum(row["outcome"].startswith("error") for row in mine),
                     "seconds": tuple(row["seconds"] for row in mine if not math.isnan(row["seconds"])),
                     "missed": sorted({row["bug"] for row in wrong if row["outcome"] != "caught"})}
    return out


def format_layer_table(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`compare_layers` as a Markdown table (one line per case) and a summary per tool."""
    tools = list(dict.fromkeys(row["tool"] for row in rows))
    cases = list(dict.fromkeys(row["case"] for row in rows))
    cell = {(row["case"], row["tool"]): row for row in rows}
    lines = ["| case | bug | " + " | ".join(f"{t} (s)" for t in tools) + " |", "|" + "---|" * (2 + len(tools))]
    for name in cases:
        bug = next(row["bug"] for row in rows if row["case"] == name)
        cells = []
        for t in tools:
            row = cell.get((name, t))
            if row is None or row["outcome"] == "n/a":
                cells.append("n/a")
            else:
                cells.append(f"{row['outcome']} ({row['seconds']:.3f})" if not math.isnan(row["seconds"])
                             else row["outcome"])
        lines.append(f"| {name} | {bug or '—'} | " + " | ".join(cells) + " |")
    lines.append("")
    tallies = tally_layers(rows)
    for t in tools:
        tally = tallies[t]
        seconds, missed = tally["seconds"], tally["missed"]
        lines.append(f"{t}: caught {tally['caught']}/{tally['wrong']} planted bugs, {tally['false_alarms']}/"
                     f"{tally['right']} false alarms"
                     + (f", {tally['errors']} errors" if tally["errors"] else "")
                     + (f", median {np.median(seconds):.3f} s per check" if seconds else "")
                     + (f"; misses: {', '.join(missed)}" if missed else ""))
    return "\n".join(lines)
