"""The Theory page's measured table reads bench/table.py's results as they are (no number typed in)."""

from __future__ import annotations

import json

from leo_app.measured import TABLE_JSON, load_measured


def _row(family, algorithm, cls, losses, accs=None, train=None, flag=""):
    t = {"loss_by_step": losses, "ci95_by_step": [0.1] * len(losses), "steps": len(losses) - 1}
    if cls:
        t |= {"accuracy_by_step": accs, "accuracy_ci95_by_step": [0.01] * len(accs)}
    return {"family": family, "algorithm": algorithm, "classification": cls, "settings_text": "alpha 0.1",
            "train_seconds": 3.2, "test": t, "train": train, "flag": flag}


def test_rows_are_read_as_written(tmp_path):
    path = tmp_path / "table.json"
    digits_test = _row("digits", "leo", True, [1.6, 1.0, 0.7], [0.2, 0.5, 0.77])["test"]
    digits_train = dict(digits_test, accuracy_by_step=[0.2, 0.6, 0.94])
    path.write_text(json.dumps({"iterations": 1500, "seed": 0, "eval_seed": 1, "rows": [
        _row("sinusoid", "meta-sgd", False, [3.9, 0.4, float("nan")], flag="does not beat random"),
        _row("digits", "leo", True, [1.6, 1.0, 0.7], [0.2, 0.5, 0.77], train=digits_train),
    ]}))
    rows, meta = load_measured(path)
    assert meta == {"iterations": 1500, "seed": 0, "eval_seed": 1}
    sine, digits = rows
    assert (sine.before, sine.after_1, sine.after_10) == (3.9, 0.4, None)  # NaN: diverges, never a number
    assert sine.flag == "does not beat random"
    assert (digits.after_10, digits.train_accuracy_10, digits.ci_10) == (0.77, 0.94, 0.01)


def test_a_missing_table_is_empty(tmp_path):
    assert load_measured(tmp_path / "none.json") == ([], {})


def test_the_committed_table_loads_and_the_theory_page_shows_it(app):
    rows, _ = load_measured(TABLE_JSON)
    assert rows, "bench/results/table.json is committed"
    app.switch_page("pages/theory.py").run()
    assert not app.exception
    assert not app.error, [e.value for e in app.error]
    tables = [m.value for m in app.markdown if m.value.startswith("| algorithm |")]
    assert len(tables) == 1
    lines = tables[0].splitlines()
    assert len(lines) == 2 + sum(r.family == rows[0].family for r in rows)  # header, rule, one row per algorithm
    assert all(line.count(" | ") == lines[0].count(" | ") for line in lines[2:])  # no cell broke the columns


def test_omniglot_anchors_read_the_record_and_the_readme_shows_it():
    """The README's Omniglot table is the one bench/omniglot_anchors.py prints from its record (no typed numbers)."""
    import sys
    from pathlib import Path

    from leo_app.measured import OMNIGLOT_JSON, omniglot_anchors, omniglot_notes

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from omniglot_anchors import markdown

    data = json.loads(OMNIGLOT_JSON.read_text())
    rows = omniglot_anchors()
    assert len(rows) == len(data["published"]) >= 5
    five = next(o for o in data["ours"] if o["key"] == "maml-conv-5way-1shot")
    assert f"{100 * five['accuracy']:.1f}" in rows[0]["ours"] and "98.7" in rows[0]["published"]
    runs = next(o for o in data["ours"] if o["key"] == "one-shot-runs")
    human = next(r for r in rows if "4.5% error" in r["published"])
    assert f"{100 * runs['error_rate']:.1f}% error" in human["ours"]
    assert set(omniglot_notes()["trained"]) == {"5-way", "20-way"}
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert markdown(data) in readme, "README's Omniglot table is stale: python bench/omniglot_anchors.py --markdown-only"


def test_no_result_is_typed_into_the_apps_prose():
    """A percentage in the app's text is a measured result, and those are read from bench/results/ (a typed
    "73.8% for leo against 24.6%" went stale). Only the 95% of an interval may be written as a literal."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = []
    for path in [*(root / "leo_app").glob("*.py"), *(root / "pages").glob("*.py"), *(root / "figures").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for m in re.finditer(r"(?<![\w.])(\d+(?:\.\d+)?) ?%(?![{\w(])", node.value):
                    if m.group(1) not in ("95", "100"):
                        found.append(f"{path.relative_to(root)}:{node.lineno}: {m.group(0)!r}")
    assert not found, "results typed into prose (read them from bench/results/):\n" + "\n".join(found)


def test_the_digits_note_quotes_the_measured_table():
    from leo_app.adaptation_view import classification_note
    from leo_app.measured import adapted
    from leo_core.tasks import get_family

    rows = adapted("digits")
    note = classification_note(get_family("digits"))
    for algorithm in ("leo", "pretrained", "random"):
        assert f"{100 * rows[algorithm].after_10:.1f}%" in note
