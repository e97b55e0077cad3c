"""The measured comparison that ``bench/table.py`` wrote (``bench/results/table.json``), for the Theory page.

Nothing here measures: the numbers are read from the committed results of one run of the bench
script, so the page can show them with the command that produced them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from leo_core.i18n import _

__all__ = ["MeasuredRow", "TABLE_JSON", "TABLE_COMMAND", "load_measured", "adapted", "OMNIGLOT_JSON", "omniglot_anchors",
           "LECTURE_JSON", "LECTURE_COMMAND", "objective_errors",
           "omniglot_rows", "omniglot_notes"]

TABLE_JSON = Path(__file__).resolve().parent.parent / "bench" / "results" / "table.json"
TABLE_COMMAND = "python bench/table.py --workers 2"


@dataclass(frozen=True)
class MeasuredRow:
    family: str
    algorithm: str
    classification: bool
    settings: str  # the recommended settings it ran with
    before: float | None  # query MSE (or accuracy) before adaptation
    after_1: float | None
    after_10: float | None  # None where adaptation diverged
    ci_10: float | None
    train_accuracy_10: float | None  # classification: the same on meta-training classes
    train_seconds: float
    flag: str  # "does not beat …" for a meta-learner that loses to a baseline; "" otherwise


def _at(values: list, step: int) -> float | None:
    if step >= len(values) or values[step] is None:
        return None
    v = float(values[step])
    return v if v == v and abs(v) < 1e6 else None


def load_measured(path: Path = TABLE_JSON) -> tuple[list[MeasuredRow], dict]:
    """The rows and the run's settings (iterations, seeds); ``([], {})`` when the file is missing."""
    if not path.exists():
        return [], {}
    data = json.loads(path.read_text())
    rows = []
    for r in data.get("rows", []):
        t, tr = r.get("test"), r.get("train")
        cls = bool(r["classification"])
        key, ci_key = ("accuracy_by_step", "accuracy_ci95_by_step") if cls else ("loss_by_step", "ci95_by_step")
        vals, cis = (t[key], t[ci_key]) if t else ([], [])
        last = t["steps"] if t else 0
        same = tr is not None and tr == t  # a family without a class split draws the same tasks
        rows.append(MeasuredRow(
            r["family"], r["algorithm"], cls, r.get("settings_text", ""), _at(vals, 0), _at(vals, 1),
            _at(vals, last), _at(cis, last),
            _at(tr["accuracy_by_step"], tr["steps"]) if cls and tr and not same else None,
            float(r.get("train_seconds", 0.0)), r.get("flag", "") or ""))
    meta = {k: data[k] for k in ("iterations", "seed", "eval_seed") if k in data}
    return rows, meta


def adapted(family: str, path: Path = TABLE_JSON) -> dict[str, MeasuredRow]:
    """The measured table's rows of ``family`` by algorithm (what prose about results quotes)."""
    return {r.algorithm: r for r in load_measured(path)[0] if r.family == family}


OMNIGLOT_JSON = TABLE_JSON.parent / "omniglot.json"


def omniglot_anchors(path: Path = OMNIGLOT_JSON) -> list[dict[str, str]]:
    """Rows of the Theory page's Omniglot table: each published figure beside ours, read from
    ``bench/results/omniglot.json`` (``python bench/omniglot_anchors.py``); ``[]`` when it is missing."""
    return omniglot_rows(json.loads(path.read_text())) if path.exists() else []


def omniglot_rows(data: dict) -> list[dict[str, str]]:
    """``omniglot_anchors`` of the file's contents."""
    ours = {o["key"]: o for o in data["ours"]}
    rows = []
    for pub in data["published"]:
        mine = ours.get(pub["key"]) or (ours.get("one-shot-runs") if pub["key"].endswith("one-shot-runs") else None)
        rows.append({
            "published": f"{pub['what']}: **{pub['figure']}** ({pub['source']})",
            "their protocol": pub["protocol"],
            "ours": _ours_text(mine) if mine else _("not measured here"),
        })
    return rows


def omniglot_notes(path: Path = OMNIGLOT_JSON) -> dict[str, object]:
    """What differs in ours, how the checkpoints were trained, and the command that wrote the file."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {k: data[k] for k in ("differs", "trained", "command")}


def _ours_text(o: dict) -> str:
    if "error_rate" in o:
        return _("**{rate}% error** after {steps} steps (`{command}`)").format(
            rate=f"{100 * o['error_rate']:.1f}", steps=o["steps"], command=o["command"])
    return _("**{accuracy} ± {ci}%** after {steps} steps, {tasks} tasks (`{command}`)").format(
        accuracy=f"{100 * o['accuracy']:.1f}", ci=f"{100 * o['ci95']:.1f}", steps=o["steps"], tasks=o["tasks"],
        command=o["command"])


LECTURE_JSON = TABLE_JSON.parent / "lecture.json"
LECTURE_COMMAND = "python bench/lecture_records.py"


def objective_errors(path: Path = LECTURE_JSON) -> dict[str, dict]:
    """The Lecture's support-vs-query record: preset → ``loss_by_step``, ``ci95_by_step``, ``command``
    (``bench/lecture_records.py``); ``{}`` when the file is missing."""
    return json.loads(path.read_text()).get("objective", {}) if path.exists() else {}
