"""Latent Embedding Optimization (Rusu et al., ICLR 2019), small and seeded.

An encoder and a relation network map a task's support set to a Gaussian over a latent code z; a
linear decoder turns z into the task model's *decoded* parameters; adaptation first takes steps on
z (in the low-dimensional latent space), then fine-tunes the decoded model in parameter space.

- Decoded parameters: for an MLP, the last layer (``w{L-1}``, ``b{L-1}``); the hidden layers are
  shared meta-parameters learned directly, as θ₀ is in ``leo``. For the two-parameter linear
  model every parameter is decoded. decode(z) = b + Σ_d z_d W_d, stored per decoded name as
  "dec.b.<name>" (the decoded value at z = 0, initialised to the model's own init) and
  "dec.w.<name>" (one slice per latent dimension, initialised small: ``DECODER_INIT`` × the
  model's init scale, so a sampled z does not swamp the decoded weights at the start).
- Encoder (regression): e_n = relu([x_n, y_n] W_e + b_e) for each support pair; relation network
  over all pairs (n, m): r_nm = relu([e_n, e_m] W_0 + b_0) W_1 + b_1; (μ, log σ²) = mean_{n,m} r_nm,
  split in two halves of ``LATENT_DIM`` each (pairs over the whole support set: regression has no
  classes).
- Classification (N-way): one code per class, as in the paper. e_n = relu(x_n W_e + b_e); class c's
  (μ_c, log σ_c²) averages r_nm over its examples n paired with every support example m; the
  decoder, shared by all classes, turns z_c into class c's output column (w[:, c], b[c]) of the last
  layer, around a per-class "dec.b" (labels are shuffled per task, so that offset stays near equal).
- Stochastic code: in meta-training z = μ + σ ⊙ ε with ε ~ N(0, I) drawn from the trainer's
  generator (the reparameterisation trick, so the encoder learns through the sample). At meta-test
  (``adapt_path``) and when ``meta_step`` gets no generator, z = μ: the mean, as the authors' code
  does outside meta-training.
- Latent adaptation, ``latent_steps`` steps  z ← z − α_z ⊙ ∇_z L_support(decode(z))  with a learned
  per-dimension step α_z ("latent.alpha", initialised to cfg.latent_lr).
- Fine-tuning, cfg.k steps in meta-training: θ_dec ← θ_dec − η ⊙ ∇ L_support on the decoded
  parameters only (the shared layers stay fixed per task, as the paper's feature extractor does),
  with a learned per-parameter rate η ("lr.<name>", initialised to cfg.alpha, as Meta-SGD's),
  clipped to [0, α] with α the configured step (cfg.alpha in training, the checkpoint's α at
  meta-test) so that more steps at meta-test than in training stay stable (Meta-SGD's safeguard).
- Outer objective, minimised over encoder, relation net, decoder, shared layers, α_z and η (the
  paper's meta-training objective and its regulariser R):
      J = mean_i L_query,i(θ'_i) + β·KL + γ·‖stopgrad(z') − z‖² + λ·‖C_d − I‖²
  with KL = mean_i KL(N(μ_i, σ_i²) ‖ N(0, I)) in closed form, 0.5 Σ_d (μ² + σ² − 1 − log σ²);
  the encoder penalty mean_i Σ_d (stopgrad(z'_i) − z_i)², which pulls the encoder's code towards the
  adapted one; and the orthogonality penalty mean_{jk} (C_d − I)²_{jk} with C_d the correlation
  matrix (cosines) of the decoder's d latent directions (rows of the [d, P] decoder matrix).
  β = cfg.latent_kl, γ = cfg.latent_encoder_penalty, λ = cfg.latent_orthogonality. Meta-training
  differentiates through both phases (second order unless ``cfg.first_order``), taking
  ``latent_steps`` latent steps then cfg.k fine-tuning steps. At meta-test, ``adapt_path`` step
  j ≤ ``latent_steps`` is a latent step and later steps fine-tune, so "after 0 steps" already uses
  the support set (through the encoder).

Why the first version ended worse than random init on sinusoids (10-step MSE 8.1): its latent step
started at cfg.alpha = 0.01, so the latent steps barely moved z; the decoder's initial slices were as
large as the model's weights, so codes of size 1 gave large last-layer weights; and its fine-tuning
steps moved every layer with the plain α: on the learned network (large hidden weights, large
gradients) α = 0.01 and even 0.001 overshot within a few steps at meta-test, raising the loss again.
The latent step now starts at ``latent_lr`` (default 0.1), the decoder starts at a tenth of the model's init
scale, and fine-tuning moves only the decoded layer with learned rates clipped to [0, α].

Still different from the paper: the decoder is deterministic (the paper samples the weights from a
decoded Gaussian as well); the KL term is in closed form (the authors' code estimates it from the
sample); encoder inputs are raw inputs (and targets, for regression), not features of a pretrained
network, and for regression the pairs range over the whole support set; no dropout and no L2 weight decay on encoder, relation net and decoder
(the paper's λ₁ term); the fine-tuning rate is per parameter and clipped to [0, α], the latent
step per latent dimension (the authors' code learns one unclipped scalar for each phase); the hidden
layers are shared meta-parameters trained end to end (the paper decodes a classifier on top of a
fixed pretrained feature extractor); the meta-loss J the trainer reports includes the three
penalties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from ..i18n import N_
from .. import inner
from ..config import TrainConfig
from ..losses import LOSSES, Loss
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily, get_family
from .base import MetaAlgorithm, MetaStep, meta_gradient, outer_data, query_metrics, require_keys

__all__ = [
    "LatentLEO", "LATENT_DIM", "ENCODER_WIDTH", "DECODER_INIT", "kl_standard_normal", "orthogonality_penalty",
]

LATENT_DIM = 16  # size of z; sinusoids have 2 degrees of freedom, lines 2, cubics 4
ENCODER_WIDTH = 32  # width of the encoder and of the relation network's hidden layer
DECODER_INIT = 0.1  # the decoder's slices start at this fraction of the model's init scale
LOGVAR_INIT = -4.0  # log σ² the encoder starts from (σ ≈ 0.14): sampling starts gentle
_INIT_SEED_OFFSET = 7919  # encoder/decoder weights come from their own generator, seeded from cfg.seed
_ENCODER_KEYS = ["enc.w", "enc.b", "rel.w0", "rel.b0", "rel.w1", "rel.b1", "latent.alpha"]
_META_PREFIXES = ("enc.", "rel.", "dec.", "latent.", "lr.")
LR_PREFIX = "lr."


def _decoded_names(theta0: Params) -> list[str]:
    """The MLP's last layer, or every parameter of a model that is not an MLP (the linear model)."""
    layers = [int(n[1:]) for n in theta0 if n[0] == "w" and n[1:].isdigit()]
    if layers and all(f"b{i}" in theta0 for i in layers):
        last = max(layers)
        return [f"w{last}", f"b{last}"]
    return list(theta0)


