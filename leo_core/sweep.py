"""α × k sweeps: a grid of short meta-trainings, each scored by its post-adaptation query loss.

Every cell trains ``base`` with one (α, k) pair, the same seed and the same iteration budget, then
``evaluate`` measures the query loss after k steps with that α on the same seeded test tasks
(``SweepConfig.eval``), so cells differ only in α and k.

Why the cells run one after another rather than vectorised over configs: k sets the depth of the
differentiated inner loop, so cells with different k are different computation graphs; cells with
one k but different α could share a batched graph, but each cell also needs its own outer-optimizer
state, its own divergence detection (one diverging α must not stop its neighbours) and must equal
an individual training with the same seed (the tests check that exactly). The grid is capped at
``MAX_CELLS`` and each cell is short, so a sequential loop with a progress callback and a cost
estimate up front (``estimate_seconds``) keeps it predictable; on a CPU the tensors are tiny and a
batched version would save mostly Python overhead, not arithmetic.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from .config import EvalConfig, TrainConfig
from .evaluate import evaluate
from .losses import LOSSES
from .train import Trainer, TrainingDiverged, make_family

__all__ = ["MAX_CELLS", "SweepConfig", "SweepResult", "cell_config", "measure_its_per_sec", "estimate_seconds",
           "run_sweep",
           "parse_grid"]

MAX_CELLS = 36  # at most a 6 × 6 grid: a lecture waits seconds to a few minutes, not an hour
_PROBE_ITERATIONS = 5  # iterations timed to estimate the cost (after one warm-up iteration)

Progress = Callable[[int, int], None]  # (cells done, cells in all)


@dataclass(frozen=True)
class SweepConfig:
    base: TrainConfig  # family, algorithm, β, shots, meta-batch, seed … shared by every cell
    alphas: tuple[float, ...] = (0.003, 0.01, 0.03)
    ks: tuple[int, ...] = (1, 3, 5)
    iterations: int = 200  # meta-iterations per cell (short: the sweep shows trends, not final numbers)
    eval: EvalConfig = field(default_factory=lambda: EvalConfig(tasks=100, steps=1))  # steps: set per cell

    def __post_init__(self) -> None:
        if not self.alphas or not self.ks:
            raise ValueError("a sweep needs at least one α and one k")
        if any(not (isinstance(a, (int, float)) and math.isfinite(a) and a > 0) for a in self.alphas):
            raise ValueError(f"every α must be a finite number > 0, got {self.alphas!r}")
        if any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in self.ks):
            raise ValueError(f"every k must be an integer >= 1, got {self.ks!r}")
        if len(self.alphas) * len(self.ks) > MAX_CELLS:
            raise ValueError(f"the grid has {len(self.alphas) * len(self.ks)} cells; at most {MAX_CELLS} are allowed")
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(f"iterations must be an integer >= 1, got {self.iterations!r}")

    @property
    def cells(self) -> int:
        return len(self.alphas) * len(self.ks)


@dataclass(frozen=True)
class SweepResult:
    alphas: tuple[float, ...]
    ks: tuple[int, ...]
    loss: list[list[float]]  # [k index][α index] mean query loss after k steps; NaN where training diverged
    ci95: list[list[float]]
    accuracy: list[list[float]] | None  # classification only
    seconds: list[list[float]]  # training wall time per cell
    diverged: list[list[bool]]
    loss_name: str = "MSE"


def cell_config(sweep: SweepConfig, alpha: float, k: int) -> TrainConfig:
    """The training config of one cell: the base with this α, k and the sweep's iteration budget."""
    return replace(sweep.base, alpha=alpha, k=k, iterations=sweep.iterations)


def measure_its_per_sec(cfg: TrainConfig, iterations: int = _PROBE_ITERATIONS) -> float:
    """Meta-iterations per second of ``cfg`` on this machine now (one warm-up, then ``iterations`` timed)."""
    trainer = Trainer(replace(cfg, iterations=iterations + 1))
    try:
        trainer.step()
        t0 = time.perf_counter()
        for _ in range(iterations):
            trainer.step()
    except TrainingDiverged:
        pass  # a diverging probe still measured some steps; the cost estimate needs only the time
    dt = time.perf_counter() - t0 if "t0" in locals() else 0.0
    done = max(trainer.iteration - 1, 1)
    return done / dt if dt > 0 else float("inf")


def estimate_seconds(sweep: SweepConfig, its_per_sec: float) -> float:
    """Training seconds for the whole grid: iterations × cells / it/s (evaluation not included).

    Measure ``its_per_sec`` at the largest k (``measure_its_per_sec(cell_config(sweep, α, max k))``):
    cost grows with k, so the estimate is an upper bound for the other rows.
    """
    if not its_per_sec > 0:
        raise ValueError(f"its_per_sec must be > 0, got {its_per_sec!r}")
    return sweep.iterations * sweep.cells / its_per_sec


def _train_and_score(sweep: SweepConfig, alpha: float, k: int) -> tuple[float, float, float | None, float, bool]:
    cfg = cell_config(sweep, alpha, k)
    trainer = Trainer(cfg)
    t0 = time.perf_counter()
    try:
        for _ in trainer:
            pass
    except TrainingDiverged:
        return math.nan, math.nan, None, time.perf_counter() - t0, True
    seconds = time.perf_counter() - t0
    result = evaluate(trainer.model, trainer.family, trainer.algorithm, trainer.meta_params, alpha,
                      replace(sweep.eval, steps=k), trainer.device)
    acc = result.accuracy_by_step[-1] if result.accuracy_by_step else None
    loss = result.loss_by_step[-1]
    return loss, result.ci95_by_step[-1], acc, seconds, not math.isfinite(loss)


def run_sweep(sweep: SweepConfig, progress: Progress | None = None,
              should_stop: Callable[[], bool] | None = None) -> SweepResult:
    """Train and score every (α, k) cell, row by row (k) and column by column (α).

    ``progress(done, total)`` is called after each cell; ``should_stop()`` (if given) is checked
    before each cell, and cells not run are left NaN.
    """
    nk, na = len(sweep.ks), len(sweep.alphas)
    loss = [[math.nan] * na for _ in range(nk)]
    ci = [[math.nan] * na for _ in range(nk)]
    acc: list[list[float]] = [[math.nan] * na for _ in range(nk)]
    seconds = [[0.0] * na for _ in range(nk)]
    diverged = [[False] * na for _ in range(nk)]
    done = 0
    for i, k in enumerate(sweep.ks):
        for j, alpha in enumerate(sweep.alphas):
            if should_stop is not None and should_stop():
                break
            loss[i][j], ci[i][j], a, seconds[i][j], diverged[i][j] = _train_and_score(sweep, alpha, k)
            if a is not None:
                acc[i][j] = a
            done += 1
            if progress is not None:
                progress(done, sweep.cells)
    family = make_family(sweep.base)
    return SweepResult(tuple(sweep.alphas), tuple(sweep.ks), loss, ci, acc if family.is_classification else None,
                       seconds, diverged, loss_name=LOSSES[family.loss].display)


def parse_grid(text: str, kind: type) -> tuple:
    """Comma-separated grid values from a text field (``"0.01, 0.03"``) as a sorted tuple without repeats."""
    try:
        return tuple(sorted({kind(v.strip()) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise ValueError(f"could not read {text!r} as a comma-separated list of {kind.__name__} values") from None
