"""The source document's algorithm ("LEO"; in the literature: MAML, Finn et al. 2017).

J(θ₀) = (1/n) Σᵢ Lᵢ(θₖⁱ),  θⱼ₊₁ⁱ = θⱼⁱ − α∇Lᵢ(θⱼⁱ),  θ₀ ← θ₀ − β∇J(θ₀)  (or Adam with step β).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import N_
from .. import analytic, inner
from ..config import TrainConfig
from ..losses import LOSSES, Loss, accuracy
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily
from .base import MetaAlgorithm, MetaStep, meta_gradient, outer_data, query_metrics

__all__ = ["LEO"]


@dataclass(frozen=True)
class LEO(MetaAlgorithm):
    first_order: bool = False  # True: the first-order approximation, whatever the config says
    key: str = "leo"
    title: str = N_("LEO (the document's algorithm = MAML, second order)")
    citation: str = N_("Finn, Abbeel, Levine. Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks. ICML 2017.")
    summary: str = (
        N_("Learns one initialization theta0. Each task takes k gradient steps theta_{j+1} = theta_j - alpha * grad L_i "
        "on its support set; the meta-objective is the mean query loss after those steps, J = mean_i L_i(theta_k). "
        "theta0 moves down grad J, differentiating through the k steps, so J's gradient contains the Hessian "
        "products prod_j (I - alpha * H_j): second order, memory growing with k.")
    )

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        loss = LOSSES[family.loss]
        first_order = self.first_order or cfg.first_order
        if analytic.applicable(model, loss):
            return self._analytic_meta_step(model, family, loss, meta_params, batch, cfg, first_order)
        theta = inner.expand(self.initialization(meta_params), batch.n_tasks)
        # create_graph=True keeps each inner gradient differentiable, so ∇J includes the
        # Hessian terms Π(I − α∇²Lᵢ) — the second-order meta-gradient.
        theta_k = inner.adapt(
            model, loss, theta, batch.x_support, batch.y_support,
            self.step_size(meta_params, cfg.alpha), cfg.k, create_graph=not first_order,
        )
        x_out, y_out = outer_data(batch, cfg)
        out = model.forward(theta_k, x_out)
        meta_loss = loss.mean(out, y_out)
        grads = meta_gradient(meta_loss, meta_params)
        pre_loss, pre_acc = query_metrics(model, family, self.initialization(meta_params), batch)
        if cfg.outer_loss == "query" and not family.is_classification:
            post_loss, post_acc = meta_loss.detach(), None  # already computed on the query set
        else:
            post_loss, post_acc = query_metrics(model, family, inner.detached(theta_k), batch)
        return MetaStep(grads, meta_loss.detach(), pre_loss, post_loss, pre_acc, post_acc)

    def _analytic_meta_step(
        self, model: Model, family: TaskFamily, loss: Loss, meta_params: Params, batch: TaskBatch,
        cfg: TrainConfig, first_order: bool,
    ) -> MetaStep:
        """The same meta-step with the MLP's meta-gradient in closed form (``analytic.py``)."""
        x_out, y_out = outer_data(batch, cfg)
        theta0 = self.initialization(meta_params)
        steps = self.step_size(meta_params, cfg.alpha)
        result = analytic.meta_gradient(
            model, loss, theta0, batch.x_support, batch.y_support, x_out, y_out,  # type: ignore[arg-type]
            steps, cfg.k, first_order,
        )
        grads = dict(result.grads)
        if result.step_grads is not None:  # learned steps: on through step_size by autograd (a few elementwise ops)
            surrogate = sum((steps[n] * g).sum() for n, g in result.step_grads.items())  # ∂/∂ = ∂J/∂steps · ∂steps/∂
            grads.update(meta_gradient(surrogate, {n: v for n, v in meta_params.items() if n not in grads}))
        pre_loss, pre_acc = query_metrics(model, family, inner.detached(theta0), batch)
        if cfg.outer_loss == "query":
            post_loss = result.meta_loss
            post_acc = accuracy(result.outer_output, y_out).mean() if family.is_classification else None
        else:
            post_loss, post_acc = query_metrics(model, family, result.adapted(), batch)
        return MetaStep({n: grads[n] for n in meta_params}, result.meta_loss, pre_loss, post_loss, pre_acc, post_acc)
