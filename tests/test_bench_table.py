"""The recommended-settings search (bench/recommend.py) and the full table (bench/table.py): their search
spaces stay on the widgets, a run measures what the CLI would, and the flag names exactly the baselines
a meta-learner fails to beat (hand-built rows)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import recommend  # noqa: E402
import table  # noqa: E402
from _protocol import RunSpec, run, spec_config  # noqa: E402

from leo_core.algorithms import ALGORITHMS, get_algorithm  # noqa: E402
from leo_core.config import EvalConfig  # noqa: E402
from leo_core.evaluate import evaluate  # noqa: E402
from leo_core.recommended import recommended_settings  # noqa: E402
from leo_core.tasks import TASK_FAMILIES  # noqa: E402
from leo_core.train import train_to_end  # noqa: E402


@pytest.mark.parametrize("family", list(TASK_FAMILIES))
@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_every_search_space_lies_on_the_widgets(family, algorithm):
    recommend._check_space(recommend.SPACES[algorithm](family))  # raises when a value is off a slider


def test_a_spec_takes_the_recommended_settings_and_the_family_protocol():
    cfg = spec_config(RunSpec("digits", "leo", {"k": 5}))
    rec = recommended_settings("digits", "leo")
    assert (cfg.shots, cfg.ways, cfg.k, cfg.alpha, cfg.beta) == (1, 5, 5, rec["alpha"], rec["beta"])
    assert spec_config(RunSpec("digits", "leo", recommended=False)).alpha == 0.01  # TrainConfig's default


def test_a_run_measures_what_train_then_evaluate_measure():
    spec = RunSpec("sinusoid", "leo", {"alpha": 0.01}, iterations=3, tasks=7, steps=2, train_split=True)
    result = run(spec)
    # The same path by hand: train_to_end, then evaluate on the spec's seeded test tasks.
    trainer = train_to_end(spec_config(spec))
    ref = evaluate(trainer.model, trainer.family, get_algorithm("leo", trainer.cfg), trainer.meta_params, 0.01,
                   EvalConfig(tasks=7, shots=10, query=100, steps=2, seed=1), "cpu")
    assert result.test["loss_by_step"] == pytest.approx(ref.loss_by_step)
    assert result.objective == pytest.approx(ref.loss_by_step[-1])
    assert result.iterations == 3 and result.train is None  # meta-train classes only for classification


def _row(family, algorithm, value, classification):
    key = "accuracy_by_step" if classification else "loss_by_step"
    return {"family": family, "algorithm": algorithm, "classification": classification, "diverged": None,
            "test": {key: [0.0, value]}}


def test_the_flag_names_each_baseline_not_beaten():
    rows = [_row("sinusoid", "random", 4.0, False), _row("sinusoid", "pretrained", 1.5, False),
            _row("sinusoid", "leo", 0.3, False), _row("sinusoid", "imaml", 2.0, False),
            _row("digits", "random", 0.72, True), _row("digits", "pretrained", 0.80, True),
            _row("digits", "leo", 0.81, True), _row("digits", "anil", 0.70, True)]
    rows.append({**_row("digits", "imaml", 0.0, True), "diverged": "NaN at iteration 9", "test": None})
    table.flag_rows(rows)
    flags = {(r["family"], r["algorithm"]): r["flag"] for r in rows}
    assert flags[("sinusoid", "leo")] == "" and flags[("digits", "leo")] == ""
    assert flags[("sinusoid", "imaml")] == "does not beat pretrained"
    assert flags[("digits", "anil")] == "does not beat random and pretrained"
    assert flags[("digits", "imaml")] == "does not beat random and pretrained"
    assert flags[("digits", "random")] == ""


def test_the_search_writes_a_valid_entry_into_the_data_file(tmp_path):
    from leo_core.recommended import DATA_FILE, load_recommended

    results = [run(RunSpec("linear", "leo", {"alpha": a}, iterations=2, tasks=5, steps=1, recommended=False))
               for a in (0.05, 0.1)]
    best = min(results, key=lambda r: r.objective)
    entry = recommend.recommendation_entry(best, results, "Grid over alpha")
    copy = tmp_path / "recommended.json"
    copy.write_text(DATA_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    recommend.write_entry("linear", "leo", entry, copy)
    rec = load_recommended(copy)["leo"]["linear"]
    assert dict(rec.settings) == {"alpha": best.spec.settings["alpha"]}
    assert "--alpha" in rec.command and "Grid over alpha" in rec.result
    with pytest.raises(ValueError, match="leo × linear"):  # an invalid entry never replaces the file
        recommend.write_entry("linear", "leo", {**entry, "settings": {"shots": 3}}, copy)
    assert load_recommended(copy)["leo"]["linear"] == rec
