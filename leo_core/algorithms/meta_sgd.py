"""Meta-SGD (Li, Zhou, Chen, Li 2017): learn θ₀ and a step size for every parameter.

The inner step is  θ_{j+1} = θ_j − α ⊙ ∇L(θ_j)  with α a tensor shaped like each parameter.
θ₀ and α are meta-learned together through the k steps (second order, as in ``leo``), and α is
signed and unbounded, as in the paper: a negative entry is gradient ascent on that coordinate, which
the meta-objective may want for the k steps it was trained with. Meta-parameters are one flat dict:
the model's names ("w0", …) plus "alpha.w0", …. At test time ``adapt_path`` uses the learned α.

Initialisation (``cfg.meta_sgd_init``): "random" (the paper's): every step uniform in
[0.005, 0.1], drawn from a generator seeded with the run's seed, so the same seed gives the same
steps; "alpha": every step equals ``cfg.alpha`` (then Meta-SGD starts out as ``leo``).

Deviations from the paper and cautions:
- Li et al. adapt with exactly the one step they trained with. Repeating the learned steps for more
  steps than trained (k) is outside what they were learned for and can diverge (measured: trained
  with k = 1, about a third of the steps turn negative and 10 steps give NaN); ``evaluate`` then
  reports the first diverging step. The recommended settings train with the k that keeps 10-step
  adaptation finite (see ``leo_core/recommended.py``).
- ``max_step_factor`` (default None, off) clips each step to [0, c·α] with α the configured step,
  the behaviour of earlier versions of this project (Meta-SGD then learns how far to move, not the
  direction). Checkpoints from those versions load unchanged (same meta-parameter keys) but are now
  adapted with their stored steps unclipped; ``MetaSGD(max_step_factor=1.0)`` reproduces the old
  behaviour.
- One outer learning rate for θ₀ and the steps is the paper's (``cfg.meta_sgd_step_lr`` 1). With
  ``meta_sgd_step_lr`` s < 1 the steps are stored as α/s and used as s·(stored), a reparametrisation
  that under Adam (whose update does not depend on the gradient's scale) makes the steps learn s
  times slower than θ₀ (s² times under plain SGD). Adam's step β is large next to steps of ≈ 0.01:
  with s 1 and k 5 the steps grow until the inner loop diverges within a few hundred iterations;
  with s 0.1 the same run trains to the end and 10 steps stay finite (``leo_core/recommended.py``).
  The meta-parameters "alpha.*" hold the stored values; ``step_size`` gives the steps themselves.
- The paper's outer optimizer is Adam, as the default here; the paper's initial step range
  [0.005, 0.1] is kept whatever ``cfg.alpha`` is (``cfg.alpha`` only matters for "alpha" init).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import torch
from torch import Tensor

from ..i18n import N_
from ..config import TrainConfig
from ..models import Model, Params
from ..tasks import TaskFamily
from .base import require_keys
from .leo import LEO

__all__ = ["MetaSGD", "ALPHA_PREFIX", "RANDOM_STEP_RANGE", "init_steps"]

ALPHA_PREFIX = "alpha."
RANDOM_STEP_RANGE = (0.005, 0.1)  # Li et al. 2017, §4: α initialised uniformly at random in this range
_SEED_OFFSET = 2  # the trainer seeds θ₀ with seed and tasks with seed + 1; the steps get their own stream


def init_steps(theta0: Params, cfg: TrainConfig) -> Params:
    """The initial per-parameter steps: uniform in RANDOM_STEP_RANGE (seeded) or all ``cfg.alpha``."""
    if cfg.meta_sgd_init == "alpha":
        return {n: torch.full_like(v, cfg.alpha) for n, v in theta0.items()}
    gen = torch.Generator().manual_seed(cfg.seed + _SEED_OFFSET)  # on the CPU: same steps on every device
    low, high = RANDOM_STEP_RANGE
    return {
        n: (low + (high - low) * torch.rand(v.shape, generator=gen, dtype=v.dtype)).to(v.device)
        for n, v in theta0.items()
    }


@dataclass(frozen=True)
class MetaSGD(LEO):
    max_step_factor: float | None = None  # None: signed, unbounded steps (the paper); c: clip to [0, c·α]
    step_lr: float = 1.0  # cfg.meta_sgd_step_lr: the steps are stored as α/step_lr (see the module docstring)
    key: str = "meta-sgd"
    title: str = N_("Meta-SGD (learned per-parameter step sizes)")
    citation: str = N_("Li, Zhou, Chen, Li. Meta-SGD: Learning to Learn Quickly for Few-Shot Learning. arXiv:1707.09835, 2017.")
    summary: str = (
        N_("Like MAML, but the inner step uses a learned step size for every single parameter: "
        "theta_{j+1} = theta_j - alpha (elementwise) grad L_i(theta_j). Both theta0 and the vector alpha are "
        "meta-learned through the k steps, so the algorithm learns where to start and also in which direction "
        "and how far to move; as in the paper, alpha starts at random in [0.005, 0.1] and may turn negative. "
        "The steps are learned for k steps: adapting for many more steps at test time can diverge.")
    )

    def configure(self, cfg: TrainConfig) -> "MetaSGD":
        return replace(self, step_lr=cfg.meta_sgd_step_lr)

    def init_meta_params(self, theta0: Params, cfg: TrainConfig) -> Params:
        alphas = {ALPHA_PREFIX + n: v / self.step_lr for n, v in init_steps(theta0, cfg).items()}
        return {**theta0, **alphas}

    def initialization(self, meta_params: Params) -> Params:
        return {n: v for n, v in meta_params.items() if not n.startswith(ALPHA_PREFIX)}

    def step_size(self, meta_params: Params, alpha: float) -> Params:
        names = list(self.initialization(meta_params))
        require_keys(meta_params, [ALPHA_PREFIX + n for n in names], "Meta-SGD")
        steps = {n: meta_params[ALPHA_PREFIX + n] for n in names}
        if self.step_lr != 1.0:
            steps = {n: self.step_lr * a for n, a in steps.items()}
        if self.max_step_factor is None:
            return steps
        bound = self.max_step_factor * alpha
        return {n: a.clamp(0.0, bound) for n, a in steps.items()}

    def adapt_path(
        self, model: Model, family: TaskFamily, meta_params: Params, x: Tensor, y: Tensor, alpha: float,
        steps: int,
    ) -> Iterator[Params]:
        """As the base class, with the learned per-parameter α (``alpha`` is used only by the clipping box)."""
        return super().adapt_path(model, family, meta_params, x, y, alpha, steps)
