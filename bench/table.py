"""The full table: every family × every algorithm and baseline at its recommended settings.

Each cell trains ``--iterations`` (1,500) meta-iterations at seed 0 with ``recommended_config``
(classification in its few-shot protocol, 5-way 1-shot; see ``bench/_protocol.py``) and evaluates
θ₀ on ``--tasks`` (300) fresh test tasks of seed 1: query MSE (regression) or accuracy
(classification) after 0, 1 and 10 steps with 95% intervals, training seconds and iterations; for
classification also the accuracy on meta-train classes (``EvalConfig(split="train")``) beside
meta-test — the overfitting gap. A meta-learner that does not beat both baselines of its family
after 10 steps is flagged. Prints a Markdown table and writes JSON (merged into an existing file,
so families can be run separately).

    nice -n 5 python bench/table.py --families sinusoid digits --workers 2
    nice -n 5 python bench/table.py --families linear sine-line polynomial points2d --workers 2
    python bench/table.py --markdown-only        # re-print the table from bench/results/table.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _protocol import BASELINES, PROTOCOL, RunSpec, cli_commands, run  # noqa: E402

from leo_core.algorithms import ALGORITHMS  # noqa: E402
from leo_core.config import TrainConfig  # noqa: E402
from leo_core.settings import SETTINGS  # noqa: E402
from leo_core.tasks import TASK_FAMILIES  # noqa: E402

_DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "table.json"


def _cell(values: list[float], cis: list[float], step: int) -> str:
    if step >= len(values):
        return "–"
    v, c = values[step], cis[step]
    return f"{v:.3f} ± {c:.3f}" if v == v and abs(v) < 1e6 else "diverges"


def _final(row: dict[str, Any]) -> float | None:
    """The compared number: 10-step MSE (lower is better) or accuracy (higher is better)."""
    t = row.get("test")
    if not t or row.get("diverged"):
        return None
    v = t["accuracy_by_step"][-1] if row["classification"] else t["loss_by_step"][-1]
    return v if v == v else None


def flag_rows(rows: list[dict[str, Any]]) -> None:
    """Mark each meta-learner that does not beat both baselines of its family (in place)."""
    by_family: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_family.setdefault(row["family"], {})[row["algorithm"]] = row
    for family, cells in by_family.items():
        base = {b: _final(cells[b]) for b in BASELINES if b in cells}
        for alg, row in cells.items():
            if alg in BASELINES:
                row["flag"] = ""
                continue
            mine = _final(row)
            lost = []
            for b, v in base.items():
                if v is None:
                    continue
                better = mine is not None and (mine > v if row["classification"] else mine < v)
                if not better:
                    lost.append(b)
            row["flag"] = ("does not beat " + " and ".join(lost)) if lost else ""
            if len(base) < len(BASELINES):
                row["flag"] += " (baselines missing)"


def markdown(rows: list[dict[str, Any]]) -> str:
    out = []
    for family in dict.fromkeys(r["family"] for r in rows):
        fam = [r for r in rows if r["family"] == family]
        cls = fam[0]["classification"]
        proto = PROTOCOL.get(family)
        what = (f"accuracy, {proto['ways']}-way {proto['shots']}-shot" if cls and proto else
                "accuracy" if cls else "query MSE")
        out.append(f"\n**{family}** ({what}; {fam[0]['tasks']} test tasks, 95% intervals)\n")
        head = "| algorithm | settings | 0 steps | 1 step | 10 steps |"
        head += " meta-train classes, 10 steps |" if cls else ""
        head += " train s | iterations | flag |"
        out.append(head)
        out.append("|" + "---|" * (head.count("|") - 1))
        for r in fam:
            t = r.get("test")
            if t is None:
                cells = ["diverged"] * 3
            else:
                vals, cis = ((t["accuracy_by_step"], t["accuracy_ci95_by_step"]) if cls else
                             (t["loss_by_step"], t["ci95_by_step"]))
                cells = [_cell(vals, cis, s) for s in (0, 1, t["steps"])]
            shown = r["settings_text"].replace(", meta_batch 25", "").replace(", outer_optimizer adam", "")
            line = f"| {r['algorithm']} | {shown} | " + " | ".join(cells) + " |"
            if cls:
                tr = r.get("train")
                if tr and tr == t:  # a family without a class split (points2d) draws the same tasks
                    line += " (no class split) |"
                else:
                    line += f" {_cell(tr['accuracy_by_step'], tr['accuracy_ci95_by_step'], tr['steps'])} |" if tr else " – |"
            flag = f"**{r['flag']}**" if r.get("flag") else ""
            line += f" {r['train_seconds']:.0f} | {r['iterations']} | {flag} |"
            out.append(line)
    return "\n".join(out)


def _row(spec: RunSpec) -> dict[str, Any]:
    result = run(spec)
    settings = dict(sorted((k, v) for k, v in result.config.items() if k in _shown(spec.algorithm, result.config)))
    return {
        "family": spec.family, "algorithm": spec.algorithm, "classification": result.classification,
        "tasks": spec.tasks, "settings": settings,
        "settings_text": ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in settings.items()),
        "train_seconds": round(result.train_seconds, 1), "iterations": result.iterations,
        "diverged": result.diverged, "test": result.test, "train": result.train, "command": cli_commands(spec),
    }


def _shown(algorithm: str, config: dict[str, Any]) -> tuple[str, ...]:
    """The settings a row shows: the steps the algorithm uses, its own knobs (declared in
    ``leo_core.settings``) and the outer optimizer's choices where they differ from the defaults."""
    steps = {"imaml": ("beta",), "random": ("alpha",), "pretrained": ("alpha", "beta")}.get(algorithm, ("alpha", "beta", "k"))
    own = tuple(s.name for s in SETTINGS.values() if algorithm in s.algorithms)
    defaults = TrainConfig()
    optimizer = tuple(n for n in ("outer_optimizer", "beta_schedule", "meta_batch")
                      if n in config and config[n] != getattr(defaults, n))
    return (*steps, *own, *optimizer)


