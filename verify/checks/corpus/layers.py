"""Layer families: dense (tanh, ReLU, sigmoid; w.r.t. the weights and the input), residual, conv1d
(w.r.t. the kernel and the input), layer norm (alone and under tanh), max pooling.

Each layer's scalar is ``Σ V ⊙ layer(…)``, so its gradient is a VJP with a cotangent ``V`` that is
never all ones. The first argument is the one differentiated.
"""

from __future__ import annotations

import numpy as np

from verify.checks.corpus import stable as S
from verify.checks.corpus.model import Family, Point
from verify.checks.corpus.points import SPECIAL, nonzero, normal

__all__ = ["FAMILIES"]


def _tiny(dt):
    return 1e-300 if dt == np.float64 else 1e-38


def _huge(dt):
    return 1e8


# --------------------------------------------------------------------------------------------- dense


def _dense_tanh_math(M, W, X, b, V):
    return M.sum(V * M.tanh(X @ W + b))


def _dense_tanh_grad(W, X, b, V):
    with S.errstate():
        pre = X.astype(W.dtype) @ W + b.astype(W.dtype)
        return (X.T.astype(W.dtype) @ (V.astype(W.dtype) * S.sech2(pre))).astype(W.dtype)


def _dense_tanh_textbook(W, X, b, V):
    with S.errstate():
        y = np.tanh(X.astype(W.dtype) @ W + b.astype(W.dtype))
        return (X.T.astype(W.dtype) @ (V.astype(W.dtype) * (1 - y * y))).astype(W.dtype)


def _dense_points(rng, dtype, shape_x=(3, 4), n_out=4, *, integer=False):
    dt = np.dtype(dtype)
    n_in = shape_x[1]
    out = []

    def rest():
        X = normal(rng, shape_x, dt)
        if integer:
            X = np.round(2 * X).astype(dt)
        return X, normal(rng, n_out, dt, 0.5), nonzero(rng, (shape_x[0], n_out), dt)

    def weights(scale=0.7):
        W = normal(rng, (n_in, n_out), dt, scale)
        return (np.round(4 * W) / 4).astype(dt) if integer else W

    for _ in range(3):
        out.append(Point((weights(),) + rest(), ("typical",)))
    X, b, V = rest()
    out.append(Point((np.zeros((n_in, n_out), dt), X, b, V), ("zero",)))
    W = weights()
    W[:, 0] = 0
    W[1] = 0
    out.append(Point((W,) + rest(), ("zero",)))
    for _ in range(2):
        out.append(Point((weights(15.0 if not integer else 4.0),) + rest(), ("saturation",)))
    X, b, V = rest()
    X[0, :2] = dt.type(_huge(dt))
    X[2, 1] = dt.type(-_huge(dt))
    out.append(Point((weights(), X, b, V), ("huge",)))
    out.append(Point(((weights() * dt.type(_tiny(dt))).astype(dt),) + rest(), ("tiny",)))
    return out


def _dense_relu_points(rng, dtype):
    dt = np.dtype(dtype)
    out = _dense_points(rng, dtype, integer=True)
    offsets = SPECIAL[dt]["near offsets"]
    for near in (False, True, False, True):
        W = (np.round(4 * normal(rng, (4, 4), dt, 0.7)) / 4).astype(dt)
        X = np.round(2 * normal(rng, (3, 4), dt)).astype(dt)
        X[0, 0] = 1
        V = nonzero(rng, (3, 4), dt)
        b = (-(X @ W)[0]).astype(dt)  # row 0's pre-activations exactly 0
        if near:
            b = (b + np.array([float(rng.choice(offsets)) for _ in range(4)]) * np.maximum(1, np.abs(b))).astype(dt)
        out.append(Point((W, X, b, V), ("near kink",) if near else ("at kink",)))
    return out


def _dense_relu_math(M, W, X, b, V):
    return M.sum(V * M.relu(X @ W + b))