def _uniform(shape: tuple[int, ...], bound: float, g: torch.Generator) -> Tensor:
    return (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * bound


def kl_standard_normal(mean: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per task, summed over the last axis: ``[T, d] → [T]``."""
    return 0.5 * (mean ** 2 + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def orthogonality_penalty(weight: Tensor) -> Tensor:
    """mean_{jk} (C − I)²_{jk}, C_jk = ⟨w_j, w_k⟩ / (‖w_j‖‖w_k‖) over the rows of ``weight [d, P]``."""
    norms = weight.norm(dim=1, keepdim=True) + 1e-20
    corr = (weight @ weight.T) / (norms @ norms.T)
    eye = torch.eye(weight.shape[0], dtype=weight.dtype, device=weight.device)
    return ((corr - eye) ** 2).mean()


@dataclass(frozen=True)
class LatentLEO(MetaAlgorithm):
    latent_steps: int = 5  # latent steps before fine-tuning (Rusu et al. used 5)
    key: str = "leo-latent"
    title: str = N_("Latent Embedding Optimization (Rusu et al.; the literature's LEO)")
    citation: str = (
        N_("Rusu, Rao, Sygnowski, Vinyals, Pascanu, Osindero, Hadsell. Meta-Learning with Latent Embedding "
        "Optimization. ICLR 2019.")
    )
    summary: str = (
        N_("An encoder and a relation network turn the support set into a Gaussian over a low-dimensional latent "
        "code z (sampled in training, its mean at test), and a decoder turns z into the model's last-layer "
        "weights. Adaptation first takes gradient steps on z, z <- z - alpha_z * grad_z L_support(decode(z)), "
        "then fine-tunes the decoded weights with learned per-parameter rates. Encoder, decoder, shared layers "
        "and both step sizes are meta-learned through all of it, with a KL term, an encoder penalty and a "
        "decoder orthogonality penalty added to the query loss. Classification uses one code per class, decoded "
        "into that class's output weights. Unlike the paper, the decoder is deterministic and the encoder reads "
        "raw inputs, not pretrained features.")
    )
    stochastic: bool = True  # meta_step samples z with the trainer's generator

    # -- meta-parameters ----------------------------------------------------------------------------

    def init_meta_params(self, theta0: Params, cfg: TrainConfig) -> Params:
        family = get_family(cfg.family).configure(cfg)
        per_class = family.is_classification
        ref = next(iter(theta0.values()))
        decoded = _decoded_names(theta0)
        g = torch.Generator().manual_seed(cfg.seed + _INIT_SEED_OFFSET)
        in_dim, out_dim = self._io_dims(theta0, decoded)
        if per_class:  # the encoder reads x alone (raw pixels for images); the label says which class's code it feeds
            in_dim, out_dim = family.input_dim, 0
        h, d = ENCODER_WIDTH, LATENT_DIM
        new = {
            "enc.w": _uniform((in_dim + out_dim, h), (in_dim + out_dim) ** -0.5, g),
            "enc.b": _uniform((h,), (in_dim + out_dim) ** -0.5, g),
            "rel.w0": _uniform((2 * h, h), (2 * h) ** -0.5, g),
            "rel.b0": _uniform((h,), (2 * h) ** -0.5, g),
            "rel.w1": _uniform((h, 2 * d), h ** -0.5, g),
            "rel.b1": torch.cat([torch.zeros(d, dtype=torch.float64),
                                 torch.full((d,), LOGVAR_INIT, dtype=torch.float64)]),
            "latent.alpha": torch.full((d,), cfg.latent_lr, dtype=torch.float64),
        }
        for n in decoded:
            scale = theta0[n].abs().max().item() or 1.0  # the model's init bound (or 1 where it starts at 0)
            # Classification: one class's column (w[:, c], b[c]) per code z_c, shared by all classes.
            shape = theta0[n].shape[:-1] if per_class else theta0[n].shape
            new[f"dec.w.{n}"] = _uniform((d, *shape), DECODER_INIT * scale, g)
        new = {k: v.to(ref.device, ref.dtype) for k, v in new.items()}
        for n in decoded:
            new[f"dec.b.{n}"] = theta0[n].clone()
        shared = {n: v for n, v in theta0.items() if n not in decoded}
        rates = {LR_PREFIX + n: torch.full_like(theta0[n], cfg.alpha) for n in decoded}
        return {**shared, **new, **rates}

    @staticmethod
    def _io_dims(theta0: Params, decoded: list[str]) -> tuple[int, int]:
        if "w0" in theta0:
            return theta0["w0"].shape[0], theta0[decoded[0]].shape[-1]
        return 1, 1  # the linear model: scalar x and y

    @staticmethod
    def _decoded(meta_params: Params) -> list[str]:
        return [n[len("dec.b."):] for n in meta_params if n.startswith("dec.b.")]

    def initialization(self, meta_params: Params) -> Params:
        """Model parameters with the decoder's output at z = 0 (what a task sees before encoding)."""
        params = {n: v for n, v in meta_params.items() if not n.startswith(_META_PREFIXES)}
        params.update({n: meta_params[f"dec.b.{n}"] for n in self._decoded(meta_params)})
        return params

    def step_size(self, meta_params: Params, alpha: float) -> Params:
        """The learned fine-tuning rates of the decoded parameters, clipped to [0, α]; plain α for a
        checkpoint without learned rates."""
        names = self._decoded(meta_params)
        if not all(LR_PREFIX + n in meta_params for n in names):
            return {n: torch.tensor(alpha) for n in names}  # a checkpoint from before the rates were learned
        return {n: meta_params[LR_PREFIX + n].clamp(0.0, alpha) for n in names}

    def finetune_step(
        self, model: Model, loss: Loss, params: Params, rates: Params, x: Tensor, y: Tensor, create_graph: bool,
    ) -> Params:
        """One step θ ← θ − η ⊙ ∇θ L_support on the decoded parameters (the names in ``rates``); the
        shared layers stay as they are, as the paper's fixed feature extractor does."""
        names = list(rates)
        total = loss.total(model.forward(params, x), y)  # Σ_i: each task's slice gets its own gradient
        grads = torch.autograd.grad(total, [params[n] for n in names], create_graph=create_graph)
        return {**params, **{n: params[n] - rates[n] * g for n, g in zip(names, grads)}}

    # -- the pieces ---------------------------------------------------------------------------------

    def encode(
        self, meta_params: Params, x: Tensor, y: Tensor, ways: int | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """(μ, log σ²) from support sets ``x [T, N, in]``, ``y``: each ``[T, d]`` for regression
        (``y [T, N, out]``), ``[T, ways, d]`` for classification (``y [T, N]`` labels, ``ways`` given).

        log σ² is None for a checkpoint whose relation net outputs only μ (the deterministic version).
        """
        m = meta_params
        inputs = x if ways is not None else torch.cat([x, y.to(x.dtype)], dim=-1)
        e = torch.relu(inputs @ m["enc.w"] + m["enc.b"])  # [T, N, h]
        h = e.shape[-1]
        # relu([e_n, e_m] W₀ + b₀) = relu(e_n W₀[:h] + e_m W₀[h:] + b₀): all pairs by broadcasting.
        a = (e @ m["rel.w0"][:h]).unsqueeze(2)  # [T, N, 1, h]
        b = (e @ m["rel.w0"][h:]).unsqueeze(1)  # [T, 1, N, h]
        r = (torch.relu(a + b + m["rel.b0"]) @ m["rel.w1"] + m["rel.b1"]).mean(dim=2)  # [T, N, 2d] or [T, N, d]
        if ways is None:
            r = r.mean(dim=1)
        else:  # class c: its examples paired with every support example, averaged (the paper's encoder)
            onehot = torch.nn.functional.one_hot(y, ways).to(r.dtype)  # [T, N, ways]
            r = (onehot.transpose(1, 2) @ r) / onehot.sum(dim=1).clamp(min=1).unsqueeze(-1)
        d = m["latent.alpha"].shape[-1]
        if r.shape[-1] == d:
            return r, None
        return r[..., :d], r[..., d:]

    def decode(self, meta_params: Params, z: Tensor) -> Params:
        """Model parameters ``[T, ...]`` for latent codes ``z``: ``[T, d]`` (regression), or
        ``[T, C, d]`` (classification: class c's output column decoded from z_c by the shared decoder)."""
        n_tasks = z.shape[0]
        params = inner.expand(self.shared(meta_params), n_tasks)
        for n in self._decoded(meta_params):
            w = meta_params[f"dec.w.{n}"]
            flat = (z @ w.reshape(w.shape[0], -1))  # [T, d'] or [T, C, P]
            if z.dim() == 2:
                params[n] = meta_params[f"dec.b.{n}"] + flat.reshape(n_tasks, *w.shape[1:])
            else:
                n_classes = z.shape[1]
                cols = flat.reshape(n_tasks, n_classes, *w.shape[1:]).movedim(1, -1)  # [T, ..., C]
                params[n] = meta_params[f"dec.b.{n}"][..., :n_classes] + cols
        return params

    def shared(self, meta_params: Params) -> Params:
        decoded = set(self._decoded(meta_params))
        return {n: v for n, v in meta_params.items() if not n.startswith(_META_PREFIXES) and n not in decoded}

    def decoder_matrix(self, meta_params: Params) -> Tensor:
        """The decoder as one ``[d, P]`` matrix: row j is latent direction j in parameter space."""
        ws = [meta_params[f"dec.w.{n}"] for n in self._decoded(meta_params)]
        return torch.cat([w.reshape(w.shape[0], -1) for w in ws], dim=1)

    def latent_step(
        self, model: Model, loss: Loss, meta_params: Params, z: Tensor, x: Tensor, y: Tensor, create_graph: bool,
    ) -> Tensor:
        total = loss.total(model.forward(self.decode(meta_params, z), x), y)  # Σ_i: each z_i gets its own
        (grad,) = torch.autograd.grad(total, [z], create_graph=create_graph)
        return z - meta_params["latent.alpha"] * grad

    # -- the algorithm interface --------------------------------------------------------------------

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig,
        generator: torch.Generator | None = None, noise: Tensor | None = None,
    ) -> MetaStep:
        """One meta-gradient. z is sampled with ``generator`` (the trainer's), or with the given
        ``noise`` ε ``[T, d]`` (tests fix it); with neither, z = μ."""
        loss = LOSSES[family.loss]
        second_order = not cfg.first_order
        xs, ys = batch.x_support, batch.y_support
        mean, logvar = self.encode(meta_params, xs, ys, family.ways if family.is_classification else None)
        if noise is None and generator is not None:
            noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        z = mean if noise is None else mean + (0.5 * logvar).exp() * noise
        z_adapted = z
        if not z_adapted.requires_grad:  # nothing upstream needs a gradient (a frozen meta-parameter set)
            z_adapted = z_adapted.requires_grad_(True)
        for _ in range(self.latent_steps):
            # create_graph=True: the encoder, decoder and α_z learn through each latent step.
            z_adapted = self.latent_step(model, loss, meta_params, z_adapted, xs, ys, create_graph=second_order)
        theta = self.decode(meta_params, z_adapted)
        rates = self.step_size(meta_params, cfg.alpha)
        for _ in range(cfg.k):
            theta = self.finetune_step(model, loss, theta, rates, xs, ys, create_graph=second_order)
        x_out, y_out = outer_data(batch, cfg)
        task_loss = loss.mean(model.forward(theta, x_out), y_out)
        kl = kl_standard_normal(mean, logvar).mean()
        encoder_penalty = ((z_adapted.detach() - z) ** 2).sum(dim=-1).mean()
        ortho = orthogonality_penalty(self.decoder_matrix(meta_params))
        meta_loss = (task_loss + cfg.latent_kl * kl + cfg.latent_encoder_penalty * encoder_penalty
                     + cfg.latent_orthogonality * ortho)
        grads = meta_gradient(meta_loss, meta_params)
        with torch.no_grad():
            start = inner.detached(self.decode(meta_params, mean))
        pre_loss, pre_acc = query_metrics(model, family, start, batch)
        post_loss, post_acc = query_metrics(model, family, inner.detached(theta), batch)
        return MetaStep(grads, meta_loss.detach(), pre_loss, post_loss, pre_acc, post_acc)

    def adapt_path(
        self, model: Model, family: TaskFamily, meta_params: Params, x: Tensor, y: Tensor, alpha: float,
        steps: int,
    ) -> Iterator[Params]:
        """decode(μ), then up to ``latent_steps`` latent steps, then fine-tuning steps with the
        learned rates clipped to [0, ``alpha``]."""
        require_keys(meta_params, _ENCODER_KEYS, "latent-embedding LEO")
        single = x.dim() == 2
        if single:
            x, y = x.unsqueeze(0), y.unsqueeze(0)
        meta = {n: v.detach() for n, v in meta_params.items()}
        loss = LOSSES[family.loss]

        def out(params: Params) -> Params:
            return {n: v.detach()[0] if single else v.detach() for n, v in params.items()}

        with torch.no_grad():
            # The mean: no sampling at meta-test.
            z, _ = self.encode(meta, x, y, family.ways if family.is_classification else None)
            params = self.decode(meta, z)
        yield out(params)
        n_latent = min(self.latent_steps, steps)
        for _ in range(n_latent):
            z = z.detach().requires_grad_(True)
            with torch.enable_grad():
                z = self.latent_step(model, loss, meta, z, x, y, create_graph=False)
            with torch.no_grad():
                params = self.decode(meta, z.detach())
            yield out(params)
        rates = self.step_size(meta, alpha)
        for _ in range(steps - n_latent):
            params = {n: v.detach().requires_grad_(n in rates) for n, v in params.items()}
            with torch.enable_grad():
                params = self.finetune_step(model, loss, params, rates, x, y, create_graph=False)
            yield out(params)
