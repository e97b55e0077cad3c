"""One measured run, shared by ``bench/recommend.py`` and ``bench/table.py``.

A run = train ``iterations`` meta-iterations at a training seed, in this process (one torch thread),
then evaluate the learned θ₀ on fresh test tasks of an evaluation seed: query loss (and accuracy)
after 0…``steps`` inner steps with 95% intervals. Classification families are scored in their
few-shot protocol (``PROTOCOL``); for them the meta-train classes are measured too (overfitting).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leo_core.config import EvalConfig, TrainConfig  # noqa: E402
from leo_core.device import configure_threads, keep_freed_cpu_memory  # noqa: E402
from leo_core.evaluate import EvalResult, evaluate  # noqa: E402
from leo_core.recommended import recommended_settings  # noqa: E402
from leo_core.train import TrainingDiverged, Trainer  # noqa: E402

__all__ = ["PROTOCOL", "BASELINES", "RunSpec", "RunResult", "run", "spec_config", "cli_commands"]

# Problem settings per family (TrainConfig fields a recommendation may not set). Classification is
# scored 5-way 1-shot, the usual few-shot protocol (the baselines' entries were tuned there).
PROTOCOL: Mapping[str, Mapping[str, Any]] = {
    "digits": {"shots": 1, "ways": 5},
    "points2d": {"shots": 1, "ways": 5},
    "omniglot": {"shots": 1, "ways": 5, "query": 1},  # Finn et al.'s: one query image per class in meta-training
}
BASELINES = ("random", "pretrained")


@dataclass(frozen=True)
class RunSpec:
    family: str
    algorithm: str
    settings: Mapping[str, Any] = field(default_factory=dict)  # on top of the recommended settings
    iterations: int = 1500
    seed: int = 0
    tasks: int = 300
    steps: int = 10
    eval_seed: int = 1
    train_split: bool = False  # also evaluate on meta-train classes (classification only)
    recommended: bool = True  # start from the recommended settings (else TrainConfig's defaults)


@dataclass(frozen=True)
class RunResult:
    spec: RunSpec
    config: dict[str, Any]
    classification: bool
    train_seconds: float
    iterations: int  # iterations actually trained (fewer when training diverged)
    diverged: str | None  # the divergence message, None when training ran to the end
    test: dict[str, Any] | None  # EvalResult.to_dict() on meta-test tasks (None: nothing to evaluate)
    train: dict[str, Any] | None = None  # the same on meta-train classes

    @property
    def objective(self) -> float:
        """What a search minimises: the final-step query MSE, or minus the final-step accuracy."""
        if self.test is None or self.diverged:
            return math.inf if not self.classification else 0.0
        if self.classification:
            acc = self.test["accuracy_by_step"][-1]
            return -acc if math.isfinite(acc) else 0.0
        mse = self.test["loss_by_step"][-1]
        return mse if math.isfinite(mse) else math.inf

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["spec"]["settings"] = dict(self.spec.settings)
        d["objective"] = self.objective
        return d


def spec_config(spec: RunSpec) -> TrainConfig:
    base = recommended_settings(spec.family, spec.algorithm) if spec.recommended else {}
    return TrainConfig(**{**base, **PROTOCOL.get(spec.family, {}), **dict(spec.settings), "family": spec.family,
                          "algorithm": spec.algorithm, "iterations": spec.iterations, "seed": spec.seed,
                          "device": "cpu"})


def _defaults_differ(cfg: TrainConfig) -> dict[str, Any]:
    defaults = TrainConfig(family=cfg.family, algorithm=cfg.algorithm)
    skip = {"family", "algorithm", "iterations", "seed", "device"}
    return {k: v for k, v in cfg.to_dict().items() if k not in skip and v != defaults.to_dict()[k]}


def cli_commands(spec: RunSpec) -> str:
    """The CLI commands that reproduce ``spec`` (every setting spelled out, so the table cannot drift)."""
    cfg = spec_config(spec)
    flags = " ".join(f"--{k.replace('_', '-')} {v:g}" if isinstance(v, float) else
                     (f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')} {v}")
                     for k, v in _defaults_differ(cfg).items() if v is not False)
    proto = " ".join(f"--{k} {v}" for k, v in PROTOCOL.get(spec.family, {}).items())
    return (f"python -m leo_core train --family {cfg.family} --algorithm {cfg.algorithm} {flags} "
            f"--iterations {spec.iterations} --seed {spec.seed} --out DIR; python -m leo_core evaluate DIR "
            f"--tasks {spec.tasks} --steps {spec.steps} --seed {spec.eval_seed} --json {proto}").replace("  ", " ").rstrip()


def _evaluate(trainer: Trainer, spec: RunSpec, split: str) -> EvalResult:
    cfg = trainer.cfg
    ev = EvalConfig(tasks=spec.tasks, shots=cfg.shots, query=trainer.family.eval_query, steps=spec.steps,
                    seed=spec.eval_seed, split=split)
    return evaluate(trainer.model, trainer.family, trainer.algorithm, trainer.meta_params, cfg.alpha, ev,
                    trainer.device)


def run(spec: RunSpec) -> RunResult:
    """Train and evaluate one spec in this process with one torch thread."""
    configure_threads(1)
    keep_freed_cpu_memory()
    cfg = spec_config(spec)
    trainer = Trainer(cfg)
    diverged = None
    start = time.perf_counter()
    try:
        for _ in trainer:
            pass
    except TrainingDiverged as exc:
        diverged = f"{exc}"
    seconds = time.perf_counter() - start
    classification = trainer.family.is_classification
    test = train = None
    if diverged is None:
        test = _evaluate(trainer, spec, "test").to_dict()
        if classification and spec.train_split:
            train = _evaluate(trainer, spec, "train").to_dict()
    return RunResult(spec=spec, config=cfg.to_dict(), classification=classification, train_seconds=seconds,
                     iterations=trainer.iteration, diverged=diverged, test=test, train=train)
