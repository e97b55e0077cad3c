"""Latent-embedding LEO (Rusu et al. 2019) against independent references.

The KL term against torch.distributions' closed form; the orthogonality penalty against a loop of
cosines; the meta-gradient (through the sampled code, the latent steps and the learned fine-tuning
rates) against central finite differences in float64 with the sampling noise fixed; the encoder
penalty's stopgrad against finite differences with z' held constant; the per-class codes of a
classification task against a loop over pairs; seeded runs repeat exactly.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from leo_core.algorithms.latent import LATENT_DIM, LR_PREFIX, kl_standard_normal, orthogonality_penalty
from leo_core.config import TrainConfig
from leo_core.losses import LOSSES
from leo_core.train import Trainer

from helpers import gen, tiny_config

MSE = LOSSES["mse"]


def _problem(family="sinusoid", **overrides):
    cfg = tiny_config(family=family, algorithm="leo-latent", hidden=(5,), alpha=0.05, k=2, dtype="float64",
                      **overrides)
    trainer = Trainer(cfg)
    meta = {n: v.detach().clone().requires_grad_() for n, v in trainer.meta_params.items()}
    with torch.no_grad():  # off the initial values (rates at the clip bound, σ tiny): a generic point
        g = gen(4)
        for n, v in meta.items():
            if n.startswith(LR_PREFIX):
                v.mul_(0.5 + 0.4 * torch.rand(v.shape, generator=g, dtype=v.dtype))
        meta["rel.b1"][LATENT_DIM:] = -1.0
    batch = trainer.family.sample(3, 5, 4, gen(2), dtype=torch.float64)
    return trainer, cfg, meta, batch


def test_kl_term_matches_the_closed_form_of_torch_distributions():
    g = gen(0)
    mean = torch.randn(4, 6, generator=g, dtype=torch.float64)
    logvar = torch.randn(4, 6, generator=g, dtype=torch.float64)
    q = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    ref = torch.distributions.kl_divergence(q, p).sum(dim=-1)
    assert torch.allclose(kl_standard_normal(mean, logvar), ref, atol=1e-12)
    assert torch.allclose(kl_standard_normal(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))

    # …and it enters the outer loss with weight β: J(β) − J(0) = β · mean_i KL_i.
    trainer, cfg, meta, batch = _problem(latent_encoder_penalty=0.0, latent_orthogonality=0.0)
    algo, noise = trainer.algorithm, torch.randn(3, LATENT_DIM, generator=gen(1), dtype=torch.float64)
    with_kl = algo.meta_step(trainer.model, trainer.family, meta, batch, replace(cfg, latent_kl=0.3), noise=noise)
    without = algo.meta_step(trainer.model, trainer.family, meta, batch, replace(cfg, latent_kl=0.0), noise=noise)
    mean, logvar = algo.encode(meta, batch.x_support, batch.y_support)
    expected = 0.3 * torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, (0.5 * logvar).exp()), torch.distributions.Normal(0.0, 1.0)
    ).sum(-1).mean()
    assert (with_kl.meta_loss - without.meta_loss).item() == pytest.approx(expected.item(), abs=1e-12)


def test_orthogonality_penalty_matches_a_direct_loop():
    w = torch.randn(5, 7, generator=gen(3), dtype=torch.float64)
    total = 0.0
    for j in range(5):
        for k in range(5):
            cos = (w[j] @ w[k]) / (w[j].norm() * w[k].norm())
            total += (cos - (1.0 if j == k else 0.0)) ** 2
    assert orthogonality_penalty(w).item() == pytest.approx(total.item() / 25, abs=1e-12)
    q, _ = torch.linalg.qr(torch.randn(7, 5, generator=gen(4), dtype=torch.float64))
    assert orthogonality_penalty(3.0 * q.T).item() == pytest.approx(0.0, abs=1e-12)  # orthogonal rows

    # The decoder matrix is every decoded slice side by side, and λ weighs the penalty in J.
    trainer, cfg, meta, batch = _problem(latent_kl=0.0, latent_encoder_penalty=0.0)
    algo = trainer.algorithm
    dec = torch.cat([meta["dec.w.w1"].reshape(LATENT_DIM, -1), meta["dec.w.b1"].reshape(LATENT_DIM, -1)], dim=1)
    with_l = algo.meta_step(trainer.model, trainer.family, meta, batch, replace(cfg, latent_orthogonality=2.0))
    without = algo.meta_step(trainer.model, trainer.family, meta, batch, replace(cfg, latent_orthogonality=0.0))
    assert (with_l.meta_loss - without.meta_loss).item() == pytest.approx(2.0 * orthogonality_penalty(dec).item(),
                                                                          abs=1e-12)


def _finite_difference_check(trainer, cfg, meta, batch, noise, objective, grads, per_tensor=2):
    eps = 1e-6
    rng = gen(0)
    for name, value in meta.items():
        for j in torch.randint(value.numel(), (per_tensor,), generator=rng).tolist():
            vals = []
            for sign in (1, -1):
                p = {n: v.detach().clone().requires_grad_() for n, v in meta.items()}
                with torch.no_grad():
                    p[name].view(-1)[j] += sign * eps
                vals.append(objective(p))
            fd = (vals[0] - vals[1]) / (2 * eps)
            assert grads[name].reshape(-1)[j].item() == pytest.approx(fd, abs=1e-7, rel=1e-5), (name, j)


def test_meta_gradient_through_sampling_and_latent_steps_matches_finite_differences():
    # γ = 0: with the stopgrad the encoder penalty is not the gradient of the value (tested below).
    trainer, cfg, meta, batch = _problem(latent_kl=0.1, latent_encoder_penalty=0.0, latent_orthogonality=0.5)
    algo, model, fam = trainer.algorithm, trainer.model, trainer.family
    noise = torch.randn(batch.n_tasks, LATENT_DIM, generator=gen(1), dtype=torch.float64)
    step = algo.meta_step(model, fam, meta, batch, cfg, noise=noise)
    assert all(step.grads[n].abs().sum() > 0 for n in meta), [n for n in meta if step.grads[n].abs().sum() == 0]
    _finite_difference_check(trainer, cfg, meta, batch, noise,
                             lambda p: algo.meta_step(model, fam, p, batch, cfg, noise=noise).meta_loss.item(),
                             step.grads)


def test_encoder_penalty_gradient_holds_the_adapted_code_constant():
    trainer, cfg, meta, batch = _problem(latent_kl=0.0, latent_orthogonality=0.0)
    algo, model, fam = trainer.algorithm, trainer.model, trainer.family
    noise = torch.randn(batch.n_tasks, LATENT_DIM, generator=gen(1), dtype=torch.float64)
    gamma = 0.7
    with_g = algo.meta_step(model, fam, meta, batch, replace(cfg, latent_encoder_penalty=gamma), noise=noise)
    without = algo.meta_step(model, fam, meta, batch, replace(cfg, latent_encoder_penalty=0.0), noise=noise)
    z_adapted = _adapted_code(algo, model, meta, batch, noise)  # stopgrad(z'): a constant

    def penalty(p):
        mean, logvar = algo.encode(p, batch.x_support, batch.y_support)
        z = mean + (0.5 * logvar).exp() * noise
        return gamma * ((z_adapted - z) ** 2).sum(-1).mean().item()

    assert (with_g.meta_loss - without.meta_loss).item() == pytest.approx(penalty(meta), abs=1e-12)
    diff = {n: with_g.grads[n] - without.grads[n] for n in meta}
    assert all(diff[n].abs().max() == 0 for n in meta if not n.startswith(("enc.", "rel.")))  # only the encoder
    _finite_difference_check(trainer, cfg, meta, batch, noise, penalty, diff)


def _adapted_code(algo, model, meta, batch, noise):
    """z' by a plain per-task loop: the sampled code, then the latent steps one task at a time."""
    out = []
    for i in range(batch.n_tasks):
        x, y = batch.x_support[i:i + 1], batch.y_support[i:i + 1]
        with torch.no_grad():
            mean, logvar = algo.encode(meta, x, y)
        z = (mean + (0.5 * logvar).exp() * noise[i:i + 1]).detach()
        for _ in range(algo.latent_steps):
            z = z.requires_grad_(True)
            params = algo.decode({n: v.detach() for n, v in meta.items()}, z)
            (g,) = torch.autograd.grad(MSE.mean(model.forward(params, x), y), [z])
            z = (z - meta["latent.alpha"].detach() * g).detach()
        out.append(z[0])
    return torch.stack(out)


