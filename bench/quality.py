"""Quality vs training time: 10-shot sinusoid query MSE after 10 inner steps on 600 fresh tasks.

Trains with the given settings and evaluates θ₀ every ``--every`` seconds of training time
(evaluation time is not counted). Target: ≤ 0.30 within 30 s on a 2-core CPU.

    python bench/quality.py --k 1 --seconds 30
    python bench/quality.py --k 5 --seconds 30
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leo_core.config import EvalConfig, TrainConfig  # noqa: E402
from leo_core.device import configure_threads  # noqa: E402
from leo_core.evaluate import evaluate  # noqa: E402
from leo_core.train import Trainer  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", default="sinusoid")
    p.add_argument("--algorithm", default="leo")
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--beta", type=float, default=0.001)
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--first-order", action="store_true")
    p.add_argument("--meta-batch", type=int, default=25)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--every", type=float, default=5.0)
    p.add_argument("--eval-steps", type=int, default=10)
    p.add_argument("--tasks", type=int, default=600)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    configure_threads(args.threads)
    cfg = TrainConfig(family=args.family, algorithm=args.algorithm, alpha=args.alpha, beta=args.beta, k=args.k,
                      first_order=args.first_order, meta_batch=args.meta_batch, iterations=10**9, seed=args.seed,
                      device=args.device)
    trainer = Trainer(cfg)
    ev = EvalConfig(tasks=args.tasks, shots=cfg.shots, steps=args.eval_steps)
    print(f"# {cfg.family} {cfg.algorithm} k={cfg.k} α={cfg.alpha} β={cfg.beta} first_order={cfg.first_order} "
          f"meta_batch={cfg.meta_batch}; eval: {ev.tasks} tasks, {ev.shots} shots, {ev.query} query, α={cfg.alpha}")
    print("train_s  iterations  mse@0    mse@1    mse@k_train  mse@10 ± ci95")
    next_eval = 0.0
    while True:
        if trainer.elapsed >= next_eval:
            r = evaluate(trainer.model, trainer.family, trainer.algorithm, trainer.meta_params, cfg.alpha, ev,
                         trainer.device)
            kk = min(cfg.k, ev.steps)
            print(f"{trainer.elapsed:7.1f}  {trainer.iteration:10d}  {r.loss_by_step[0]:.3f}    {r.loss_by_step[1]:.3f}"
                  f"    {r.loss_by_step[kk]:.3f}        {r.loss_by_step[-1]:.3f} ± {r.ci95_by_step[-1]:.3f}", flush=True)
            if trainer.elapsed >= args.seconds:
                break
            next_eval += args.every
        trainer.step()


if __name__ == "__main__":
    main()
