"""Few-shot digits: meta-learned initializations against the baselines (run by hand, prints a table).

5-way 1-shot and 5-way 5-shot on the digits family (meta-test: the held-out digits' 12 classes).
Trains ``leo`` (second order), ``leo-fo`` (first order) and the registry's ``pretrained`` baseline
(θ₀ fitted jointly to every meta-training task's N-way labels, then fine-tuned like the others);
``random`` (no training) is the floor. Each is evaluated on the same 600 meta-test tasks: query
accuracy (15 per class) after 0, 1 and ``--eval-steps`` SGD steps with α, mean ± 95% interval.

    python bench/classification.py
    python bench/classification.py --iterations 500 --tasks 100   # a quick look
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leo_core.algorithms import ALGORITHMS  # noqa: E402
from leo_core.config import EvalConfig, TrainConfig  # noqa: E402
from leo_core.device import configure_threads  # noqa: E402
from leo_core.evaluate import evaluate  # noqa: E402
from leo_core.train import Trainer  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algorithms", default="leo,leo-fo,pretrained,random")
    p.add_argument("--shots", default="1,5", help="comma-separated K values")
    p.add_argument("--ways", type=int, default=5)
    p.add_argument("--alpha", type=float, default=0.4, help="inner SGD step (Finn et al.'s Omniglot value)")
    p.add_argument("--beta", type=float, default=0.001)
    p.add_argument("--k", type=int, default=3,
                   help="inner steps during meta-training (k=1 inits overshoot when adapted for 5 steps)")
    p.add_argument("--query", type=int, default=15, help="query examples per class (training and test)")
    p.add_argument("--meta-batch", type=int, default=16)
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--hidden", default="64,64")
    p.add_argument("--eval-steps", type=int, default=5)
    p.add_argument("--tasks", type=int, default=600)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    configure_threads(args.threads)
    algorithms = [a for a in args.algorithms.split(",") if a]
    missing = [a for a in algorithms if a not in ALGORITHMS]
    if missing:
        sys.exit(f"error: not in the registry: {', '.join(missing)}")
    hidden = tuple(int(h) for h in args.hidden.split(","))
    print(f"# digits {args.ways}-way, α={args.alpha}, β={args.beta} (adam), k={args.k} train steps, "
          f"meta-batch {args.meta_batch}, {args.iterations} iterations, MLP 64-{'-'.join(map(str, hidden))}-"
          f"{args.ways}, device {args.device}, {args.threads} thread(s)")
    print(f"# eval: {args.tasks} meta-test tasks, {args.query} query/class, α={args.alpha}, seed {EvalConfig().seed}")
    print(f"{'shots':>5}  {'algorithm':<10}  {'iters':>5}  {'train s':>7}  {'acc@0':>6}  {'acc@1':>6}  "
          f"{'acc@' + str(args.eval_steps) + ' ± 95%':>16}")
    for shots in (int(s) for s in args.shots.split(",")):
        for algo in algorithms:
            iterations = 0 if algo == "random" else args.iterations
            cfg = TrainConfig(family="digits", algorithm=algo, alpha=args.alpha, beta=args.beta, k=args.k,
                              shots=shots, query=args.query, meta_batch=args.meta_batch, iterations=iterations,
                              seed=args.seed, hidden=hidden, ways=args.ways, device=args.device)
            trainer = Trainer(cfg)
            start = time.perf_counter()
            for _ in trainer:
                pass
            train_s = time.perf_counter() - start
            ev = EvalConfig(tasks=args.tasks, shots=shots, query=args.query, steps=args.eval_steps)
            r = evaluate(trainer.model, trainer.family, trainer.algorithm, trainer.meta_params, cfg.alpha, ev,
                         trainer.device)
            acc, ci = r.accuracy_by_step, r.accuracy_ci95_by_step
            print(f"{shots:5d}  {algo:<10}  {iterations:5d}  {train_s:7.1f}  {acc[0]:6.3f}  {acc[1]:6.3f}  "
                  f"{acc[-1]:8.3f} ± {ci[-1]:.3f}", flush=True)


if __name__ == "__main__":
    main()
