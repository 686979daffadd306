"""torch.optim, driven in float64 with p.grad set from the sequence, passes check_optimizer with the
matching options: the checker accepts real implementations it did not write."""

from __future__ import annotations

import numpy as np
import pytest

from verify.checks.failure import CheckFailure
from verify.checks.optimizer import check_optimizer

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.peers

_STATE_NAMES = {"momentum_buffer": "b", "exp_avg": "m", "exp_avg_sq": "v", "square_avg": "v", "sum": "v"}


def torch_run(make_optimizer, **fixed):
    """A ``run`` for check_optimizer: torch tensors in float64, ``p.grad`` set before every ``step()``.

    Also returns torch's state under our names (momentum_buffer → b, exp_avg → m, exp_avg_sq → v, …).
    """

    def run(theta0, grads, **hyper):
        p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
        optimizer = make_optimizer([p], **hyper, **fixed)
        iterates, states = [], {}
        for g in grads:
            p.grad = torch.tensor(g, dtype=torch.float64)
            optimizer.step()
            iterates.append(p.detach().numpy().copy())
            for key, value in optimizer.state[p].items():
                if key in _STATE_NAMES:
                    states.setdefault(_STATE_NAMES[key], []).append(value.detach().numpy().copy())
        return np.array(iterates), {k: np.array(v) for k, v in states.items()}

    return run


def sgd(params, lr, momentum=0.0, nesterov=False, foreach=None):
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, foreach=foreach)


def adagrad(params, lr, eps, foreach=None):
    return torch.optim.Adagrad(params, lr=lr, eps=eps, foreach=foreach)


def rmsprop(params, lr, rho, eps, foreach=None):
    return torch.optim.RMSprop(params, lr=lr, alpha=rho, eps=eps, foreach=foreach)


def adam(params, lr, beta1, beta2, eps, foreach=None):
    return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, foreach=foreach)


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize(
    ("rule", "make", "options"),
    [
        ("sgd", sgd, {}),
        ("momentum", sgd, {}),
        # torch refuses nesterov=True with momentum 0, where the rule is plain SGD
        ("nesterov", lambda params, lr, momentum, **kw: sgd(params, lr, momentum, nesterov=momentum > 0, **kw), {}),
        ("adagrad", adagrad, {"eps_mode": "outside"}),
        ("rmsprop", rmsprop, {"eps_mode": "outside"}),
        ("adam", adam, {"eps_mode": "kingma"}),
    ],
)
def test_torch_optim_passes_with_the_matching_options(rule, make, options, foreach):
    def run(theta0, grads, eps_mode=None, **hyper):
        return torch_run(make, foreach=foreach)(theta0, grads, **hyper)

    report = check_optimizer(rule, run, max_examples=15, **options)
    assert report.max_error_ratio < 1
    assert report.compared_state == (rule != "sgd")


def test_torch_adagrad_fails_the_seed_002_convention_and_is_recognised():
    with pytest.raises(CheckFailure) as caught:
        check_optimizer("adagrad", torch_run(adagrad), max_examples=20)  # default: ε inside, as in seed 002
    assert "eps_mode=outside" in caught.value.details["diagnosis"]
    assert "as in torch.optim.Adagrad" in str(caught.value)


def test_torch_sgd_momentum_is_not_ema_momentum():
    with pytest.raises(CheckFailure) as caught:
        check_optimizer("ema_momentum", lambda th, g, lr, beta: torch_run(sgd)(th, g, lr=lr, momentum=beta)[0],
                        max_examples=20)
    assert "heavy_ball" in caught.value.details["diagnosis"]