def test_same_seed_same_run_and_the_sample_comes_from_the_trainer_generator():
    cfg = tiny_config(algorithm="leo-latent", iterations=5)

    def run(c):
        trainer = Trainer(c)
        records = [(r.meta_loss, r.post_loss, r.grad_norm) for r in trainer]
        return records, {n: v.detach().clone() for n, v in trainer.meta_params.items()}

    (rec_a, meta_a), (rec_b, meta_b) = run(cfg), run(cfg)
    assert rec_a == rec_b and all(torch.equal(meta_a[n], meta_b[n]) for n in meta_a)
    rec_c, _ = run(replace(cfg, seed=1))
    assert rec_c != rec_a
    # The sample is z = μ + σ ε with ε from the generator: the generator changes the meta-loss; without one, z = μ.
    trainer, cfg64, meta, batch = _problem()
    algo = trainer.algorithm
    sampled = algo.meta_step(trainer.model, trainer.family, meta, batch, cfg64, generator=gen(5)).meta_loss
    again = algo.meta_step(trainer.model, trainer.family, meta, batch, cfg64, generator=gen(5)).meta_loss
    mean_only = algo.meta_step(trainer.model, trainer.family, meta, batch, cfg64).meta_loss
    zero_noise = algo.meta_step(trainer.model, trainer.family, meta, batch, cfg64,
                                noise=torch.zeros(3, LATENT_DIM, dtype=torch.float64)).meta_loss
    assert sampled.item() == again.item() and sampled.item() != mean_only.item()
    assert mean_only.item() == pytest.approx(zero_noise.item(), abs=1e-14)


