"""The pretrained baseline for classification (Chen et al. 2019's "Baseline") against references.

Global labels against a plain Python mapping; the pretraining gradient against a per-task loop with
``F.linear``; the head-only fine-tune against logistic regression's closed-form gradient on the
frozen body's features; an old joint-training checkpoint still loading and evaluating.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from leo_core.algorithms import get_algorithm
from leo_core.algorithms.baselines import PRETRAIN_HEAD, head_names, uses_pretrain_head
from leo_core.checkpoint import load_checkpoint, save_run
from leo_core.cli import main
from leo_core.config import EvalConfig
from leo_core.evaluate import evaluate
from leo_core.history import MetricHistory
from leo_core.losses import LOSSES, accuracy
from leo_core.tasks import get_family
from leo_core.train import Trainer

from helpers import gen, tiny_config
from test_inner import reference_forward

PRE = get_algorithm("pretrained")
CE = LOSSES["cross_entropy"]


def digits_config(**overrides):
    return tiny_config(**{"family": "digits", "algorithm": "pretrained", "ways": 5, "shots": 1, "query": 3,
                          "hidden": (16, 16), "dtype": "float64", **overrides})


# -- global labels ------------------------------------------------------------------------------------

def test_digits_global_labels_are_the_meta_training_class_positions():
    fam = get_family("digits").configure(digits_config())
    train_classes = list(fam.split_classes("train"))
    assert fam.pretrain_classes() == len(train_classes) == 28
    batch = fam.sample(6, 2, 3, gen(4))
    gs, gq = fam.global_labels(batch)
    classes = batch.task_params["classes"]
    for t in range(6):
        for j, label in enumerate(batch.y_support[t].tolist()):
            assert gs[t, j].item() == train_classes.index(classes[t, label].item())
        for j, label in enumerate(batch.y_query[t].tolist()):
            assert gq[t, j].item() == train_classes.index(classes[t, label].item())
    with pytest.raises(ValueError, match="meta-training classes"):
        fam.global_labels(fam.sample(2, 1, 1, gen(4), split="test"))


def test_points2d_global_labels_are_the_grid_cells_of_the_blob_centres():
    fam = get_family("points2d")
    batch = fam.sample(5, 2, 2, gen(2))
    gs, _ = fam.global_labels(batch)
    g, (lo, hi) = fam.pretrain_grid, fam.centre_range
    for t in range(5):
        for j, label in enumerate(batch.y_support[t].tolist()):
            cx, cy = batch.task_params["centres"][t, label].tolist()
            cell = [min(int(math.floor((c - lo) / (hi - lo) * g)), g - 1) for c in (cx, cy)]
            assert gs[t, j].item() == cell[0] * g + cell[1]
    assert fam.pretrain_classes() == g * g


# -- pretraining ------------------------------------------------------------------------------------

def test_meta_params_hold_body_zero_head_and_pretraining_head_over_all_classes():
    trainer = Trainer(digits_config())
    meta = trainer.meta_params
    assert meta[PRETRAIN_HEAD + "w"].shape == (16, 28) and meta[PRETRAIN_HEAD + "b"].shape == (28,)
    assert meta["w2"].shape == (16, 5) and not meta["w2"].any() and not meta["b2"].any()
    init = trainer.initialization()
    assert set(init) == {"w0", "b0", "w1", "b1", "w2", "b2"}  # the model's own parameters, N outputs
    assert trainer.model.forward(init, torch.zeros(1, 64, dtype=torch.float64)).shape == (1, 5)
    # Regression keeps joint training: the meta-parameters are θ₀ itself.
    assert not uses_pretrain_head(Trainer(tiny_config(algorithm="pretrained")).meta_params)


def test_pretraining_gradient_is_cross_entropy_over_global_labels():
    cfg = digits_config()
    trainer = Trainer(cfg)
    meta = {n: v.detach().clone().requires_grad_() for n, v in trainer.meta_params.items()}
    batch = trainer.family.sample(3, cfg.shots, cfg.query, gen(5), dtype=torch.float64)
    step = PRE.meta_step(trainer.model, trainer.family, meta, batch, cfg)
    gs, gq = trainer.family.global_labels(batch)
    ref_params = {n: v for n, v in meta.items() if not n.startswith(PRETRAIN_HEAD)}
    ref_params["w2"], ref_params["b2"] = meta[PRETRAIN_HEAD + "w"], meta[PRETRAIN_HEAD + "b"]
    total, count = 0.0, 0
    for t in range(3):  # per-task loop, F.linear forward, summed cross-entropy over every example
        x = torch.cat([batch.x_support[t], batch.x_query[t]])
        y = torch.cat([gs[t], gq[t]])
        total = total + F.cross_entropy(reference_forward(ref_params, x), y, reduction="sum")
        count += y.numel()
    ref = total / count
    assert step.meta_loss.item() == pytest.approx(ref.item(), abs=1e-12)
    grads = torch.autograd.grad(ref, list(meta.values()), allow_unused=True)
    for n, g in zip(meta, grads):
        expected = torch.zeros_like(meta[n]) if g is None else g
        assert torch.allclose(step.grads[n], expected, atol=1e-12), n
    assert not step.grads["w2"].any() and not step.grads["b2"].any()  # the N-way head is never trained
    assert step.pre_loss.item() == pytest.approx(math.log(5), abs=1e-12)  # zero head: uniform


def test_pretraining_on_global_labels_is_well_above_chance_on_meta_training_classes():
    cfg = digits_config(iterations=150, beta=0.01, meta_batch=8, query=5, hidden=(32, 32), dtype="float32")
    trainer = Trainer(cfg)
    for _ in trainer:
        pass
    batch = trainer.family.sample(40, cfg.shots, cfg.query, gen(99))  # fresh examples, meta-train classes
    _, gq = trainer.family.global_labels(batch)
    with torch.no_grad():
        logits = trainer.model.forward(PRE.pretrain_params(trainer.meta_params), batch.x_query)
    acc = accuracy(logits, gq).mean().item()
    assert acc > 0.5, acc  # chance over 28 classes is 0.036


# -- meta-test: a fresh head on the frozen body ------------------------------------------------------

@pytest.fixture(scope="module")
def pretrained():
    cfg = digits_config(iterations=60, beta=0.01, meta_batch=8)
    trainer = Trainer(cfg)
    for _ in trainer:
        pass
    meta = {n: v.detach().clone() for n, v in trainer.meta_params.items()}
    batch = trainer.family.sample(4, 1, 5, gen(7), dtype=torch.float64, split="test")
    return trainer, meta, batch


def test_head_fine_tune_is_logistic_regression_on_frozen_features(pretrained):
    trainer, meta, batch = pretrained
    alpha, steps = 0.05, 4
    path = list(PRE.adapt_path(trainer.model, trainer.family, meta, batch.x_support, batch.y_support, alpha, steps))
    body = {n: meta[n] for n in ("w0", "b0", "w1", "b1")}
    for t in range(batch.n_tasks):
        # Independent reference: features of the body (F.linear), then plain gradient descent on
        # softmax regression with its closed-form gradient H^T (softmax − onehot) / M.
        h = torch.relu(F.linear(torch.relu(F.linear(batch.x_support[t], body["w0"].T, body["b0"])),
                                body["w1"].T, body["b1"]))
        onehot = F.one_hot(batch.y_support[t], 5).double()
        w, b = torch.zeros(16, 5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
        for step in range(steps + 1):
            assert torch.allclose(path[step]["w2"][t], w, atol=1e-10), (t, step)
            assert torch.allclose(path[step]["b2"][t], b, atol=1e-10), (t, step)
            residual = (torch.softmax(h @ w + b, dim=-1) - onehot) / h.shape[0]
            w, b = w - alpha * h.T @ residual, b - alpha * residual.sum(0)


def test_head_fine_tune_lowers_support_loss_and_leaves_the_body_unchanged(pretrained):
    trainer, meta, batch = pretrained
    path = list(PRE.adapt_path(trainer.model, trainer.family, meta, batch.x_support, batch.y_support, 0.01, 10))
    losses = [CE.per_task(trainer.model.forward(p, batch.x_support), batch.y_support) for p in path]
    assert torch.allclose(losses[0], torch.full_like(losses[0], math.log(5)))  # zero head
    assert bool((losses[-1] < losses[0] - 0.1).all()), losses[-1]
    for p in path:
        for n in ("w0", "b0", "w1", "b1"):
            for t in range(batch.n_tasks):
                assert torch.equal(p[n][t], meta[n]), n  # bit for bit: the body is frozen
    assert head_names(trainer.initialization()) == ("w2", "b2")


def test_new_checkpoint_round_trip_evaluates_n_way(tmp_path, pretrained):
    trainer, _, _ = pretrained
    history = MetricHistory()
    save_run(tmp_path, trainer.state_dict(), history)
    ckpt = load_checkpoint(tmp_path)
    assert uses_pretrain_head(ckpt.meta_params) and ckpt.meta_params[PRETRAIN_HEAD + "w"].shape[-1] == 28
    fam = trainer.family
    result = evaluate(ckpt.model, fam, PRE, ckpt.meta_params, 0.01, EvalConfig(tasks=20, shots=1, query=3, steps=3))
    assert result.accuracy_by_step[0] == pytest.approx(0.2)  # zero head: argmax is label 0 everywhere
    assert result.loss_by_step[-1] < result.loss_by_step[0]
    resumed = Trainer(ckpt.config)
    resumed.load_state_dict(ckpt.state)
    for n, v in resumed.meta_params.items():
        assert torch.equal(v.detach(), trainer.meta_params[n].detach()), n


# -- old checkpoints ----------------------------------------------------------------------------------

def test_old_joint_training_classification_checkpoint_still_loads_and_evaluates(tmp_path, capsys):
    # The landed code stored θ₀ of the model's own shape (N outputs) for a pretrained digits run.
    cfg = digits_config(dtype="float32", iterations=2)
    trainer = Trainer(cfg)
    state = trainer.state_dict()
    theta0 = trainer.model.init(gen(0))
    state["meta_params"] = theta0
    save_run(tmp_path, state, MetricHistory())
    ckpt = load_checkpoint(tmp_path)
    assert not uses_pretrain_head(ckpt.meta_params)
    assert PRE.initialization(ckpt.meta_params) is not None
    assert PRE.step_size(ckpt.meta_params, 0.3) == 0.3  # every parameter adapts, as before
    fam = trainer.family
    batch = fam.sample(2, 1, 2, gen(3), split="test")
    step1 = list(PRE.adapt_path(ckpt.model, fam, ckpt.meta_params, batch.x_support, batch.y_support, 0.3, 1))[1]
    for t in range(2):  # reference: one plain SGD step on every parameter, per task
        p = {n: v.clone().requires_grad_() for n, v in theta0.items()}
        loss = F.cross_entropy(reference_forward(p, batch.x_support[t]), batch.y_support[t])
        grads = torch.autograd.grad(loss, list(p.values()))
        for (n, v), g in zip(p.items(), grads):
            assert torch.allclose(step1[n][t], v.detach() - 0.3 * g, atol=1e-6), n
    assert main(["evaluate", str(tmp_path), "--tasks", "10", "--steps", "2", "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["algorithm"] == "pretrained" and len(out["accuracy_by_step"]) == 3