def _dense_relu_grad(W, X, b, V, *, shift=0.0):
    pre = X.astype(W.dtype) @ W + b.astype(W.dtype)
    return (X.T.astype(W.dtype) @ (V.astype(W.dtype) * (pre > -shift))).astype(W.dtype)


def _issue_points(rng, dtype):
    """The issue's dense tanh layer: X = ones(2, 3), V = [[0.5, −1], [2, 0.3]], W = 2·ones(3, 2), and near it."""
    dt = np.dtype(dtype)
    X = np.ones((2, 3), dt)
    V = np.array([[0.5, -1.0], [2.0, 0.3]], dt)
    b = np.zeros(2, dt)
    out = []
    for scale, tags in ((2.0, ("saturation",)), (1.0, ("typical",)), (3.0, ("saturation",)), (6.0, ("saturation",)),
                        (-2.0, ("saturation",))):
        out.append(Point(((scale * np.ones((3, 2))).astype(dt), X, b, V), tags))
    out.append(Point(((2 * np.ones((3, 2)) + normal(rng, (3, 2), dt, 0.1)).astype(dt), X, b, V), ("saturation",)))
    return out


def _dense_sigmoid_input_math(M, X, W, b, V):
    return M.sum(V * M.sigmoid(X @ W + b))


def _dense_sigmoid_input_grad(X, W, b, V, *, transpose=True):
    with S.errstate():
        pre = X @ W.astype(X.dtype) + b.astype(X.dtype)
        delta = V.astype(X.dtype) * S.dsigmoid(pre)
        return (delta @ (W.T if transpose else W).astype(X.dtype)).astype(X.dtype)


def _input_points(rng, dtype):
    dt = np.dtype(dtype)
    out = []

    def rest(scale=0.7):
        return normal(rng, (4, 4), dt, scale), normal(rng, 4, dt, 0.5), nonzero(rng, (4, 4), dt)

    for _ in range(3):
        out.append(Point((normal(rng, (4, 4), dt),) + rest(), ("typical",)))
    out.append(Point((np.zeros((4, 4), dt),) + rest(), ("zero",)))
    for _ in range(2):
        out.append(Point((normal(rng, (4, 4), dt),) + rest(15.0), ("saturation",)))
    X = normal(rng, (4, 4), dt)
    X[0, 0], X[2, 3] = 1e8, -1e8
    out.append(Point((X,) + rest(), ("huge",)))
    out.append(Point(((normal(rng, (4, 4), dt) * dt.type(_tiny(dt))).astype(dt),) + rest(), ("tiny",)))
    return out


# --------------------------------------------------------------------------------------------- residual


def _residual_math(M, x, W, b, v):
    return M.sum(v * (x + M.tanh(W @ x + b)))


def _residual_grad(x, W, b, v, *, identity=True, transpose=True):
    with S.errstate():
        W = W.astype(x.dtype)
        delta = v.astype(x.dtype) * S.sech2(W @ x + b.astype(x.dtype))
        back = (W.T if transpose else W) @ delta
        return ((v.astype(x.dtype) + back) if identity else back).astype(x.dtype)


def _residual_points(rng, dtype):
    dt = np.dtype(dtype)
    n = 5
    out = []

    def rest(scale=0.6):
        return normal(rng, (n, n), dt, scale), normal(rng, n, dt, 0.5), nonzero(rng, n, dt)

    for _ in range(3):
        out.append(Point((normal(rng, n, dt),) + rest(), ("typical",)))
    out.append(Point((np.zeros(n, dt),) + rest(), ("zero",)))
    for _ in range(2):
        out.append(Point((normal(rng, n, dt),) + rest(12.0), ("saturation",)))
    x = normal(rng, n, dt)
    x[1], x[3] = 1e8, -3e7
    out.append(Point((x,) + rest(), ("huge",)))
    out.append(Point(((normal(rng, n, dt) * dt.type(_tiny(dt))).astype(dt),) + rest(), ("tiny",)))
    return out


# --------------------------------------------------------------------------------------------- conv1d

L, K = 10, 3
T = L - K + 1


