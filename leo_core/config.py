"""Frozen run configurations with validated, typed defaults.

Defaults follow Finn et al.'s sinusoid setup (α = 0.01, β = 0.001 with Adam, k = 1, 10 shots,
meta-batch 25, MLP 1-40-40-1 ReLU).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["TrainConfig", "EvalConfig", "OUTER_OPTIMIZERS", "OUTER_LOSSES", "IMAML_ADAPT", "BETA_SCHEDULES",
           "META_SGD_INITS", "MODEL_CHOICES"]

OUTER_OPTIMIZERS = ("adam", "sgd")
# "constant": β throughout. "linear": β annealed linearly to 0 over ``iterations`` (Reptile's ε, Nichol
# et al. 2018); resuming with more iterations stretches the remaining schedule over the new total.
BETA_SCHEDULES = ("constant", "linear")
# Meta-SGD's initial per-parameter steps: "random" uniform in [0.005, 0.1] seeded by the run's seed
# (Li et al. 2017), or "alpha" (all equal to α, so Meta-SGD starts out as LEO).
META_SGD_INITS = ("random", "alpha")
# "query": J_i is the loss on the task's query set (standard practice, the default).
# "support": the source document's literal variant, J_i on the data it adapted on.
OUTER_LOSSES = ("query", "support")
# iMAML at meta-test: "proximal" yields the iterates of the proximal solve it trains through;
# "sgd" takes plain gradient steps with α from θ₀, like the other algorithms.
IMAML_ADAPT = ("proximal", "sgd")
# The networks a run may name (which ones a family offers: TaskFamily.model).
MODEL_CHOICES = ("auto", "mlp", "conv4", "linear")


def _check_positive(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_nonnegative(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _check_int(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    family: str = "sinusoid"
    algorithm: str = "leo"
    alpha: float = 0.01  # inner step size; too large and k steps overshoot or diverge
    beta: float = 0.001  # outer (meta) step size
    k: int = 1  # inner steps during meta-training; cost and memory grow linearly with k
    shots: int = 10  # support examples per task (per class for classification)
    query: int = 10  # query examples per task used for the outer loss
    meta_batch: int = 25  # tasks per meta-iteration; more = smoother meta-gradient, slower step
    iterations: int = 10_000
    seed: int = 0
    first_order: bool = False  # drop the second-order term (cheaper, usually close)
    outer_loss: str = "query"
    outer_optimizer: str = "adam"
    # "linear" anneals β to 0 by the last iteration: a smaller final step averages out the meta-batch
    # noise (Reptile's plain-SGD ε needs it) but the run cannot usefully continue past ``iterations``.
    beta_schedule: str = "constant"
    # iMAML's proximal strength λ: large → φ stays near θ₀ (≈ first order). Recommended values per
    # family are in leo_core/recommended.py.
    imaml_lambda: float = 5.0
    cg_steps: int = 5  # iMAML's conjugate-gradient iterations for (I + H/λ)⁻¹v; one Hessian-vector product each
    # iMAML's inner solve stops per task at ‖∇G(φ)‖/‖∇G(θ₀)‖ ≤ imaml_tol, or after imaml_max_steps
    # safe gradient steps: a smaller tolerance makes the implicit gradient exact, at more steps each.
    imaml_tol: float = 0.05
    imaml_max_steps: int = 25
    imaml_adapt: str = "proximal"  # meta-test adaptation: see IMAML_ADAPT
    # Latent-embedding LEO (Rusu et al. 2019). The latent step's learned per-dimension size starts at
    # latent_lr: too small and the latent steps do nothing, too large and they overshoot.
    latent_lr: float = 0.1
    # Weights of the paper's three outer-loss terms: β·KL(q(z|D)‖N(0, I)) (larger: a smoother, less
    # informative latent space), γ·‖stopgrad(z') − z‖² (pulls the encoder's z towards the adapted z'),
    # λ·‖C_d − I‖² (keeps the decoder's latent directions uncorrelated). 0 switches a term off.
    latent_kl: float = 0.001
    latent_encoder_penalty: float = 0.001
    latent_orthogonality: float = 0.01
    # Meta-SGD's step initialisation: "random" (the paper's, larger steps, learns faster) or "alpha" (starts as LEO).
    meta_sgd_init: str = "random"
    # Meta-SGD stores each step as α/s with s = meta_sgd_step_lr: under Adam (scale-free) the steps then
    # learn s times slower than θ₀ (an s² factor under plain SGD). 1.0 is the paper's single learning rate.
    meta_sgd_step_lr: float = 1.0
    hidden: tuple[int, ...] = (40, 40)  # hidden widths of the MLP (ignored by the linear model and the conv net)
    # The network: "auto" is the family's own (an MLP; the linear model; Omniglot's conv net), or a named
    # one the family offers (Omniglot: "conv4" or "mlp", see TaskFamily.model).
    model: str = "auto"
    device: str = "auto"
    dtype: str = "float32"
    ways: int = 5  # classes per task (N) for classification families; regression ignores it
    cuda_graph: bool = False  # CUDA only: replay one meta-iteration as a captured graph (leo_core/cuda_graph.py)

    def __post_init__(self) -> None:
        _check_positive("alpha", self.alpha)
        _check_positive("beta", self.beta)
        _check_int("k", self.k, 0)
        _check_int("shots", self.shots, 1)
        _check_int("query", self.query, 1)
        _check_int("meta_batch", self.meta_batch, 1)
        _check_int("iterations", self.iterations, 0)
        _check_int("seed", self.seed, 0)
        _check_positive("imaml_lambda", self.imaml_lambda)
        _check_int("cg_steps", self.cg_steps, 1)
        _check_positive("imaml_tol", self.imaml_tol)
        _check_int("imaml_max_steps", self.imaml_max_steps, 1)
        if self.imaml_adapt not in IMAML_ADAPT:
            raise ValueError(f"imaml_adapt must be one of {IMAML_ADAPT}, got {self.imaml_adapt!r}")
        _check_positive("latent_lr", self.latent_lr)
        for name in ("latent_kl", "latent_encoder_penalty", "latent_orthogonality"):
            _check_nonnegative(name, getattr(self, name))
        _check_int("ways", self.ways, 2)
        if not isinstance(self.cuda_graph, bool):
            raise ValueError(f"cuda_graph must be true or false, got {self.cuda_graph!r}")
        if self.outer_loss not in OUTER_LOSSES:
            raise ValueError(f"outer_loss must be one of {OUTER_LOSSES}, got {self.outer_loss!r}")
        if self.outer_optimizer not in OUTER_OPTIMIZERS:
            raise ValueError(f"outer_optimizer must be one of {OUTER_OPTIMIZERS}, got {self.outer_optimizer!r}")
        if self.beta_schedule not in BETA_SCHEDULES:
            raise ValueError(f"beta_schedule must be one of {BETA_SCHEDULES}, got {self.beta_schedule!r}")
        _check_positive("meta_sgd_step_lr", self.meta_sgd_step_lr)
        if self.meta_sgd_init not in META_SGD_INITS:
            raise ValueError(f"meta_sgd_init must be one of {META_SGD_INITS}, got {self.meta_sgd_init!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if self.model not in MODEL_CHOICES:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(MODEL_CHOICES)}")
        if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
            raise ValueError(f"hidden must be positive layer widths, got {self.hidden!r}")
        # The family and algorithm names are checked against their registries by ``settings.checked``
        # (the registries import this module, so this module does not import them).

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(sorted(unknown))}")
        d = dict(d)
        if "hidden" in d:
            d["hidden"] = tuple(d["hidden"])
        return cls(**d)


@dataclass(frozen=True)
class EvalConfig:
    tasks: int = 600  # fresh test tasks
    shots: int = 10
    query: int = 100  # query points per regression task (per class for classification)
    steps: int = 10  # evaluate after 0, 1, …, steps inner steps
    alpha: float | None = None  # None: the α the checkpoint was trained with
    seed: int = 12345  # kept apart from training seeds so test tasks are fresh
    chunk: int = 200  # tasks per batched computation (bounds memory)
    split: str = "test"  # meta-test tasks; "train" measures on meta-training classes (the gap)

    def __post_init__(self) -> None:
        _check_int("tasks", self.tasks, 1)
        _check_int("shots", self.shots, 1)
        _check_int("query", self.query, 1)
        _check_int("steps", self.steps, 0)
        _check_int("seed", self.seed, 0)
        _check_int("chunk", self.chunk, 1)
        if self.split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {self.split!r}")
        if self.alpha is not None:
            _check_positive("alpha", self.alpha)
