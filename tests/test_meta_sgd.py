"""Meta-SGD (Li et al. 2017): signed learned steps against finite differences, the seeded random
initialisation, the learned steps at test time, old (clipped) checkpoints, diverging evaluations."""

from __future__ import annotations

import json

import pytest
import torch

from leo_core.algorithms import get_algorithm
from leo_core.algorithms.meta_sgd import ALPHA_PREFIX, RANDOM_STEP_RANGE, MetaSGD
from leo_core.checkpoint import load_checkpoint, save_run
from leo_core.config import EvalConfig
from leo_core.evaluate import evaluate
from leo_core.history import MetricHistory
from leo_core.tasks import get_family
from leo_core.train import Trainer

from helpers import gen, tiny_config
from test_cli import run_cli
from test_inner import reference_forward, setup


def _signed_meta_params(theta0, seed=3):
    """θ₀ and per-parameter steps drawn in [−0.05, 0.1]: some negative, as learned steps become."""
    g = gen(seed)
    steps = {ALPHA_PREFIX + n: torch.rand(v.shape, generator=g, dtype=v.dtype) * 0.15 - 0.05 for n, v in theta0.items()}
    assert any((s < 0).any() for s in steps.values())
    return {**{n: v.detach().clone() for n, v in theta0.items()}, **steps}


def _reference_meta_loss(meta, batch, k):
    """Per-task loop with F.linear: k steps θ ← θ − α ⊙ ∇L_support, then the query loss, averaged."""
    names = [n for n in meta if not n.startswith(ALPHA_PREFIX)]
    total = 0.0
    for i in range(batch.n_tasks):
        params = {n: meta[n] for n in names}
        for _ in range(k):
            loss = ((reference_forward(params, batch.x_support[i]) - batch.y_support[i]) ** 2).mean()
            grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=True)
            params = {n: params[n] - meta[ALPHA_PREFIX + n] * g for n, g in zip(names, grads)}
        total = total + ((reference_forward(params, batch.x_query[i]) - batch.y_query[i]) ** 2).mean()
    return total / batch.n_tasks


@pytest.mark.parametrize("k", [1, 2])
def test_signed_step_meta_gradient_matches_central_finite_differences(k):
    model, theta0, batch = setup(sizes=(1, 5, 1), n_tasks=3)
    cfg = tiny_config(algorithm="meta-sgd", k=k, hidden=model.sizes[1:-1], dtype="float64")
    algo = get_algorithm("meta-sgd")
    meta = {n: v.requires_grad_() for n, v in _signed_meta_params(theta0).items()}
    step = algo.meta_step(model, get_family("sinusoid"), meta, batch, cfg)
    assert step.meta_loss.item() == pytest.approx(_detached_reference(meta, batch, k), abs=1e-12)
    eps = 1e-6
    for name, value in meta.items():  # every coordinate of θ₀ and of the step sizes
        for j in range(value.numel()):
            vals = []
            for sign in (1, -1):
                p = {n: v.detach().clone().requires_grad_() for n, v in meta.items()}
                with torch.no_grad():
                    p[name].view(-1)[j] += sign * eps
                vals.append(_reference_meta_loss(p, batch, k).item())
            fd = (vals[0] - vals[1]) / (2 * eps)
            assert step.grads[name].reshape(-1)[j].item() == pytest.approx(fd, abs=1e-7, rel=1e-5), (name, j)


def _detached_reference(meta, batch, k):
    return _reference_meta_loss({n: v.detach().clone().requires_grad_() for n, v in meta.items()}, batch, k).item()


def test_random_step_initialisation_is_in_range_and_seeded():
    def steps(seed, **kw):
        t = Trainer(tiny_config(algorithm="meta-sgd", seed=seed, iterations=0, **kw))
        return {n: v.detach().clone() for n, v in t.meta_params.items() if n.startswith(ALPHA_PREFIX)}

    a, b, c = steps(0), steps(0), steps(1)
    low, high = RANDOM_STEP_RANGE
    assert (low, high) == (0.005, 0.1)
    flat = torch.cat([v.reshape(-1) for v in a.values()])
    assert flat.min() >= low and flat.max() <= high and flat.std() > 0.01  # spread over the range
    assert all(torch.equal(a[n], b[n]) for n in a)  # same seed, same steps
    assert not all(torch.equal(a[n], c[n]) for n in a)  # another seed, other steps
    for v in steps(0, meta_sgd_init="alpha", alpha=0.03).values():
        assert torch.all(v == 0.03)
    with pytest.raises(ValueError, match="meta_sgd_init must be one of"):
        tiny_config(meta_sgd_init="zeros")


