"""α × k sweeps: each cell equals an individual training with the same seed; grid shape; cost estimate."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from helpers import tiny_config
from leo_core.config import EvalConfig
from leo_core.evaluate import evaluate
from leo_core.sweep import (MAX_CELLS, SweepConfig, cell_config, estimate_seconds, measure_its_per_sec,
                            parse_grid, run_sweep)
from leo_core.train import Trainer

EVAL = EvalConfig(tasks=6, query=5, steps=1, seed=3)


def _sweep(**overrides) -> SweepConfig:
    return SweepConfig(**{"base": tiny_config(first_order=True), "alphas": (0.005, 0.02), "ks": (1, 2),
                          "iterations": 3, "eval": EVAL, **overrides})


def test_sweep_cells_equal_individual_trainings_with_the_same_seed():
    sweep = _sweep()
    calls = []
    result = run_sweep(sweep, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert len(result.loss) == len(sweep.ks) and all(len(row) == len(sweep.alphas) for row in result.loss)
    assert result.ks == (1, 2) and result.alphas == (0.005, 0.02) and result.accuracy is None
    for i, k in enumerate(sweep.ks):
        for j, alpha in enumerate(sweep.alphas):
            trainer = Trainer(replace(tiny_config(first_order=True), alpha=alpha, k=k, iterations=3))
            for _ in trainer:
                pass
            ref = evaluate(trainer.model, trainer.family, trainer.algorithm, trainer.meta_params, alpha,
                           replace(EVAL, steps=k))
            assert result.loss[i][j] == ref.loss_by_step[-1]  # bit-identical: same seeds, same order
            assert result.ci95[i][j] == ref.ci95_by_step[-1]
            assert not result.diverged[i][j] and result.seconds[i][j] > 0


def test_diverging_cell_is_marked_and_neighbours_still_run():
    result = run_sweep(_sweep(alphas=(0.01, 50.0), ks=(3,), iterations=20))
    assert result.diverged == [[False, True]]
    assert math.isfinite(result.loss[0][0]) and math.isnan(result.loss[0][1])


def test_stop_leaves_remaining_cells_empty():
    n = iter(range(100))
    result = run_sweep(_sweep(), should_stop=lambda: next(n) >= 1)
    flat = [v for row in result.loss for v in row]
    assert math.isfinite(flat[0]) and all(math.isnan(v) for v in flat[1:])


def test_classification_sweep_reports_accuracy():
    base = tiny_config(family="points2d", ways=3, first_order=True)
    result = run_sweep(_sweep(base=base, alphas=(0.1,), ks=(1,), iterations=2))
    assert result.loss_name == "cross-entropy"
    assert 0.0 <= result.accuracy[0][0] <= 1.0


def test_cost_estimate_and_probe():
    sweep = _sweep(iterations=50)
    assert estimate_seconds(sweep, 100.0) == pytest.approx(50 * 4 / 100.0)
    rate = measure_its_per_sec(cell_config(sweep, 0.02, 2), iterations=2)
    assert rate > 0 and math.isfinite(rate)
    with pytest.raises(ValueError, match="its_per_sec"):
        estimate_seconds(sweep, 0.0)


def test_cell_config_changes_only_alpha_k_and_iterations():
    sweep = _sweep()
    cfg = cell_config(sweep, 0.02, 2)
    assert (cfg.alpha, cfg.k, cfg.iterations) == (0.02, 2, 3)
    assert replace(cfg, alpha=sweep.base.alpha, k=sweep.base.k, iterations=sweep.base.iterations) == sweep.base


@pytest.mark.parametrize("bad, match", [
    (dict(alphas=()), "at least one"),
    (dict(alphas=(0.0,)), "α must be"),
    (dict(ks=(0,)), "k must be"),
    (dict(alphas=tuple(0.001 * (i + 1) for i in range(7)), ks=tuple(range(1, 7))), f"at most {MAX_CELLS}"),
    (dict(iterations=0), "iterations"),
])
def test_bad_sweeps_are_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        _sweep(**bad)


def test_parse_grid():
    assert parse_grid("0.03, 0.01,0.01 ,", float) == (0.01, 0.03)
    assert parse_grid("5,1", int) == (1, 5)
    with pytest.raises(ValueError, match="comma-separated"):
        parse_grid("0.1, a", float)
