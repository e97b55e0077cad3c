"""The hand-written MLP inner gradient (leo_core.inner.mlp_gradient) against autograd and the
per-task loop, in float64: inner gradients, and full first- and second-order meta-gradients."""

from __future__ import annotations

import pytest
import torch

from helpers import gen, tiny_config
from leo_core import inner
from leo_core.algorithms import get_algorithm
from leo_core.losses import LOSSES
from leo_core.models import MLP
from leo_core.tasks import TASK_FAMILIES
from leo_core.train import make_family, make_model
from test_inner import reference_meta_gradient, setup

TOL = 1e-12


def _problem(family: str, n_tasks: int = 4, activation: str = "relu", seed: int = 0):
    cfg = tiny_config(family=family, dtype="float64", meta_batch=n_tasks, ways=3, alpha=0.05)
    fam = make_family(cfg)
    model = make_model(fam, cfg)
    if activation != "relu":
        model = MLP(sizes=model.sizes, activation=activation)
    theta0 = {k: v.requires_grad_() for k, v in model.init(gen(seed), torch.float64).items()}
    batch = fam.sample(n_tasks, cfg.shots, cfg.query, gen(seed + 1), dtype=torch.float64)
    return cfg, fam, model, theta0, batch


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[n] - b[n]).abs().max().item() for n in a)


def _meta_grads(path: str, algorithm: str, cfg, fam, model, theta0, batch, k: int, first_order: bool):
    from dataclasses import replace

    algo = get_algorithm(algorithm)
    meta = algo.init_meta_params(theta0, cfg)
    meta = {n: v if v.requires_grad else v.detach().requires_grad_() for n, v in meta.items()}
    with inner.gradient_path(path):
        return algo.meta_step(model, fam, meta, batch, replace(cfg, k=k, first_order=first_order)).grads


@pytest.mark.parametrize("family", list(TASK_FAMILIES))
def test_inner_gradient_equals_autograd(family):
    cfg, fam, model, theta0, batch = _problem(family)
    loss = LOSSES[fam.loss]
    params = inner.expand(theta0, batch.n_tasks)
    # Move away from θ₀ first so tasks' parameters differ (the expanded start is the same for all).
    params, _ = inner.inner_step(model, loss, params, batch.x_support, batch.y_support, 0.1, create_graph=True)
    with inner.gradient_path("autograd"):
        total = loss.total(model.forward(params, batch.x_support), batch.y_support)
        ref = torch.autograd.grad(total, list(params.values()))
    if isinstance(model, MLP):
        hand, hand_total = inner.mlp_gradient(model, loss, params, batch.x_support, batch.y_support)
        assert _max_diff(hand, dict(zip(params, ref))) < TOL
        assert abs(hand_total.item() - total.item()) < TOL and not hand_total.requires_grad


@pytest.mark.parametrize("family", list(TASK_FAMILIES))
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("first_order", [False, True])
def test_meta_gradient_equals_autograd_path(family, k, first_order):
    problem = _problem(family)
    hand = _meta_grads("hand", "leo", *problem, k, first_order)
    ref = _meta_grads("autograd", "leo", *problem, k, first_order)
    assert _max_diff(hand, ref) < TOL


@pytest.mark.parametrize("algorithm, family", [("meta-sgd", "sinusoid"), ("meta-sgd", "points2d"),
                                               ("reptile", "points2d"), ("leo-latent", "sinusoid")])
def test_other_algorithms_see_the_same_gradients(algorithm, family):
    problem = _problem(family)
    hand = _meta_grads("hand", algorithm, *problem, 2, False)
    ref = _meta_grads("autograd", algorithm, *problem, 2, False)
    assert _max_diff(hand, ref) < TOL


def test_tanh_and_unbatched_parameters():
    cfg, fam, model, theta0, batch = _problem("sinusoid", activation="tanh")
    assert _max_diff(_meta_grads("hand", "leo", cfg, fam, model, theta0, batch, 2, False),
                     _meta_grads("autograd", "leo", cfg, fam, model, theta0, batch, 2, False)) < TOL
    loss = LOSSES["mse"]
    x, y = batch.x_support[0], batch.y_support[0]  # one task, no task axis
    hand, _ = inner.mlp_gradient(model, loss, theta0, x, y)
    ref = torch.autograd.grad(loss.total(model.forward(theta0, x), y), list(theta0.values()))
    assert _max_diff(hand, dict(zip(theta0, ref))) < TOL


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("first_order", [False, True])
def test_hand_path_equals_per_task_loop(k, first_order):
    model, theta0, batch = setup()
    from test_inner import core_meta_step

    with inner.gradient_path("hand"):
        step = core_meta_step(model, theta0, batch, k, first_order)
    _, ref = reference_meta_gradient(theta0, batch, k, 0.05, first_order)
    assert _max_diff(step.grads, ref) < TOL


def test_second_order_term_survives_the_hand_path():
    problem = _problem("sinusoid")
    so = _meta_grads("hand", "leo", *problem, 2, False)
    fo = _meta_grads("hand", "leo", *problem, 2, True)
    assert _max_diff(so, fo) > 1e-6


def test_unknown_path_is_refused():
    with pytest.raises(ValueError, match="gradient path"):
        with inner.gradient_path("fast"):
            pass
