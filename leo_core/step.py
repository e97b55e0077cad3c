"""The meta-training step, plain: what one meta-iteration does, in the fewest lines.

    batch = family.sample(...)                                   # a meta-batch of new tasks
    result = algorithm.meta_step(model, family, params, batch, cfg)  # adapt each, differentiate through it
    params.grad = result.grads; optimizer.step()                 # move θ₀ downhill on J

For MAML/LEO, ``meta_step`` is ``leo_core.algorithms.leo``: k inner steps θ ← θ − α∇L(θ) per task
(``leo_core.inner``, batched over tasks with ``torch.func``), the query loss after them, and its gradient
with respect to θ₀ through the steps. ``Trainer`` (``leo_core.train``) runs this same step with named
accelerations around it, each checked against this plain form:

- ``leo_core.flat_params``: one flat leaf for every meta-parameter and torch's fused Adam kernel;
- ``leo_core.analytic``: for the MLP, the meta-gradient in closed form instead of autograd's graph
  (``meta_step`` chooses it; same numbers);
- ``leo_core.cuda_graph``: on a GPU, the step captured once and replayed (``--cuda-graph``);
- divergence rollback, the β schedule, timing, and θ₀'s path for two-parameter models (Landscape).

tests/test_train.py trains with ``plain_step`` and with ``Trainer`` from the same seed and compares θ₀.
"""

from __future__ import annotations

import torch

from .algorithms import MetaAlgorithm
from .algorithms.base import MetaStep
from .config import TrainConfig
from .models import Model, Params
from .tasks import TaskFamily

__all__ = ["plain_step"]


def plain_step(model: Model, family: TaskFamily, algorithm: MetaAlgorithm, params: Params,
               optimizer: torch.optim.Optimizer, cfg: TrainConfig, generator: torch.Generator,
               dtype: torch.dtype = torch.float32) -> MetaStep:
    """One meta-iteration on ``params`` (leaf tensors the ``optimizer`` updates); returns its ``MetaStep``."""
    device = next(iter(params.values())).device
    batch = family.sample(cfg.meta_batch, cfg.shots, cfg.query, generator, device, dtype)
    extra = {"generator": generator} if algorithm.stochastic else {}
    result = algorithm.meta_step(model, family, params, batch, cfg, **extra)
    for name, p in params.items():
        p.grad = result.grads[name]
    optimizer.step()
    return result