@pytest.mark.parametrize("k", [1, 2])
def test_meta_sgd_with_uniform_step_gives_leos_theta_gradient(k):
    model, theta0, batch = setup()
    cfg = tiny_config(alpha=0.05, k=k, hidden=model.sizes[1:-1], dtype="float64", meta_sgd_init="alpha")
    meta_sgd = get_algorithm("meta-sgd")
    meta = {n: v if v.requires_grad else v.requires_grad_() for n, v in meta_sgd.init_meta_params(theta0, cfg).items()}
    assert all(torch.all(meta[ALPHA_PREFIX + n] == cfg.alpha) for n in theta0)
    ours = meta_sgd.meta_step(model, get_family("sinusoid"), meta, batch, cfg)
    ref = get_algorithm("leo").meta_step(model, get_family("sinusoid"), theta0, batch, cfg)
    assert ours.meta_loss.item() == pytest.approx(ref.meta_loss.item(), abs=1e-12)
    for n in theta0:
        assert torch.allclose(ours.grads[n], ref.grads[n], atol=1e-10), n
    assert all(ours.grads[ALPHA_PREFIX + n].abs().sum() > 0 for n in theta0)


def test_learned_signed_steps_are_used_at_test_time_and_survive_checkpoint(tmp_path):
    trainer = Trainer(tiny_config(algorithm="meta-sgd", iterations=4, beta=0.01))
    history = MetricHistory()
    history.extend(trainer)
    save_run(tmp_path, trainer.state_dict(), history)
    ckpt = load_checkpoint(tmp_path)
    assert set(ckpt.meta_params) == set(trainer.meta_params)
    for n, v in trainer.meta_params.items():
        assert torch.equal(ckpt.meta_params[n], v.detach()), n
    meta = dict(ckpt.meta_params)
    meta[ALPHA_PREFIX + "w0"] = meta[ALPHA_PREFIX + "w0"].clone()
    meta[ALPHA_PREFIX + "w0"].view(-1)[0] = -0.02  # a negative step is used as it is, not clipped
    algo, fam = trainer.algorithm, trainer.family
    batch = fam.sample(3, 5, 5, gen(9))
    step1 = list(algo.adapt_path(trainer.model, fam, meta, batch.x_support, batch.y_support, 0.01, 1))[1]
    theta = algo.initialization(meta)
    for i in range(3):  # per-task loop with F.linear
        t = {m: v.detach().clone().requires_grad_() for m, v in theta.items()}
        loss = ((reference_forward(t, batch.x_support[i]) - batch.y_support[i]) ** 2).mean()
        grads = dict(zip(t, torch.autograd.grad(loss, list(t.values()))))
        for n in theta:
            assert torch.allclose(step1[n][i], theta[n] - meta[ALPHA_PREFIX + n] * grads[n], atol=1e-6), n
    with pytest.raises(ValueError, match="meta_params"):
        list(algo.adapt_path(trainer.model, fam, algo.initialization(meta), batch.x_support, batch.y_support, 0.01, 1))


def test_optional_clipping_reproduces_the_old_box():
    meta = {"w": torch.zeros(3), ALPHA_PREFIX + "w": torch.tensor([-0.5, 0.004, 0.5])}
    assert torch.equal(get_algorithm("meta-sgd").step_size(meta, 0.01)["w"], meta[ALPHA_PREFIX + "w"])  # signed
    assert torch.equal(MetaSGD(max_step_factor=1.0).step_size(meta, 0.01)["w"], torch.tensor([0.0, 0.004, 0.01]))
    assert torch.equal(MetaSGD(max_step_factor=3.0).step_size(meta, 0.01)["w"], torch.tensor([0.0, 0.004, 0.03]))


