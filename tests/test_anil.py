"""ANIL (Raghu et al. 2020) against independent references.

The head's meta-gradient against MAML (``leo``) run on a model whose body is a constant; the body's
meta-gradient against central finite differences of a per-task loop (float64); the first-order
variant against the per-task query gradient at a constant adapted head; meta-test adaptation
against plain SGD on the head written per task; the linear model (no body) against MAML itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import torch

from leo_core.algorithms import get_algorithm
from leo_core.algorithms.anil import head_names, split_head
from leo_core.checkpoint import load_checkpoint
from leo_core.models import MLP, LinearModel, Params
from leo_core.tasks import get_family

from helpers import gen, tiny_config
from test_cli import run_cli
from test_inner import reference_forward, setup

ALPHA = 0.3
SINE = get_family("sinusoid")


@dataclass(frozen=True)
class FrozenBody:
    """The MLP as a model of its head alone: the body's values are closed over (constants)."""

    mlp: MLP
    body: Any  # dict of detached tensors
    kind: str = "frozen-body"

    def forward(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        return self.mlp.forward({**self.body, **params}, x)


def _cfg(model, k, first_order=False):
    return tiny_config(alpha=ALPHA, k=k, first_order=first_order, hidden=model.sizes[1:-1], dtype="float64")


def _reference_objective(theta0, batch, k, alpha=ALPHA):
    """J = mean_i L_query,i after k SGD steps on the head alone, one task at a time (F.linear MLP)."""
    head = head_names(MLP(sizes=(1, 6, 6, 1)), theta0)
    total = 0.0
    for i in range(batch.n_tasks):
        params = dict(theta0)
        for _ in range(k):
            loss = ((reference_forward(params, batch.x_support[i]) - batch.y_support[i]) ** 2).mean()
            grads = torch.autograd.grad(loss, [params[n] for n in head], create_graph=True)
            params = {**params, **{n: params[n] - alpha * g for n, g in zip(head, grads)}}
        total = total + ((reference_forward(params, batch.x_query[i]) - batch.y_query[i]) ** 2).mean()
    return total / batch.n_tasks


def test_head_is_the_last_layer_and_the_linear_model_is_all_head():
    model, theta0, _ = setup(sizes=(1, 5, 4, 3, 1))
    assert head_names(model, theta0) == ("w3", "b3")
    body, head = split_head(model, theta0)
    assert list(body) == ["w0", "b0", "w1", "b1", "w2", "b2"] and list(head) == ["w3", "b3"]
    linear = LinearModel()
    assert head_names(linear, linear.init(gen())) == ("theta0", "theta1")
    with pytest.raises(ValueError, match="head w3, b3 is missing"):
        head_names(model, {n: theta0[n] for n in ["w0", "b0"]})


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("first_order", [False, True])
def test_head_meta_gradient_equals_maml_with_the_body_frozen(k, first_order):
    model, theta0, batch = setup()
    body, head = split_head(model, theta0)
    cfg = _cfg(model, k, first_order)
    ours = get_algorithm("anil").meta_step(model, SINE, theta0, batch, cfg)
    frozen = FrozenBody(model, {n: v.detach() for n, v in body.items()})
    ref = get_algorithm("leo").meta_step(frozen, SINE, head, batch, cfg)
    assert ours.meta_loss.item() == pytest.approx(ref.meta_loss.item(), abs=1e-12)
    assert ours.post_loss.item() == pytest.approx(ref.post_loss.item(), abs=1e-12)
    for n in head:
        assert torch.allclose(ours.grads[n], ref.grads[n], atol=1e-12), n
    assert all(ours.grads[n].abs().sum() > 0 for n in body)  # the outer loop moves the body too


@pytest.mark.parametrize("k", [1, 2])
def test_body_meta_gradient_matches_finite_differences(k):
    model, theta0, batch = setup()
    step = get_algorithm("anil").meta_step(model, SINE, theta0, batch, _cfg(model, k))
    assert step.meta_loss.item() == pytest.approx(_reference_objective(theta0, batch, k).item(), abs=1e-12)
    body, _ = split_head(model, theta0)
    eps = 1e-6
    rng = gen(7)
    for name, value in body.items():
        for j in torch.randint(value.numel(), (3,), generator=rng).tolist():
            vals = []
            for sign in (1, -1):
                p = {n: v.detach().clone() for n, v in theta0.items()}
                p[name].view(-1)[j] += sign * eps
                p = {n: v.requires_grad_() for n, v in p.items()}
                vals.append(_reference_objective(p, batch, k).item())
            fd = (vals[0] - vals[1]) / (2 * eps)
            assert step.grads[name].reshape(-1)[j].item() == pytest.approx(fd, abs=1e-7, rel=1e-5), (name, j)


def test_first_order_body_gradient_treats_the_adapted_head_as_a_constant():
    model, theta0, batch = setup()
    k = 2
    step = get_algorithm("anil").meta_step(model, SINE, theta0, batch, _cfg(model, k, first_order=True))
    body, head = split_head(model, theta0)
    total = 0.0
    for i in range(batch.n_tasks):  # adapt each task's head, then freeze it
        params = {n: v.detach().clone().requires_grad_() for n, v in theta0.items()}
        for _ in range(k):
            loss = ((reference_forward(params, batch.x_support[i]) - batch.y_support[i]) ** 2).mean()
            grads = torch.autograd.grad(loss, [params[n] for n in head])
            stepped = {n: (params[n] - ALPHA * g).detach().requires_grad_() for n, g in zip(head, grads)}
            params = {**params, **stepped}
        adapted = {**dict(theta0), **{n: params[n] for n in head}}
        total = total + ((reference_forward(adapted, batch.x_query[i]) - batch.y_query[i]) ** 2).mean()
    ref = torch.autograd.grad(total / batch.n_tasks, [theta0[n] for n in body])
    for n, g in zip(body, ref):
        assert torch.allclose(step.grads[n], g, atol=1e-12), n


def test_one_adaptation_step_changes_only_the_head():
    model, theta0, batch = setup()
    algo = get_algorithm("anil")
    path = list(algo.adapt_path(model, SINE, theta0, batch.x_support, batch.y_support, ALPHA, 1))
    assert len(path) == 2 and list(path[1]) == list(theta0)
    body, head = split_head(model, theta0)
    for n in body:  # the body is θ₀'s, one copy per task
        assert torch.equal(path[1][n], theta0[n].detach().expand(batch.n_tasks, *theta0[n].shape)), n
    for i in range(batch.n_tasks):  # the head: one plain SGD step on this task's support loss
        p = {n: v.detach().clone().requires_grad_() for n, v in theta0.items()}
        loss = ((reference_forward(p, batch.x_support[i]) - batch.y_support[i]) ** 2).mean()
        grads = dict(zip(head, torch.autograd.grad(loss, [p[n] for n in head])))
        for n in head:
            expected = theta0[n].detach() - ALPHA * grads[n]
            assert torch.allclose(path[1][n][i], expected, atol=1e-12), (n, i)
            assert not torch.allclose(path[1][n][i], theta0[n].detach()), (n, i)
    one = list(algo.adapt_path(model, SINE, theta0, batch.x_support[0], batch.y_support[0], ALPHA, 3))
    many = list(algo.adapt_path(model, SINE, theta0, batch.x_support, batch.y_support, ALPHA, 3))
    for n in theta0:  # one unbatched task = the same task inside a batch
        assert torch.allclose(one[-1][n], many[-1][n][0], atol=1e-12), n


@pytest.mark.parametrize("first_order", [False, True])
def test_on_the_linear_model_anil_is_maml(first_order):
    model = LinearModel()
    batch = get_family("linear").sample(4, 6, 5, gen(3), dtype=torch.float64)
    theta0 = {"theta0": torch.tensor([0.4], dtype=torch.float64, requires_grad=True),
              "theta1": torch.tensor([-0.2], dtype=torch.float64, requires_grad=True)}
    cfg = tiny_config(family="linear", alpha=0.1, k=3, first_order=first_order, dtype="float64")
    fam = get_family("linear")
    ours = get_algorithm("anil").meta_step(model, fam, theta0, batch, cfg)
    ref = get_algorithm("leo").meta_step(model, fam, theta0, batch, cfg)
    assert ours.meta_loss.item() == pytest.approx(ref.meta_loss.item(), abs=1e-14)
    for n in theta0:
        assert torch.allclose(ours.grads[n], ref.grads[n], atol=1e-14), n


@pytest.mark.parametrize("family", ["sinusoid", "digits"])
def test_cli_trains_and_evaluates_anil(tmp_path, family):
    out = tmp_path / family
    proc = run_cli("train", "--family", family, "--algorithm", "anil", "--iterations", "4", "--meta-batch", "3",
                   "--hidden", "8,8", "--k", "2", "--shots", "2", "--quiet", "--device", "cpu", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    ckpt = load_checkpoint(out)
    assert set(ckpt.meta_params) == {"w0", "b0", "w1", "b1", "w2", "b2"}
    proc = run_cli("evaluate", str(out), "--tasks", "6", "--steps", "3", "--json", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["algorithm"] == "anil" and len(result["loss_by_step"]) == 4
    assert all(v == v for v in result["loss_by_step"])  # no NaN
