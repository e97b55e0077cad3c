"""The Lecture's measured figures: writes ``bench/results/lecture.json`` (run by hand after retraining a preset).

Chapter 4 ("Support or query") compares the two initializations meta-trained on each objective, ``presets/
query-matters.pt`` (J on the support set) and ``presets/query-objective.pt`` (J on the query set), by the command
line's own evaluation: mean query MSE after 0…5 steps on 600 fresh tasks, with 95% intervals. The page and the
lecture's HTML file read the file and name the command.

    python bench/lecture_records.py          # about half a minute on two CPU cores
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "lecture.json"
TASKS, STEPS = 600, 5


def command(preset: str) -> list[str]:
    return ["python", "-m", "leo_core", "evaluate", f"presets/{preset}.pt", "--tasks", str(TASKS), "--steps",
            str(STEPS), "--threads", "1", "--json"]


def main() -> None:
    objective = {}
    for preset in ("query-matters", "query-objective"):
        argv = command(preset)
        out = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, check=True, capture_output=True, text=True)
        result = json.loads(out.stdout)
        objective[preset] = {"loss_by_step": result["loss_by_step"], "ci95_by_step": result["ci95_by_step"],
                             "command": " ".join(argv)}
        print(f"{preset}: query MSE {result['loss_by_step'][0]:.3f} → {result['loss_by_step'][-1]:.3f} after "
              f"{STEPS} steps ({TASKS} tasks)")
    OUT.write_text(json.dumps({"objective": objective}, indent=1) + "\n")
    print(f"→ {OUT}")


if __name__ == "__main__":
    main()