def _conv(w, x):
    return sum(w[k] * x[k:k + T] for k in range(K))


def _conv_kernel_math(M, w, x, v):
    return M.sum(v * M.tanh(_conv(w, x)))


def _conv_kernel_grad(w, x, v, *, flip=False):
    with S.errstate():
        x = x.astype(w.dtype)
        delta = v.astype(w.dtype) * S.sech2(_conv(w, x))
        g = np.array([np.sum(delta * x[k:k + T]) for k in range(K)], dtype=w.dtype)
        return g[::-1].copy() if flip else g


def _conv_input_math(M, x, w, v):
    return M.sum(v * M.tanh(_conv(w, x)))


def _conv_input_grad(x, w, v, *, flip=False, edges=True):
    with S.errstate():
        w = w.astype(x.dtype)
        delta = v.astype(x.dtype) * S.sech2(_conv(w, x))
        g = np.convolve(delta, w[::-1] if flip else w, mode="full").astype(x.dtype)
        if not edges:
            g[:K - 1] = 0
            g[-(K - 1):] = 0
        return g


def _conv_points(kernel_first: bool):
    def points(rng, dtype):
        dt = np.dtype(dtype)
        out = []

        def make(w_scale=0.7, x=None, w=None):
            w = normal(rng, K, dt, w_scale) if w is None else w
            x = normal(rng, L, dt) if x is None else x
            v = nonzero(rng, T, dt)
            return (w, x, v) if kernel_first else (x, w, v)

        for _ in range(3):
            out.append(Point(make(), ("typical",)))
        out.append(Point(make(w=np.zeros(K, dt)), ("zero",)))
        out.append(Point(make(x=np.zeros(L, dt)), ("zero",)))
        for _ in range(2):
            out.append(Point(make(12.0), ("saturation",)))
        x = normal(rng, L, dt)
        x[2], x[7] = 1e8, -1e8
        out.append(Point(make(x=x), ("huge",)))
        out.append(Point(make(w=(normal(rng, K, dt) * dt.type(_tiny(dt))).astype(dt)), ("tiny",)))
        out.append(Point(make(x=(normal(rng, L, dt) * dt.type(_tiny(dt))).astype(dt)), ("tiny",)))
        return out
    return points


# --------------------------------------------------------------------------------------------- layer norm

EPS_LN = 1e-5


def _ln_math(M, x, w):
    mu = M.mean(x)
    d = x - mu
    s = M.sqrt(M.mean(d * d) + EPS_LN)
    return M.sum(w * d / s)


def _ln_backward(x, w, *, mean_term=True, ddof=0, eps_inside=True, sum_not_mean=False):
    """(w − mean(w) − x̂·mean(w x̂)) / s with s = sqrt(var + ε): the gradient of Σ w ⊙ LN(x)."""
    n = x.size
    w = w.astype(x.dtype)
    mu = np.sum(x) / n
    d = x - mu
    var = np.sum(d * d) / (n - ddof)
    s = np.sqrt(var + EPS_LN) if eps_inside else np.sqrt(var) + EPS_LN
    xh = d / s
    if not mean_term:
        return ((w - np.sum(w) / n) / s).astype(x.dtype)
    proj = np.sum(w * xh) * (1 if sum_not_mean else 1 / n)
    return ((w - np.sum(w) / n - xh * proj) / s).astype(x.dtype)


