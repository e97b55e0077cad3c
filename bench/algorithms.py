"""Every algorithm on the sinusoid benchmark with the same budget: a printed table (run by hand).

Each algorithm meta-trains for ``--iterations`` iterations (meta-batch 25, 10 shots, α = 0.01,
β = 0.001 Adam, k = 5 inner steps except Meta-SGD's k = 1; one CPU thread), then ``leo_core.evaluate.evaluate`` measures the
10-shot query MSE after 0, 1 and 10 inner steps on 600 fresh tasks (mean ± 95% interval). The
training seconds are wall time of the training loop only; on a shared machine they are under load.

    python bench/algorithms.py                      # all algorithms, 3000 iterations, k = 5
    python bench/algorithms.py --algorithms leo,imaml --iterations 500
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
from leo_core.train import Trainer, TrainingDiverged  # noqa: E402

# Meta-SGD trains with one step, as Li et al. do: trained through k = 5 steps its learned steps
# made the inner loop diverge during training, unclipped (iteration 125) and even clipped to
# |α| ≤ 0.01 (iteration 1265 of 3000); with the paper's random initial steps, k = 5 diverged at
# iteration 175 (leo_core/recommended.py has the measurements). iMAML keeps k = 5 with
# λ = 10: k = 10 proximal steps did better at 500 iterations (MSE 1.32 vs 1.50) but diverged at
# iteration 773 of 3000 (its implicit gradient does not see the inner loop's stability).
K_OVERRIDE = {"meta-sgd": 1}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algorithms", default=",".join(ALGORITHMS))
    p.add_argument("--family", default="sinusoid")
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--beta", type=float, default=0.001)
    p.add_argument("--meta-batch", type=int, default=25)
    p.add_argument("--shots", type=int, default=10)
    p.add_argument("--tasks", type=int, default=600)
    p.add_argument("--eval-steps", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    configure_threads(args.threads)
    ev = EvalConfig(tasks=args.tasks, shots=args.shots, steps=args.eval_steps)
    print(f"# {args.family}: {args.iterations} iterations, meta-batch {args.meta_batch}, {args.shots} shots, "
          f"k={args.k}, α={args.alpha}, β={args.beta} (Adam), {args.threads} thread(s); eval: {ev.tasks} tasks, "
          f"{ev.query} query points, seed {ev.seed}")
    print(f"{'algorithm':<12} {'train_s':>8} {'it/s':>6}  {'mse@0':>7} {'mse@1':>7}  mse@{ev.steps} ± ci95")
    for name in args.algorithms.split(","):
        k = K_OVERRIDE.get(name, args.k)
        cfg = TrainConfig(family=args.family, algorithm=name, alpha=args.alpha, beta=args.beta, k=k,
                          shots=args.shots, meta_batch=args.meta_batch, iterations=args.iterations, seed=args.seed,
                          device="cpu")
        trainer = Trainer(cfg)
        t0 = time.perf_counter()
        try:
            for _ in trainer:
                pass
        except TrainingDiverged as exc:
            print(f"{name:<12} k={k}: {exc}", flush=True)
            continue
        train_s = time.perf_counter() - t0
        r = evaluate(trainer.model, trainer.family, trainer.algorithm, trainer.meta_params, cfg.alpha, ev, "cpu")
        print(f"{name + f' k={k}':<12} {train_s:8.1f} {args.iterations / max(train_s, 1e-9):6.0f}  {r.loss_by_step[0]:7.3f} "
              f"{r.loss_by_step[1]:7.3f}  {r.loss_by_step[-1]:.3f} ± {r.ci95_by_step[-1]:.3f}", flush=True)


if __name__ == "__main__":
    main()
