"""Latent Embedding Optimization (Rusu et al., ICLR 2019), small and deterministic.

An encoder and a relation network map a task's support set to a latent code z; a linear decoder
turns z into the task model's *decoded* parameters; adaptation first takes steps on z (in the
low-dimensional latent space), then fine-tunes the decoded model in parameter space.

- Decoded parameters: for an MLP, the last layer (``w{L-1}``, ``b{L-1}``); the hidden layers are
  shared meta-parameters learned directly, as θ₀ is in ``leo``. For the two-parameter linear
  model every parameter is decoded. decode(z) = b + Σ_d z_d W_d, stored per decoded name as
  "dec.b.<name>" (the decoded value at z = 0, initialised to the model's own init) and
  "dec.w.<name>" (one slice per latent dimension).
- Encoder: e_n = relu([x_n, y_n] W_e + b_e) for each support pair; relation network over all
  pairs (n, m): r_nm = relu([e_n, e_m] W_0 + b_0) W_1 + b_1; z₀ = mean_{n,m} r_nm.
- Adaptation, ``latent_steps`` steps  z ← z − α_z ⊙ ∇_z L_support(decode(z))  with a learned
  per-dimension step α_z ("latent.alpha", initialised to cfg.alpha), then plain SGD steps with α
  on all model parameters. Meta-training differentiates through both phases (second order unless
  ``cfg.first_order``), taking ``latent_steps`` latent steps then cfg.k fine-tuning steps. At
  meta-test, ``adapt_path`` step j ≤ ``latent_steps`` is a latent step and later steps fine-tune,
  so "after 0 steps" already uses the support set (through the encoder).

Simplifications against the paper: z and the decoded weights are deterministic (the paper samples
both from Gaussians and adds a KL term and an encoder–decoder orthogonality penalty); encoder
inputs are raw (x, y) pairs, not features of a pretrained network; the relation network averages
over all pairs of support points since regression has no classes; no dropout or weight decay.
Regression families only: a classification family raises a ``ValueError`` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from .. import inner
from ..config import TrainConfig
from ..losses import LOSSES, Loss
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily, get_family
from .base import MetaAlgorithm, MetaStep, meta_gradient, outer_data, query_metrics, require_keys

__all__ = ["LatentLEO", "LATENT_DIM", "ENCODER_WIDTH"]

LATENT_DIM = 16  # size of z; sinusoids have 2 degrees of freedom, lines 2, cubics 4
ENCODER_WIDTH = 32  # width of the encoder and of the relation network's hidden layer
_INIT_SEED_OFFSET = 7919  # encoder/decoder weights come from their own generator, seeded from cfg.seed
_ENCODER_KEYS = ["enc.w", "enc.b", "rel.w0", "rel.b0", "rel.w1", "rel.b1", "latent.alpha"]
_META_PREFIXES = ("enc.", "rel.", "dec.", "latent.")


def _check_family(family: TaskFamily) -> None:
    if family.is_classification:
        raise ValueError(
            f"latent-embedding LEO ('leo-latent') supports regression families only; {family.name!r} is a "
            "classification family"
        )


def _decoded_names(theta0: Params) -> list[str]:
    """The MLP's last layer, or every parameter of a model that is not an MLP (the linear model)."""
    layers = [int(n[1:]) for n in theta0 if n[0] == "w" and n[1:].isdigit()]
    if layers and all(f"b{i}" in theta0 for i in layers):
        last = max(layers)
        return [f"w{last}", f"b{last}"]
    return list(theta0)