def _ln_points(rng, dtype, n=4, extra=0):
    dt = np.dtype(dtype)
    out = []

    def rest():
        return tuple(nonzero(rng, n, dt) for _ in range(1 + extra))

    for _ in range(3):
        out.append(Point((normal(rng, n, dt, 2.0),) + rest(), ("typical",)))
    if extra == 0:
        out.append(Point((np.array([2, 5, 5, 5], dt), np.array([1.5, -0.25, 0.75, -2], dt)), ("tie",)))
    out.append(Point((np.zeros(n, dt),) + rest(), ("zero", "tie")))
    x = normal(rng, n, dt)
    x[1] = x[0]
    out.append(Point((x,) + rest(), ("tie",)))
    offset = 1e8 if dt == np.float64 else 1e4
    out.append(Point(((offset + normal(rng, n, np.float64)).astype(dt),) + rest(), ("huge",)))
    out.append(Point(((normal(rng, n, np.float64) * (1e150 if dt == np.float64 else 1e18)).astype(dt),) + rest(),
                     ("huge",)))
    out.append(Point(((3.0 + 1e-7 * normal(rng, n, np.float64)).astype(dt),) + rest(), ("tiny",)))
    out.append(Point(((normal(rng, n, np.float64) * _tiny(dt)).astype(dt),) + rest(), ("tiny",)))
    return out


def _ln_tanh_math(M, x, gamma, beta, v):
    mu = M.mean(x)
    d = x - mu
    s = M.sqrt(M.mean(d * d) + EPS_LN)
    return M.sum(v * M.tanh(gamma * d / s + beta))


def _ln_tanh_grad(x, gamma, beta, v, *, mean_term=True):
    n = x.size
    mu = np.sum(x) / n
    d = x - mu
    s = np.sqrt(np.sum(d * d) / n + EPS_LN)
    g, b = gamma.astype(x.dtype), beta.astype(x.dtype)
    w = v.astype(x.dtype) * g * S.sech2(g * (d / s) + b)
    return _ln_backward(x, w, mean_term=mean_term)


def _ln_tanh_points(rng, dtype):
    out = _ln_points(rng, dtype, n=6, extra=2)
    dt = np.dtype(dtype)
    for _ in range(2):
        x = normal(rng, 6, dt, 2.0)
        out.append(Point((x, (20 * nonzero(rng, 6, dt)).astype(dt), normal(rng, 6, dt), nonzero(rng, 6, dt)),
                         ("saturation",)))
    return out


# --------------------------------------------------------------------------------------------- max pooling


def _pool_math(M, x, v):
    return M.sum(v * M.maximum(x[0::2], x[1::2]))


def _pool_grad(x, v, *, decimals=None):
    a, b = x[0::2], x[1::2]
    if decimals is not None:
        a, b = np.round(a, decimals), np.round(b, decimals)
    first = a >= b
    g = np.zeros_like(x)
    g[0::2] = np.where(first, v, 0)
    g[1::2] = np.where(first, 0, v)
    return g.astype(x.dtype)


def _pool_points(rng, dtype):
    dt = np.dtype(dtype)
    out = []
    special = SPECIAL[dt]
    for _ in range(3):
        out.append(Point((normal(rng, 8, dt), nonzero(rng, 4, dt)), ("typical",)))
    for near in (False, True, False, True):
        x = normal(rng, 8, dt)
        for i in rng.choice(4, 2, replace=False):
            x[2 * i + 1] = x[2 * i]
            if near:
                x[2 * i + 1] = dt.type(float(x[2 * i]) * (1 + float(rng.choice(special["near offsets"]))))
        out.append(Point((x, nonzero(rng, 4, dt)), ("near kink", "near tie") if near else ("at kink", "tie")))
    x = normal(rng, 8, dt)
    x[[0, 5]] = special["huge"][0], special["huge"][3]
    out.append(Point((x, nonzero(rng, 4, dt)), ("huge",)))
    x = (normal(rng, 8, dt) * dt.type(_tiny(dt))).astype(dt)
    out.append(Point((x, nonzero(rng, 4, dt)), ("tiny",)))
    out.append(Point((np.zeros(8, dt), nonzero(rng, 4, dt)), ("zero", "at kink", "tie")))
    return out


