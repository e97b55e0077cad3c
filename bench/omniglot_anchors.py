"""Omniglot's published anchors beside the shipped checkpoints: writes ``bench/results/omniglot.json``.

Evaluates ``presets/maml-omniglot.pt`` (5-way 1-shot, 600 held-out tasks) and
``presets/maml-omniglot-20way.pt`` (20-way 1-shot, 200 held-out tasks), and the 20-way one on Lake et
al.'s 20 one-shot runs, with the
command line's own code (the commands are recorded beside each figure), and keeps the published
figures with their protocols and what differs in ours. The README and the Theory page read the file.

    python bench/omniglot_anchors.py                  # ~10 min on two CPU cores
    python bench/omniglot_anchors.py --markdown-only  # re-print the README's table from the file
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "results" / "omniglot.json"

# Published figures, as printed in the papers (accuracy in %, ± the papers' 95% intervals).
PUBLISHED = [
    {"key": "maml-conv-5way-1shot", "figure": "98.7 ± 0.4%", "what": "MAML, conv net, 5-way 1-shot accuracy",
     "source": "Finn, Abbeel, Levine 2017, Table 1",
     "protocol": "1,200 training characters (background and evaluation alphabets), 423 test characters, x 4 "
                 "rotations; 28x28; strided convolutions; one inner step (α 0.4), meta-batch 32; 3 steps at test"},
    {"key": "maml-conv-20way-1shot", "figure": "95.8 ± 0.3%", "what": "MAML, conv net, 20-way 1-shot accuracy",
     "source": "Finn, Abbeel, Levine 2017, Table 1",
     "protocol": "as above; 5 inner steps (α 0.1), meta-batch 16"},
    {"key": "maml-fc-5way-1shot", "figure": "89.7 ± 1.1%", "what": "MAML without convolutions, 5-way 1-shot",
     "source": "Finn, Abbeel, Levine 2017, Table 1",
     "protocol": "784-256-128-64-64 with batch norm, same split"},
    {"key": "maml-fc-5way-5shot", "figure": "97.5 ± 0.6%", "what": "MAML without convolutions, 5-way 5-shot",
     "source": "Finn, Abbeel, Levine 2017, Table 1", "protocol": "as above"},
    {"key": "human-one-shot-runs", "figure": "4.5% error", "what": "people on the 20 one-shot runs",
     "source": "Lake, Salakhutdinov, Tenenbaum 2015",
     "protocol": "20 runs of 20-way within-alphabet one-shot classification on evaluation alphabets"},
    {"key": "convnet-one-shot-runs", "figure": "13.5% error", "what": "a deep convolutional network on the 20 runs",
     "source": "Lake, Salakhutdinov, Tenenbaum 2015", "protocol": "as above; trained on the background set"},
]

DIFFERS = ("the background set only (964 characters, 30 alphabets), 8 whole alphabets (242 characters) held out, so "
           "722 training characters where the papers had 1,200; max-pooling instead of strided convolutions; "
           "meta-batch 16 (5-way) and 8 (20-way) and one inner step in training, to fit a CPU; test tasks of 15 "
           "query images per class, seed 1")


def _cli(*args: str) -> dict:
    cmd = [sys.executable, "-m", "leo_core", *args, "--json"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def _ours(name: str, args: list[str], pick) -> dict:
    result = _cli(*args)
    command = "python -m leo_core " + " ".join([*args, "--json"])
    print(f"{name}: {pick(result)}  ({command})", file=sys.stderr, flush=True)
    return {"key": name, "command": command, **pick(result)}


def _at(result: dict, step: int) -> dict:
    return {"accuracy": round(result["accuracy_by_step"][step], 4),
            "ci95": round(result["accuracy_ci95_by_step"][step], 4), "steps": step, "tasks": result["tasks"]}


def markdown(data: dict) -> str:
    """The README's table: each published figure, its protocol, and ours (from ``bench/results/omniglot.json``)."""
    from leo_app.measured import omniglot_rows

    lines = ["| published | their protocol | ours |", "|---|---|---|"]
    lines += [f"| {r['published']} | {r['their protocol']} | {r['ours']} |" for r in omniglot_rows(data)]
    trained = "; ".join(
        f"{key}: `{t['checkpoint']}`, {t['algorithm']} (second order), α {t['alpha']:g}, k {t['k']}, meta-batch "
        f"{t['meta_batch']}, {t['query']} query image per class, {t['iterations']:,} iterations in "
        f"{t['minutes']:.0f} minutes of training" for key, t in data["trained"].items())
    return "\n".join(lines) + f"\n\nWhat differs in ours: {data['differs']}. Checkpoints: {trained}."


def main() -> None:
    if "--markdown-only" in sys.argv:
        print(markdown(json.loads(OUT.read_text())))
        return
    from leo_core.checkpoint import load_checkpoint

    five, twenty = "presets/maml-omniglot.pt", "presets/maml-omniglot-20way.pt"
    ours = [
        _ours("maml-conv-5way-1shot", ["evaluate", five, "--tasks", "600", "--steps", "3", "--seed", "1",
                                        "--threads", "2"], lambda r: _at(r, 3)),
        # 20-way: 200 tasks (300 query images each, six stages: as much work as 1,200 five-way tasks)
        _ours("maml-conv-20way-1shot", ["evaluate", twenty, "--tasks", "200", "--steps", "5", "--seed", "1",
                                         "--threads", "2"], lambda r: _at(r, 5)),
        _ours("one-shot-runs", ["evaluate", twenty, "--one-shot-runs", "--steps", "5"],
              lambda r: {"error_rate": round(r["error_rate"], 4), "runs": len(r["runs"]), "steps": r["steps"]}),
    ]
    trained = {}
    for key, path in (("5-way", five), ("20-way", twenty)):
        ckpt = load_checkpoint(ROOT / path)
        cfg = ckpt.config
        trained[key] = {"checkpoint": path, "algorithm": cfg.algorithm, "iterations": ckpt.iteration,
                        "minutes": round(ckpt.state["elapsed"] / 60, 1), "alpha": cfg.alpha, "k": cfg.k,
                        "meta_batch": cfg.meta_batch, "query": cfg.query}
    OUT.write_text(json.dumps({"published": PUBLISHED, "ours": ours, "trained": trained, "differs": DIFFERS,
                               "command": "python bench/omniglot_anchors.py"}, indent=2) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
