"""Meta-test: adapt from a learned initialization on fresh seeded tasks, measure query loss."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch

from .algorithms import MetaAlgorithm
from .config import EvalConfig
from .i18n import _
from .losses import LOSSES, accuracy
from .models import Model, Params
from .tasks import TaskFamily

__all__ = ["EvalResult", "evaluate", "mean_ci95", "OneShotRunsResult", "evaluate_one_shot_runs"]

_Z95 = 1.959963984540054


@dataclass(frozen=True)
class EvalResult:
    loss_by_step: list[float]  # mean query loss after 0, 1, …, steps inner steps
    ci95_by_step: list[float]  # half-width of the normal 95% interval of that mean
    accuracy_by_step: list[float] | None = None
    accuracy_ci95_by_step: list[float] | None = None
    tasks: int = 0
    shots: int = 0
    steps: int = 0
    alpha: float = 0.0
    seed: int = 0
    # The first step whose mean query loss is NaN/inf (the adaptation overshot and blew up);
    # None when every step is finite. Later steps are not finite either, or meaningless.
    first_nonfinite_step: int | None = None

    @property
    def finite(self) -> bool:
        return self.first_nonfinite_step is None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None}


def mean_ci95(values: torch.Tensor) -> tuple[float, float]:
    """Mean and half-width of its 95% normal interval for per-task values ``[n]``."""
    values = values.double()
    n = values.numel()
    std = values.std(unbiased=True).item() if n > 1 else 0.0
    return values.mean().item(), _Z95 * std / math.sqrt(n)


def _check_outputs(model: Model, algorithm: MetaAlgorithm, meta_params: Params, x: torch.Tensor, ways: int) -> None:
    """A model with fewer outputs than the task's classes cannot be scored: say so, clearly."""
    with torch.no_grad():
        outputs = model.forward(algorithm.initialization(meta_params), x[0, :1]).shape[-1]
    if outputs < ways:
        raise ValueError(_("the model has {outputs} outputs, too few for {ways}-way tasks").format(
            outputs=outputs, ways=ways))


def evaluate(
    model: Model, family: TaskFamily, algorithm: MetaAlgorithm, meta_params: Params, alpha: float,
    cfg: EvalConfig, device: torch.device | str = "cpu",
) -> EvalResult:
    """Per-task query loss (and accuracy) after 0…``cfg.steps`` steps on ``cfg.tasks`` fresh tasks.

    Tasks come from their own generator seeded with ``cfg.seed``, so two checkpoints evaluated with
    the same seed see the same tasks; they are drawn from ``cfg.split`` (meta-test classes by
    default). ``family`` must be configured as trained (``train.make_family``): its ``ways`` sets
    the labels the model's outputs are scored against. Work is batched in chunks of ``cfg.chunk``.
    """
    device = torch.device(device)
    dtype = next(iter(meta_params.values())).dtype
    meta_params = {k: v.to(device) for k, v in meta_params.items()}
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    loss = LOSSES[family.loss]
    losses: list[list[torch.Tensor]] = [[] for _ in range(cfg.steps + 1)]
    accs: list[list[torch.Tensor]] = [[] for _ in range(cfg.steps + 1)]
    chunk = min(cfg.chunk, family.eval_chunk)
    for start in range(0, cfg.tasks, chunk):
        n = min(chunk, cfg.tasks - start)
        batch = family.sample(n, cfg.shots, cfg.query, gen, device, dtype, split=cfg.split)
        if start == 0 and family.is_classification:
            _check_outputs(model, algorithm, meta_params, batch.x_support, family.ways)
        path = algorithm.adapt_path(model, family, meta_params, batch.x_support, batch.y_support, alpha, cfg.steps)
        for step, params in enumerate(path):
            with torch.no_grad():
                out = model.forward(params, batch.x_query)
                losses[step].append(loss.per_task(out, batch.y_query).cpu())
                if family.is_classification:
                    accs[step].append(accuracy(out, batch.y_query).cpu())
    loss_stats = [mean_ci95(torch.cat(v)) for v in losses]
    bad = [step for step, (m, _) in enumerate(loss_stats) if not math.isfinite(m)]
    acc_stats = [mean_ci95(torch.cat(v)) for v in accs] if family.is_classification else None
    return EvalResult(
        loss_by_step=[m for m, _ in loss_stats],
        ci95_by_step=[c for _, c in loss_stats],
        accuracy_by_step=[m for m, _ in acc_stats] if acc_stats else None,
        accuracy_ci95_by_step=[c for _, c in acc_stats] if acc_stats else None,
        tasks=cfg.tasks, shots=cfg.shots, steps=cfg.steps, alpha=alpha, seed=cfg.seed,
        first_nonfinite_step=bad[0] if bad else None,
    )


@dataclass(frozen=True)
class OneShotRunsResult:
    """Lake et al.'s 20 one-shot runs: the error rate (fraction of test items misclassified) after each
    adaptation step, over all 400 items, and per run after the last step."""

    error_rate: float  # after ``steps`` steps: the figure Lake et al. report (humans: 4.5%)
    error_rate_by_step: list[float]
    runs: list[dict[str, Any]]
    steps: int
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_one_shot_runs(
    model: Model, algorithm: MetaAlgorithm, meta_params: Params, alpha: float, steps: int,
    device: torch.device | str = "cpu",
) -> OneShotRunsResult:
    """Adapt on each run's 20 training images (one per class) and classify its 20 test items."""
    from .tasks.omniglot import OMNIGLOT, one_shot_runs  # only Omniglot checkpoints get here

    device = torch.device(device)
    dtype = next(iter(meta_params.values())).dtype
    meta_params = {k: v.to(device) for k, v in meta_params.items()}
    runs = one_shot_runs(device, dtype)
    _check_outputs(model, algorithm, meta_params, runs.x_support, 20)
    family = replace(OMNIGLOT, ways=20)
    errors = []
    for params in algorithm.adapt_path(model, family, meta_params, runs.x_support, runs.y_support, alpha, steps):
        with torch.no_grad():
            errors.append(1.0 - accuracy(model.forward(params, runs.x_query), runs.y_query).cpu())
    last = errors[-1]
    return OneShotRunsResult(
        error_rate=float(last.mean()), error_rate_by_step=[float(e.mean()) for e in errors],
        runs=[{"run": i + 1, "error_rate": float(e)} for i, e in enumerate(last)], steps=steps, alpha=alpha,
    )