FAMILIES = (
    Family(
        name="dense_tanh", math=_dense_tanh_math, grad=_dense_tanh_grad, points=_dense_points, matrix=True,
        variants={"textbook": _dense_tanh_textbook},
        what="Σ V ⊙ tanh(X W + b) w.r.t. W (4×4); careful Xᵀ(V ⊙ sech²); textbook Xᵀ(V ⊙ (1 − y²))",
    ),
    Family(
        name="dense_tanh_issue", math=_dense_tanh_math, grad=_dense_tanh_grad, points=_issue_points,
        variants={"textbook": _dense_tanh_textbook},
        what="issue 13's dense tanh layer (X = ones(2, 3), V = [[0.5, −1], [2, 0.3]]) w.r.t. W (3×2)",
    ),
    Family(
        name="dense_relu", math=_dense_relu_math, grad=_dense_relu_grad, points=_dense_relu_points, matrix=True,
        kink=True, bugs={"slope next to a kink": (lambda W, X, b, V: _dense_relu_grad(W, X, b, V, shift=1e-5),)},
        what="Σ V ⊙ relu(X W + b) w.r.t. W (4×4), with pre-activations exactly 0 and next to 0",
    ),
    Family(
        name="dense_sigmoid_input", math=_dense_sigmoid_input_math, grad=_dense_sigmoid_input_grad,
        points=_input_points, matrix=True,
        bugs={"transposed": (lambda X, W, b, V: _dense_sigmoid_input_grad(X, W, b, V, transpose=False),)},
        what="Σ V ⊙ σ(X W + b) w.r.t. the input X (4×4): (V ⊙ σ′) Wᵀ",
    ),
    Family(
        name="residual", math=_residual_math, grad=_residual_grad, points=_residual_points,
        bugs={"missing term": (lambda x, W, b, v: _residual_grad(x, W, b, v, identity=False),),
              "transposed": (lambda x, W, b, v: _residual_grad(x, W, b, v, transpose=False),)},
        what="Σ v ⊙ (x + tanh(W x + b)) w.r.t. x: v + Wᵀ(v ⊙ sech²)",
    ),
    Family(
        name="conv1d_kernel", math=_conv_kernel_math, grad=_conv_kernel_grad, points=_conv_points(True),
        bugs={"transposed": (lambda w, x, v: _conv_kernel_grad(w, x, v, flip=True),)},
        what=f"Σ v ⊙ tanh(conv1d(x, w)) w.r.t. the kernel w ({K}), x of length {L} (valid cross-correlation)",
    ),
    Family(
        name="conv1d_input", math=_conv_input_math, grad=_conv_input_grad, points=_conv_points(False),
        bugs={"transposed": (lambda x, w, v: _conv_input_grad(x, w, v, flip=True),),
              "missing term": (lambda x, w, v: _conv_input_grad(x, w, v, edges=False),)},
        what=f"Σ v ⊙ tanh(conv1d(x, w)) w.r.t. the input x ({L}): a full convolution of the cotangent with w",
    ),
    Family(
        name="layer_norm", math=_ln_math, grad=_ln_backward, points=_ln_points,
        bugs={"missing term": (lambda x, w: _ln_backward(x, w, mean_term=False),),
              "wrong constant": (lambda x, w: _ln_backward(x, w, ddof=1),
                                 lambda x, w: _ln_backward(x, w, eps_inside=False)),
              "dropped 1/N": (lambda x, w: _ln_backward(x, w, sum_not_mean=True),)},
        what=f"Σ w ⊙ (x − μ)/sqrt(σ² + {EPS_LN:g}) (layer norm, n = 4): (w − mean w − x̂ mean(w x̂)) / s",
    ),
    Family(
        name="layer_norm_tanh", math=_ln_tanh_math, grad=_ln_tanh_grad, points=_ln_tanh_points,
        bugs={"missing term": (lambda x, g, b, v: _ln_tanh_grad(x, g, b, v, mean_term=False),)},
        what="Σ v ⊙ tanh(γ ⊙ LN(x) + β) w.r.t. x (n = 6)",
    ),
    Family(
        name="max_pool", math=_pool_math, grad=_pool_grad, points=_pool_points, kink=True,
        bugs={"slope next to a kink": (lambda x, v: _pool_grad(x, v, decimals=4),)},
        what="Σ v ⊙ maxpool(x) (window 2, stride 2); at a tie any split of v between the pair",
    ),
)
