"""Runs side by side: trained initializations and baselines on the same seeded test tasks.

A ``ComparedRun`` is everything needed to meta-test one run (config, model, meta-parameters on the
CPU, training time). It comes from the app's current run, from a checkpoint, or from a quick
baseline training with another run's settings. ``steps_curve`` and ``shots_curve`` evaluate it with
``evaluate.evaluate`` and one ``EvalConfig`` seed, so every run sees the same tasks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Sequence

from ..algorithms import MetaAlgorithm, get_algorithm
from ..checkpoint import Checkpoint
from ..config import EvalConfig, TrainConfig
from ..recommended import PROBLEM_FIELDS, recommended_config
from ..evaluate import EvalResult, evaluate
from ..i18n import N_, _
from ..models import Model, Params
from ..tasks import TaskFamily
from ..train import make_family, train_to_end

__all__ = ["ComparedRun", "BASELINES", "from_snapshot", "from_checkpoint", "train_run", "steps_curve", "shots_curve",
           "final_table", "check_comparable", "add_bounded", "MAX_RUNS", "run_label"]

BASELINES = ("pretrained", "random")
MAX_RUNS = 6  # runs kept for comparison in one session (each holds a copy of its meta-parameters)


@dataclass(frozen=True)
class ComparedRun:
    key: str  # unique within a session (a cache key for its evaluations)
    label: str  # shown in legends and the table
    config: TrainConfig
    model: Model
    meta_params: Params  # detached CPU tensors
    iterations: int
    train_seconds: float

    @property
    def algorithm(self) -> MetaAlgorithm:
        return get_algorithm(self.config.algorithm, self.config)

    @property
    def family(self) -> TaskFamily:
        return make_family(self.config)


def run_label(cfg: TrainConfig, iterations: int, source: str) -> str:
    """A run's name in legends and tables (``source``: where it came from, already in the reader's language)."""
    return _("{algorithm} · α={alpha} k={k} · {iterations} it ({source})").format(
        algorithm=cfg.algorithm, alpha=f"{cfg.alpha:g}", k=cfg.k, iterations=f"{iterations:,}", source=source)


def _cpu(params: Params) -> Params:
    return {n: v.detach().to("cpu", copy=True) for n, v in params.items()}


def from_snapshot(snapshot: Any, key: str) -> ComparedRun:
    """A run from the app's ``RunSnapshot`` (needs a config and finite meta-parameters)."""
    if snapshot is None or snapshot.config is None or snapshot.meta_params is None or snapshot.model is None:
        raise ValueError(_("there is no trained run yet: train one on the Train page first"))
    cfg = snapshot.config
    return ComparedRun(key, run_label(cfg, snapshot.iteration, _("this session")), cfg, snapshot.model,
                       _cpu(snapshot.meta_params), snapshot.iteration, float(snapshot.elapsed))


def from_checkpoint(ckpt: Checkpoint, key: str, name: str = "checkpoint") -> ComparedRun:
    """A run from a loaded (already validated) checkpoint."""
    cfg = ckpt.config
    return ComparedRun(key, run_label(cfg, ckpt.iteration, name), cfg, ckpt.model, _cpu(ckpt.meta_params),
                       ckpt.iteration, float(ckpt.state.get("elapsed", 0.0)))


def baseline_config(base: TrainConfig, kind: str, iterations: int) -> TrainConfig:
    """A baseline for ``base``'s problem (family, model, data sizes, seed, device) at the baseline's own
    recommended settings: a fair baseline adapts with the step that suits it (Chen et al.'s pretrained
    head wants a far smaller α than a meta-learned θ₀)."""
    problem = {name: getattr(base, name) for name in PROBLEM_FIELDS - {"family", "algorithm"}}
    return recommended_config(base.family, kind, **problem, iterations=0 if kind == "random" else int(iterations))