def test_adaptation_uses_the_mean_then_latent_steps_then_learned_rates():
    trainer, cfg, meta, batch = _problem()
    algo, model, fam = trainer.algorithm, trainer.model, trainer.family
    steps = algo.latent_steps + 3
    path = list(algo.adapt_path(model, fam, meta, batch.x_support, batch.y_support, cfg.alpha, steps))
    losses = [MSE.per_task(model.forward(p, batch.x_support), batch.y_support) for p in path]
    assert (losses[1] < losses[0]).all()  # a latent step
    assert (losses[-1] < losses[algo.latent_steps]).all()  # fine-tuning steps
    z_adapted = _adapted_code(algo, model, meta, batch, torch.zeros(3, LATENT_DIM, dtype=torch.float64))
    decoded = algo.decode({n: v.detach() for n, v in meta.items()}, z_adapted)
    for n, v in decoded.items():  # after the latent steps: decode(z') from the mean, no sampling
        assert torch.allclose(path[algo.latent_steps][n], v, atol=1e-10), n
    # One fine-tuning step, per task: only the decoded last layer moves, by −clamp(η, 0, α) ⊙ ∇.
    theta = path[algo.latent_steps]
    for i in range(3):
        t = {n: v[i].clone().requires_grad_() for n, v in theta.items()}
        loss = MSE.mean(model.forward(t, batch.x_support[i]), batch.y_support[i])
        grads = dict(zip(t, torch.autograd.grad(loss, list(t.values()))))
        for n in t:
            rate = meta[LR_PREFIX + n].detach().clamp(0, cfg.alpha) if n in ("w1", "b1") else 0.0
            assert torch.allclose(path[algo.latent_steps + 1][n][i], t[n].detach() - rate * grads[n], atol=1e-10), n
    one = list(algo.adapt_path(model, fam, meta, batch.x_support[0], batch.y_support[0], cfg.alpha, steps))
    for n, v in one[-1].items():  # one unbatched task = the same task inside a batch
        assert torch.allclose(v, path[-1][n][0], atol=1e-10)


def test_a_checkpoint_of_the_deterministic_version_still_adapts():
    trainer, cfg, meta, batch = _problem()
    algo = trainer.algorithm
    old = {n: v.detach() for n, v in meta.items() if not n.startswith(LR_PREFIX)}
    old["rel.w1"], old["rel.b1"] = old["rel.w1"][:, :LATENT_DIM], old["rel.b1"][:LATENT_DIM]
    path = list(algo.adapt_path(trainer.model, trainer.family, old, batch.x_support, batch.y_support, 0.05, 7))
    new = list(algo.adapt_path(trainer.model, trainer.family, meta, batch.x_support, batch.y_support, 0.05, 7))
    for n in path[algo.latent_steps]:  # the same mean, the same latent steps
        assert torch.allclose(path[algo.latent_steps][n], new[algo.latent_steps][n], atol=1e-12), n
    assert all(torch.isfinite(v).all() for p in path for v in p.values())


def test_works_on_the_linear_model():
    trainer, cfg, meta, batch = _problem("linear")
    assert set(trainer.initialization()) == {"theta0", "theta1"}
    step = trainer.algorithm.meta_step(trainer.model, trainer.family, meta, batch, cfg, generator=gen(0))
    assert all(torch.isfinite(g).all() for g in step.grads.values())


