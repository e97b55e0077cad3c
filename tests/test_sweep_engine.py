"""The sweep engine: the same cells give the same numbers on every backend (each cell against an
individual training with its seed), finished cells survive a stop on disk, and the CLI's `sweep`."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from helpers import tiny_config
from leo_core import cli
from leo_core.config import EvalConfig
from leo_core.evaluate import evaluate
from leo_core.sweep import SweepCell, SweepConfig, load_finished, run_cells, summarize
from leo_core.train import Trainer

EVAL = EvalConfig(tasks=6, query=5, steps=1, seed=3)


def _sweep(**overrides) -> SweepConfig:
    return SweepConfig(**{"base": tiny_config(first_order=True), "alphas": (0.005, 0.02), "ks": (1, 2),
                          "seeds": (0, 1), "iterations": 3, "eval": EVAL, **overrides})


def _numbers(cells) -> list[dict]:
    return [{k: v for k, v in c.to_dict().items() if k != "seconds"} for c in cells]


def test_cells_equal_individual_trainings_with_their_seed():
    sweep = _sweep(ks=(2,), alphas=(0.02,))
    cells = run_cells(sweep)
    assert [c.cell for c in cells] == [SweepCell(0.02, 2, 0), SweepCell(0.02, 2, 1)]
    for c in cells:
        trainer = Trainer(replace(tiny_config(first_order=True), alpha=0.02, k=2, iterations=3, seed=c.seed))
        for _ in trainer:
            pass
        ref = evaluate(trainer.model, trainer.family, trainer.algorithm, trainer.meta_params, 0.02,
                       replace(EVAL, steps=2))
        assert list(c.loss_by_step) == ref.loss_by_step and len(c.loss_by_step) == 3
    assert cells[0].loss_by_step != cells[1].loss_by_step  # the seed matters


def test_process_pool_gives_the_same_cells_as_sequential():
    sweep = _sweep()
    finished = []
    pooled = run_cells(sweep, backend="process", workers=2, on_cell=lambda r, d, t: finished.append((d, t)))
    assert finished == [(1, 8), (2, 8), (3, 8), (4, 8), (5, 8), (6, 8), (7, 8), (8, 8)]
    assert _numbers(pooled) == _numbers(run_cells(sweep))


def test_ray_backend_gives_the_same_cells_as_sequential():
    pytest.importorskip("ray", reason="ray is an optional extra (pip install -r requirements-ray.txt)")
    sweep = _sweep(ks=(1,), seeds=(0,))
    assert _numbers(run_cells(sweep, backend="ray", workers=2)) == _numbers(run_cells(sweep))


def test_finished_cells_are_kept_on_disk_and_reused(tmp_path):
    sweep = _sweep(ks=(1,))
    n = iter(range(100))
    first = run_cells(sweep, out=tmp_path, should_stop=lambda: next(n) >= 1)  # stopped after one cell
    assert len(first) == 1 and len(list(tmp_path.glob("cell_*.json"))) == 1
    assert not list(tmp_path.glob("*.tmp*"))
    assert load_finished(tmp_path, sweep) == {first[0].cell: first[0]}
    ran = []
    again = run_cells(sweep, out=tmp_path, on_cell=lambda r, d, t: ran.append(r.cell))
    assert len(again) == 4 and again[0] == first[0] and len(list(tmp_path.glob("cell_*.json"))) == 4
    assert _numbers(again) == _numbers(run_cells(sweep))
    # Other settings never reuse these files.
    assert load_finished(tmp_path, replace(sweep, iterations=4)) == {}


def test_summary_averages_seeds_and_marks_divergence():
    sweep = _sweep(alphas=(0.01, 50.0), ks=(3,), iterations=20)
    cells = run_cells(sweep)
    res = summarize(sweep, cells)
    assert res.diverged == [[False, True]] and math.isnan(res.loss[0][1])
    assert res.loss[0][0] == pytest.approx(sum(c.final_loss for c in cells[:2]) / 2)
    assert cells[2].diverged and cells[2].loss_by_step == () and cells[2].iterations < 20


def test_cli_sweep_json(tmp_path, capsys):
    rc = cli.main(["sweep", "--family", "points2d", "--ways", "3", "--alphas", "0.1,0.05", "--ks", "1",
                   "--seeds", "0", "--iterations", "2", "--meta-batch", "2", "--shots", "2", "--query", "2",
                   "--eval-tasks", "4", "--first-order", "--out", str(tmp_path), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0
    payload = json.loads(out)
    assert [(c["alpha"], c["k"], c["seed"]) for c in payload["cells"]] == [(0.1, 1, 0), (0.05, 1, 0)]
    assert all(len(c["loss_by_step"]) == 2 and len(c["accuracy_by_step"]) == 2 for c in payload["cells"])
    assert [ln.split()[1] for ln in err.strip().splitlines()] == ["1/2", "2/2"]  # one progress line per cell
    assert len(list(tmp_path.glob("cell_*.json"))) == 2


@pytest.mark.parametrize("args, match", [
    (["--alphas", ","], "at least one value"),
    (["--alphas", "0.01,-0.1"], "α must be"),
    (["--ks", ""], "at least one value"),
    (["--seeds", "x"], "int values"),
    (["--backend", "ray", "--address", "127.0.0.1:1"], "cannot reach a Ray cluster at 127.0.0.1:1"),
    (["--address", "127.0.0.1:1"], "--address is for --backend ray"),
    (["--workers", "0"], "workers must be"),
])
def test_cli_sweep_bad_input_is_one_line(tmp_path, capsys, args, match):
    base = {"--alphas": "0.01", "--ks": "1", "--iterations": "1"}
    argv = ["sweep", "--out", str(tmp_path)]
    for flag, value in base.items():
        if flag not in args:
            argv += [flag, value]
    try:
        rc = cli.main(argv + args)
    except SystemExit as exc:  # argparse's own errors exit from inside the parser
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and match in err, err


def test_cli_sweep_without_ray_says_how_to_install(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: `import ray` raises ImportError
    rc = cli.main(["sweep", "--alphas", "0.01", "--ks", "1", "--iterations", "1", "--backend", "ray",
                   "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "requirements-ray.txt" in err