def _uniform(shape: tuple[int, ...], bound: float, g: torch.Generator) -> Tensor:
    return (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * bound


@dataclass(frozen=True)
class LatentLEO(MetaAlgorithm):
    latent_steps: int = 5  # latent steps before fine-tuning (Rusu et al. used 5)
    key: str = "leo-latent"
    title: str = "Latent Embedding Optimization (Rusu et al.; the literature's LEO)"
    citation: str = (
        "Rusu, Rao, Sygnowski, Vinyals, Pascanu, Osindero, Hadsell. Meta-Learning with Latent Embedding "
        "Optimization. ICLR 2019."
    )
    summary: str = (
        "An encoder and a relation network turn the support set into a low-dimensional latent code z, and a "
        "decoder turns z into the model's last-layer weights. Adaptation first takes gradient steps on z, "
        "z <- z - alpha_z * grad_z L_support(decode(z)), then fine-tunes the decoded weights directly. "
        "Encoder, decoder, shared layers and alpha_z are meta-learned through all of it. This app's version "
        "is deterministic and small (no sampling, no KL term)."
    )

    # -- meta-parameters ----------------------------------------------------------------------------

    def init_meta_params(self, theta0: Params, cfg: TrainConfig) -> Params:
        _check_family(get_family(cfg.family))
        ref = next(iter(theta0.values()))
        decoded = _decoded_names(theta0)
        g = torch.Generator().manual_seed(cfg.seed + _INIT_SEED_OFFSET)
        in_dim, out_dim = self._io_dims(theta0, decoded)
        h, d = ENCODER_WIDTH, LATENT_DIM
        new = {
            "enc.w": _uniform((in_dim + out_dim, h), (in_dim + out_dim) ** -0.5, g),
            "enc.b": _uniform((h,), (in_dim + out_dim) ** -0.5, g),
            "rel.w0": _uniform((2 * h, h), (2 * h) ** -0.5, g),
            "rel.b0": _uniform((h,), (2 * h) ** -0.5, g),
            "rel.w1": _uniform((h, d), h ** -0.5, g),
            "rel.b1": torch.zeros(d, dtype=torch.float64),
            "latent.alpha": torch.full((d,), cfg.alpha, dtype=torch.float64),
        }
        for n in decoded:
            new[f"dec.w.{n}"] = _uniform((d, *theta0[n].shape), d ** -0.5, g)
        new = {k: v.to(ref.device, ref.dtype) for k, v in new.items()}
        for n in decoded:
            new[f"dec.b.{n}"] = theta0[n].clone()
        shared = {n: v for n, v in theta0.items() if n not in decoded}
        return {**shared, **new}

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

    # -- the pieces ---------------------------------------------------------------------------------

    def encode(self, meta_params: Params, x: Tensor, y: Tensor) -> Tensor:
        """z₀ ``[T, d]`` from support sets ``x [T, N, in]``, ``y [T, N, out]``."""
        m = meta_params
        e = torch.relu(torch.cat([x, y.to(x.dtype)], dim=-1) @ m["enc.w"] + m["enc.b"])  # [T, N, h]
        h = e.shape[-1]
        # relu([e_n, e_m] W₀ + b₀) = relu(e_n W₀[:h] + e_m W₀[h:] + b₀): all pairs by broadcasting.
        a = (e @ m["rel.w0"][:h]).unsqueeze(2)  # [T, N, 1, h]
        b = (e @ m["rel.w0"][h:]).unsqueeze(1)  # [T, 1, N, h]
        r = torch.relu(a + b + m["rel.b0"]) @ m["rel.w1"] + m["rel.b1"]  # [T, N, N, d]
        return r.mean(dim=(1, 2))

    def decode(self, meta_params: Params, z: Tensor) -> Params:
        """Model parameters ``[T, ...]`` for latent codes ``z [T, d]``."""
        n_tasks = z.shape[0]
        params = inner.expand(
            {n: v for n, v in meta_params.items() if not n.startswith(_META_PREFIXES)}, n_tasks
        )
        for n in self._decoded(meta_params):
            w = meta_params[f"dec.w.{n}"]
            params[n] = meta_params[f"dec.b.{n}"] + (z @ w.reshape(w.shape[0], -1)).reshape(n_tasks, *w.shape[1:])
        return params

    def latent_step(
        self, model: Model, loss: Loss, meta_params: Params, z: Tensor, x: Tensor, y: Tensor, create_graph: bool,
    ) -> Tensor:
        total = loss.total(model.forward(self.decode(meta_params, z), x), y)  # Σ_i: each z_i gets its own
        (grad,) = torch.autograd.grad(total, [z], create_graph=create_graph)
        return z - meta_params["latent.alpha"] * grad

    # -- the algorithm interface --------------------------------------------------------------------

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        _check_family(family)
        loss = LOSSES[family.loss]
        second_order = not cfg.first_order
        xs, ys = batch.x_support, batch.y_support
        z0 = self.encode(meta_params, xs, ys)
        z = z0
        for _ in range(self.latent_steps):
            # create_graph=True: the encoder, decoder and α_z learn through each latent step.
            z = self.latent_step(model, loss, meta_params, z, xs, ys, create_graph=second_order)
        theta = inner.adapt(model, loss, self.decode(meta_params, z), xs, ys, cfg.alpha, cfg.k,
                            create_graph=second_order)
        x_out, y_out = outer_data(batch, cfg)
        meta_loss = loss.mean(model.forward(theta, x_out), y_out)
        grads = meta_gradient(meta_loss, meta_params)
        with torch.no_grad():
            start = inner.detached(self.decode(meta_params, z0))
        pre_loss, pre_acc = query_metrics(model, family, start, batch)
        post_loss, post_acc = query_metrics(model, family, inner.detached(theta), batch)
        return MetaStep(grads, meta_loss.detach(), pre_loss, post_loss, pre_acc, post_acc)

    def adapt_path(
        self, model: Model, family: TaskFamily, meta_params: Params, x: Tensor, y: Tensor, alpha: float,
        steps: int,
    ) -> Iterator[Params]:
        """decode(z₀), then up to ``latent_steps`` latent steps, then fine-tuning steps with α."""
        _check_family(family)
        require_keys(meta_params, _ENCODER_KEYS, "latent-embedding LEO")
        single = x.dim() == 2
        if single:
            x, y = x.unsqueeze(0), y.unsqueeze(0)
        meta = {n: v.detach() for n, v in meta_params.items()}
        loss = LOSSES[family.loss]

        def out(params: Params) -> Params:
            return {n: v.detach()[0] if single else v.detach() for n, v in params.items()}

        with torch.no_grad():
            z = self.encode(meta, x, y)
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
        rest = inner.adapt_path(model, loss, params, x, y, alpha, steps - n_latent)
        next(rest)  # the same parameters as the last latent step
        for p in rest:
            yield out(p)
