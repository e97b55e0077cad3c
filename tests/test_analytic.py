"""The closed-form MLP meta-gradient (leo_core.analytic) against autograd through the general inner
loop and against the per-task loop, in float64: first and second order, k 0-3, every family, ReLU
and tanh, scalar α and Meta-SGD's per-parameter steps, and the metrics logged beside them."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from helpers import gen, tiny_config
from leo_core import analytic, inner
from leo_core.algorithms import get_algorithm
from leo_core.algorithms.meta_sgd import MetaSGD
from leo_core.losses import LOSSES
from leo_core.models import MLP
from leo_core.tasks import TASK_FAMILIES
from leo_core.train import make_family, make_model
from test_inner import core_meta_step, reference_meta_gradient, setup

TOL = 1e-12


def _problem(family: str, n_tasks: int = 4, activation: str = "relu", seed: int = 0, **overrides):
    cfg = tiny_config(family=family, dtype="float64", meta_batch=n_tasks, ways=3, alpha=0.05, **overrides)
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


def _meta_step(path: str, algorithm, cfg, fam, model, theta0, batch, k: int, first_order: bool, **overrides):
    algo = get_algorithm(algorithm) if isinstance(algorithm, str) else algorithm
    cfg = replace(cfg, k=k, first_order=first_order, **overrides)
    meta = algo.init_meta_params(theta0, cfg)
    meta = {n: v if v.requires_grad else v.detach().requires_grad_() for n, v in meta.items()}
    with analytic.gradient_path(path):
        return algo.meta_step(model, fam, meta, batch, cfg)


@pytest.mark.parametrize("family", list(TASK_FAMILIES))
@pytest.mark.parametrize("k", [0, 1, 2, 3])
@pytest.mark.parametrize("first_order", [False, True])
def test_meta_gradient_and_metrics_equal_the_autograd_path(family, k, first_order):
    problem = _problem(family)
    fast = _meta_step("analytic", "leo", *problem, k, first_order)
    ref = _meta_step("autograd", "leo", *problem, k, first_order)
    assert _max_diff(fast.grads, ref.grads) < TOL
    for name in ("meta_loss", "pre_loss", "post_loss", "pre_accuracy", "post_accuracy"):
        a, b = getattr(fast, name), getattr(ref, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert abs(a.item() - b.item()) < TOL, name


@pytest.mark.parametrize("family", ["sinusoid", "points2d"])
@pytest.mark.parametrize("outer", ["query", "support"])
def test_tanh_and_the_support_objective(family, outer):
    problem = _problem(family, activation="tanh")
    fast = _meta_step("analytic", "leo", *problem, 2, False, outer_loss=outer)
    ref = _meta_step("autograd", "leo", *problem, 2, False, outer_loss=outer)
    assert _max_diff(fast.grads, ref.grads) < TOL
    assert abs(fast.post_loss.item() - ref.post_loss.item()) < TOL


@pytest.mark.parametrize("algorithm", [
    MetaSGD(), MetaSGD(step_lr=0.1), MetaSGD(max_step_factor=1.0), "leo-fo",
])
@pytest.mark.parametrize("family", ["sinusoid", "points2d"])
@pytest.mark.parametrize("k", [0, 1, 3])
def test_per_parameter_steps_and_first_order(algorithm, family, k):
    """Meta-SGD's ∂J/∂α (through its step scale and its optional clip) equals autograd's."""
    cfg, fam, model, theta0, batch = _problem(family)
    if isinstance(algorithm, MetaSGD):  # random steps in [0.005, 0.1]: some are clipped by 1.0·α = 0.05
        cfg = replace(cfg, meta_sgd_init="random")
    problem = (cfg, fam, model, theta0, batch)
    fast = _meta_step("analytic", algorithm, *problem, k, False)
    ref = _meta_step("autograd", algorithm, *problem, k, False)
    assert any(n.startswith("alpha.") for n in fast.grads) == isinstance(algorithm, MetaSGD)
    assert _max_diff(fast.grads, ref.grads) < TOL


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("first_order", [False, True])
def test_equals_the_per_task_loop(k, first_order):
    model, theta0, batch = setup()
    with analytic.gradient_path("analytic"):
        step = core_meta_step(model, theta0, batch, k, first_order)
    _, ref = reference_meta_gradient(theta0, batch, k, 0.05, first_order)
    assert _max_diff(step.grads, ref) < 1e-10


def test_second_order_term_is_there():
    problem = _problem("sinusoid")
    so = _meta_step("analytic", "leo", *problem, 2, False)
    fo = _meta_step("analytic", "leo", *problem, 2, True)
    assert _max_diff(so.grads, fo.grads) > 1e-6


def test_applies_to_the_mlp_only_and_can_be_switched_off():
    mlp, loss = MLP(), LOSSES["mse"]
    assert analytic.applicable(mlp, loss)
    fam = make_family(tiny_config(family="linear"))
    assert not analytic.applicable(make_model(fam, tiny_config(family="linear")), loss)
    with analytic.gradient_path("autograd"):
        assert not analytic.applicable(mlp, loss)
    assert analytic.applicable(mlp, loss)
    with pytest.raises(ValueError, match="gradient path"):
        with analytic.gradient_path("hand"):
            pass


def test_float32_agrees_with_autograd_to_rounding():
    cfg, fam, model, theta0, batch = _problem("sinusoid", n_tasks=25)
    theta32 = {n: v.detach().float().requires_grad_() for n, v in theta0.items()}
    batch32 = type(batch)(batch.x_support.float(), batch.y_support.float(), batch.x_query.float(),
                          batch.y_query.float(), batch.task_params)
    cfg32 = replace(cfg, dtype="float32")
    fast = _meta_step("analytic", "leo", cfg32, fam, model, theta32, batch32, 2, False)
    ref = _meta_step("autograd", "leo", cfg32, fam, model, theta32, batch32, 2, False)
    scale = max(g.abs().max().item() for g in ref.grads.values())
    assert _max_diff(fast.grads, ref.grads) < 1e-5 * scale


@pytest.mark.parametrize("family", ["sinusoid", "points2d"])
@pytest.mark.parametrize("k", [1, 2])
def test_factored_weights_and_directions_at_a_large_meta_batch(family, k):
    """At meta-batch 48 the 40×40 layer's query gradient, and after one step its adapted weight, are kept
    as low-rank factors (``_LowRank``); the meta-gradient and θₖ still equal autograd's."""
    problem = _problem(family, n_tasks=48, hidden=(40, 40))
    cfg, fam, model, theta0, batch = problem
    direct = analytic.meta_gradient(model, LOSSES[fam.loss], theta0, batch.x_support, batch.y_support,
                                    batch.x_query, batch.y_query, cfg.alpha, k)
    assert isinstance(direct.adapted_weights["w1"], analytic._LowRank) == (k == 1)
    fast = _meta_step("analytic", "leo", *problem, k, False)
    ref = _meta_step("autograd", "leo", *problem, k, False)
    assert _max_diff(fast.grads, ref.grads) < TOL
    assert _max_diff(direct.adapted(), _adapted_by_autograd(problem, k)) < TOL


def _adapted_by_autograd(problem, k):
    cfg, fam, model, theta0, batch = problem
    params = inner.expand({n: v.detach().requires_grad_() for n, v in theta0.items()}, batch.n_tasks)
    return inner.detached(inner.adapt(model, LOSSES[fam.loss], params, batch.x_support, batch.y_support,
                                      cfg.alpha, k, create_graph=False))
