"""The Lecture's Omniglot quiz, measured (run by hand): how often the meta-learned model answers right from θ₀ alone
and after its adaptation step, and how long one answer takes on this machine.

    python bench/quiz.py [--rounds 100] [--steps 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leo_app.presets import load_preset  # noqa: E402
from leo_core.device import configure_threads  # noqa: E402
from leo_core.views import quiz as qz  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--steps", type=int, default=None, help="adaptation steps (default: the checkpoint's k)")
    args = parser.parse_args()
    configure_threads(1)
    checkpoint = load_preset("maml-omniglot")
    before = after = 0
    seconds = []
    for r in range(1, args.rounds + 1):
        task = qz.quiz_task(r)
        result = qz.answer(checkpoint, task, args.steps)
        before += result.prediction_before == task.answer
        after += result.prediction == task.answer
        seconds.append(result.seconds)
    n = args.rounds
    print(f"{n} rounds: right {before}/{n} from θ₀ alone, {after}/{n} after {result.steps} step(s); per answer "
          f"median {1000 * statistics.median(seconds):.0f} ms, max {1000 * max(seconds):.0f} ms")


if __name__ == "__main__":
    main()