def train_run(cfg: TrainConfig, key: str, source: str = N_("baseline")) -> ComparedRun:
    """Train ``cfg`` to the end in this thread (a short baseline) and wrap the result.

    ``random`` needs no iterations (its meta-gradient is zero), so it is built with none.
    """
    if cfg.algorithm == "random":
        cfg = replace(cfg, iterations=0)
    t0 = time.perf_counter()
    trainer = train_to_end(cfg)
    seconds = time.perf_counter() - t0
    return ComparedRun(key, run_label(cfg, trainer.iteration, _(source)), cfg, trainer.model,
                       _cpu(trainer.meta_params), trainer.iteration, seconds)


def check_comparable(runs: Sequence[ComparedRun]) -> None:
    """Runs compared on the same tasks must share the family (and, for classification, the ways)."""
    if not runs:
        raise ValueError(_("choose at least one run"))
    first = runs[0].config
    for r in runs[1:]:
        if r.config.family != first.family or (r.family.is_classification and r.config.ways != first.ways):
            raise ValueError(_(
                "runs from different task families cannot share test tasks: {first} and {second}; choose runs of "
                "one family").format(first=repr(first.family), second=repr(r.config.family)))


def steps_curve(run: ComparedRun, eval_cfg: EvalConfig) -> EvalResult:
    """Query loss (accuracy) after 0…``eval_cfg.steps`` steps, with the run's own α unless the config sets one."""
    alpha = eval_cfg.alpha if eval_cfg.alpha is not None else run.config.alpha
    return evaluate(run.model, run.family, run.algorithm, run.meta_params, alpha, eval_cfg, "cpu")


def shots_curve(run: ComparedRun, shots: Sequence[int], eval_cfg: EvalConfig) -> list[EvalResult]:
    """One evaluation per shot count, each after ``eval_cfg.steps`` steps, on tasks with the same seed."""
    return [steps_curve(run, replace(eval_cfg, shots=s)) for s in shots]


def _fmt(mean: float, ci: float) -> str:
    return f"{mean:.3f} ± {ci:.3f}" if math.isfinite(mean) else _("diverged (not finite)")


def final_table(runs: Sequence[ComparedRun], results: Sequence[EvalResult],
                train_results: Sequence[EvalResult] | None = None) -> list[dict[str, Any]]:
    """One row per run: final loss (and accuracy) after the last step, before adaptation, training time;
    with ``train_results`` (classification), the accuracy on meta-training classes beside it: the gap
    is how much the initialization overfits the classes it was meta-trained on."""
    rows = []
    for i, (run, r) in enumerate(zip(runs, results)):
        row = {
            _("run"): run.label,
            _("algorithm"): run.config.algorithm,
            _("loss after {steps} steps (±95%)").format(steps=r.steps): _fmt(r.loss_by_step[-1], r.ci95_by_step[-1]),
            _("loss before adaptation"): _fmt(r.loss_by_step[0], r.ci95_by_step[0]),
        }
        if r.accuracy_by_step:
            row[_("accuracy after {steps} steps (±95%)").format(steps=r.steps)] = _fmt(
                r.accuracy_by_step[-1], r.accuracy_ci95_by_step[-1])
            if train_results is not None and train_results[i].accuracy_by_step:
                t = train_results[i]
                row[_("same on meta-training classes")] = _fmt(t.accuracy_by_step[-1], t.accuracy_ci95_by_step[-1])
                row[_("gap (train − test)")] = round(t.accuracy_by_step[-1] - r.accuracy_by_step[-1], 3)
        row[_("meta-iterations")] = run.iterations
        row[_("training time (s)")] = round(run.train_seconds, 1)
        rows.append(row)
    return rows


def add_bounded(runs: Sequence[ComparedRun], run: ComparedRun, limit: int = MAX_RUNS) -> list[ComparedRun]:
    """``runs`` plus ``run`` (replacing one with the same key), keeping only the newest ``limit``."""
    kept = [r for r in runs if r.key != run.key] + [run]
    return kept[-limit:]