def test_checkpoint_from_before_the_new_fields_still_loads_and_evaluates(tmp_path):
    trainer = Trainer(tiny_config(algorithm="meta-sgd", iterations=2))
    history = MetricHistory()
    history.extend(trainer)
    state = trainer.state_dict()
    for key in ("meta_sgd_init", "beta_schedule"):  # an old config dict lacks them
        state["config"].pop(key)
    state.pop("scheduler")
    save_run(tmp_path, state, history)
    ckpt = load_checkpoint(tmp_path)
    assert ckpt.config.meta_sgd_init == "random" and ckpt.config.beta_schedule == "constant"
    resumed = Trainer(ckpt.config)
    resumed.load_state_dict(ckpt.state)
    assert resumed.iteration == 2
    proc = run_cli("evaluate", str(tmp_path), "--tasks", "4", "--steps", "2", "--json", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["loss_by_step"]) == 3


def test_evaluate_reports_the_first_diverging_step(tmp_path, capsys):
    from leo_core.cli import main

    trainer = Trainer(tiny_config(algorithm="meta-sgd", iterations=0))
    meta = {n: (torch.full_like(v, 5.0) if n.startswith(ALPHA_PREFIX) else v.detach())
            for n, v in trainer.meta_params.items()}
    ev = EvalConfig(tasks=4, query=5, steps=40, seed=1)
    blown = evaluate(trainer.model, trainer.family, trainer.algorithm, meta, 0.01, ev)
    j = blown.first_nonfinite_step
    assert not blown.finite and j >= 1 and all(torch.isfinite(torch.tensor(blown.loss_by_step[:j])))
    assert not torch.isfinite(torch.tensor(blown.loss_by_step[j]))
    assert blown.to_dict()["first_nonfinite_step"] == j
    clipped = evaluate(trainer.model, trainer.family, MetaSGD(max_step_factor=1.0), meta, 0.01, ev)  # |α| ≤ 0.01
    assert clipped.finite and "first_nonfinite_step" not in clipped.to_dict()

    # The command line says so, in the table and in strict JSON (null, not NaN, past that step).
    state = trainer.state_dict()
    state["meta_params"] = meta
    save_run(tmp_path, state, MetricHistory())
    argv = ["evaluate", str(tmp_path), "--tasks", "4", "--steps", "40", "--seed", "1", "--query", "5", "--device", "cpu"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert f"first diverging step: {j}" in err and "diverged" in out and "nan" not in out.lower()
    assert main([*argv, "--json"]) == 0
    out = capsys.readouterr().out

    def refuse(constant):
        raise AssertionError(f"non-strict JSON constant {constant}")

    payload = json.loads(out, parse_constant=refuse)
    assert payload["first_nonfinite_step"] == j
    assert payload["loss_by_step"][j] is None and payload["loss_by_step"][j - 1] is not None


def test_step_learning_rate_reparametrises_the_steps_and_slows_them_under_adam():
    """meta_sgd_step_lr s stores α/s: the same steps in use, gradients by the chain rule, and one Adam
    iteration moves the steps s times as far as with s = 1 (θ₀ moves the same)."""
    def first_iteration(s):
        t = Trainer(tiny_config(algorithm="meta-sgd", seed=0, iterations=1, dtype="float64", meta_sgd_step_lr=s))
        names = list(t.algorithm.initialization(t.meta_params))
        before = {n: v.detach().clone() for n, v in t.algorithm.step_size(t.meta_params, 0.0).items()}
        theta_before = {n: t.meta_params[n].detach().clone() for n in names}
        t.step()
        after = t.algorithm.step_size(t.meta_params, 0.0)
        return (before, {n: after[n].detach() - before[n] for n in names},
                {n: t.meta_params[n].detach() - theta_before[n] for n in names})

    steps1, moved1, theta1 = first_iteration(1.0)
    steps01, moved01, theta01 = first_iteration(0.1)
    for n in steps1:
        torch.testing.assert_close(steps01[n], steps1[n])  # the same initial steps in use
        torch.testing.assert_close(theta01[n], theta1[n])  # the same first θ₀ update
    # Adam's ε makes it inexact where a gradient is tiny: compare the whole move.
    ratio = torch.cat([v.reshape(-1) for v in moved01.values()]).norm() / torch.cat(
        [v.reshape(-1) for v in moved1.values()]).norm()
    assert ratio.item() == pytest.approx(0.1, rel=1e-2)
    with pytest.raises(ValueError, match="meta_sgd_step_lr"):
        tiny_config(meta_sgd_step_lr=0.0)