def _load(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text())["rows"] if path.exists() else []


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--families", nargs="+", default=list(TASK_FAMILIES), choices=list(TASK_FAMILIES))
    p.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=list(ALGORITHMS))
    p.add_argument("--iterations", type=int, default=1500)
    p.add_argument("--tasks", type=int, default=300)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--json", type=Path, default=_DEFAULT_JSON)
    p.add_argument("--markdown-only", action="store_true", help="re-print the table from --json")
    args = p.parse_args(argv)

    rows: list[dict[str, Any]] = _load(args.json)
    if not args.markdown_only:
        specs = [RunSpec(f, a, iterations=args.iterations, tasks=args.tasks, train_split=True)
                 for f in args.families for a in args.algorithms]
        with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
            futures = {pool.submit(_row, spec): spec for spec in specs}
            for fut in as_completed(futures):  # each cell is written as soon as it is done
                spec, row = futures[fut], fut.result()
                print(f"{spec.family:10s} {spec.algorithm:10s} done in {row['train_seconds']:.0f} s", flush=True)
                # Re-read before writing, so runs for other families or algorithms may share the file.
                rows = [r for r in _load(args.json) if (r["family"], r["algorithm"]) != (spec.family, spec.algorithm)]
                rows.append(row)
                rows.sort(key=lambda r: (list(TASK_FAMILIES).index(r["family"]), list(ALGORITHMS).index(r["algorithm"])))
                flag_rows(rows)
                args.json.parent.mkdir(parents=True, exist_ok=True)
                tmp = args.json.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"iterations": args.iterations, "seed": 0, "eval_seed": 1, "rows": rows},
                                          indent=1))
                tmp.replace(args.json)
    flag_rows(rows)
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