def _classification_problem():
    cfg = tiny_config(family="points2d", algorithm="leo-latent", hidden=(4,), ways=3, alpha=0.1, k=1,
                      dtype="float64", latent_kl=0.1, latent_encoder_penalty=0.0, latent_orthogonality=0.5)
    trainer = Trainer(cfg)
    meta = {n: v.detach().clone().requires_grad_() for n, v in trainer.meta_params.items()}
    with torch.no_grad():
        meta["rel.b1"][LATENT_DIM:] = -1.0
        for n in ("w1", "b1"):  # off the clip bound α, where the one-sided derivative differs
            meta[LR_PREFIX + n].mul_(0.7)
    batch = trainer.family.sample(2, 2, 3, gen(2), dtype=torch.float64)
    return trainer, cfg, meta, batch


def test_classification_codes_are_per_class_and_the_meta_gradient_matches_finite_differences():
    trainer, cfg, meta, batch = _classification_problem()
    algo, model, fam = trainer.algorithm, trainer.model, trainer.family
    assert meta["dec.w.w1"].shape == (LATENT_DIM, 4) and meta["dec.b.w1"].shape == (4, 3)  # shared by classes
    mean, logvar = algo.encode(meta, batch.x_support, batch.y_support, 3)
    assert mean.shape == (2, 3, LATENT_DIM)
    # Class c's code: its examples paired with all support examples, the relation net averaged (a loop).
    e = torch.relu(batch.x_support @ meta["enc.w"] + meta["enc.b"])
    for t in range(2):
        for c in range(3):
            rows = [algo_pair(meta, e[t, i], e[t, j]) for i in range(6) if batch.y_support[t, i] == c
                    for j in range(6)]
            assert torch.allclose(mean[t, c], torch.stack(rows).mean(0)[:LATENT_DIM], atol=1e-12)
    # The decoded last layer: column c = dec.b[:, c] + z_c · dec.w.
    params = algo.decode(meta, mean)
    assert torch.allclose(params["w1"][1, :, 2], meta["dec.b.w1"][:, 2] + mean[1, 2] @ meta["dec.w.w1"], atol=1e-12)
    noise = torch.randn(2, 3, LATENT_DIM, generator=gen(1), dtype=torch.float64)
    step = algo.meta_step(model, fam, meta, batch, cfg, noise=noise)
    _finite_difference_check(trainer, cfg, meta, batch, noise,
                             lambda p: algo.meta_step(model, fam, p, batch, cfg, noise=noise).meta_loss.item(),
                             step.grads, per_tensor=1)
    path = list(algo.adapt_path(model, fam, meta, batch.x_support, batch.y_support, cfg.alpha, algo.latent_steps + 2))
    losses = [LOSSES["cross_entropy"].per_task(model.forward(p, batch.x_support), batch.y_support) for p in path]
    assert (losses[-1] < losses[0]).all()


def algo_pair(meta, e_n, e_m):
    """The relation network on one pair, written out."""
    return torch.relu(torch.cat([e_n, e_m]) @ meta["rel.w0"] + meta["rel.b0"]) @ meta["rel.w1"] + meta["rel.b1"]


@pytest.mark.parametrize("field", ["latent_kl", "latent_encoder_penalty", "latent_orthogonality", "latent_lr"])
def test_bad_weights_are_clear_errors(field):
    with pytest.raises(ValueError, match=field):
        TrainConfig(algorithm="leo-latent", **{field: -1.0})
    assert TrainConfig.from_dict({"algorithm": "leo-latent"}).latent_kl == TrainConfig().latent_kl  # old dicts load


def test_cli_flags_reach_the_config(tmp_path):
    from leo_core.checkpoint import load_checkpoint
    from test_cli import run_cli

    out = tmp_path / "run"
    proc = run_cli("train", "--algorithm", "leo-latent", "--iterations", "2", "--meta-batch", "2", "--hidden", "4",
                   "--latent-lr", "0.2", "--latent-kl", "0.01", "--latent-encoder-penalty", "0",
                   "--latent-orthogonality", "0.5", "--quiet", "--device", "cpu", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    c = load_checkpoint(out).config
    assert (c.latent_lr, c.latent_kl, c.latent_encoder_penalty, c.latent_orthogonality) == (0.2, 0.01, 0.0, 0.5)
