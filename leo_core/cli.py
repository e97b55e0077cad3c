"""Command line: ``python -m leo_core train …`` and ``python -m leo_core evaluate DIR …``.

Bad input exits non-zero with one line on stderr, never a traceback: outside scripts rely on it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence, TextIO

from .algorithms import ALGORITHMS, get_algorithm
from .checkpoint import CheckpointError, load_checkpoint, save_run
from .config import OUTER_LOSSES, OUTER_OPTIMIZERS, EvalConfig, TrainConfig
from .device import DEFAULT_CPU_THREADS, DEVICE_CHOICES, configure_threads, resolve_device
from .evaluate import evaluate
from .history import MetricHistory
from .tasks import TASK_FAMILIES, get_family
from .train import Trainer, TrainingDiverged

__all__ = ["main"]

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 1
EXIT_INTERRUPTED = 130
_SAVE_EVERY_S = 30.0  # a long run writes its checkpoint this often, so a crash loses little
_D = TrainConfig()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + error
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see --help)\n")


def _hidden(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(h) for h in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths like 40,40, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m leo_core", description="LEO Explorer: meta-train and evaluate initializations.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="meta-train an initialization and write a checkpoint",
                       description="Meta-train θ₀ and write checkpoint.pt, metrics.csv and config.json into --out.")
    t.add_argument("--family", default=_D.family, help=f"task family: {', '.join(TASK_FAMILIES)} (default %(default)s)")
    t.add_argument("--algorithm", default=_D.algorithm,
                   help=f"meta-learning algorithm: {', '.join(ALGORITHMS)} (default %(default)s)")
    t.add_argument("--alpha", type=float, default=_D.alpha, help="inner step size α (default %(default)s)")
    t.add_argument("--beta", type=float, default=_D.beta, help="outer step size β (default %(default)s)")
    t.add_argument("--k", type=int, default=_D.k, help="inner gradient steps per task (default %(default)s)")
    t.add_argument("--shots", type=int, default=_D.shots,
                   help="support examples per task; per class (K) for classification (default %(default)s)")
    t.add_argument("--query", type=int, default=_D.query,
                   help="query examples per task for the outer loss; per class for classification (default %(default)s)")
    t.add_argument("--ways", type=int, default=_D.ways,
                   help="classes per task (N) for classification families; ignored by regression (default %(default)s)")
    t.add_argument("--meta-batch", type=int, default=_D.meta_batch, help="tasks per meta-iteration (default %(default)s)")
    t.add_argument("--iterations", type=int, default=_D.iterations, help="meta-iterations in total (default %(default)s)")
    t.add_argument("--seed", type=int, default=_D.seed, help="random seed; same seed + device = same run (default %(default)s)")
    t.add_argument("--first-order", action="store_true", help="drop second-order terms (first-order approximation)")
    t.add_argument("--outer-loss", choices=OUTER_LOSSES, default=_D.outer_loss,
                   help="J_i on the query set (standard) or the support set (the document's literal variant)")
    t.add_argument("--optimizer", choices=OUTER_OPTIMIZERS, default=_D.outer_optimizer, help="outer optimizer (default %(default)s)")
    t.add_argument("--imaml-lambda", type=float, default=_D.imaml_lambda,
                   help="iMAML: proximal regularisation λ of the inner problem (default %(default)s)")
    t.add_argument("--cg-steps", type=int, default=_D.cg_steps,
                   help="iMAML: conjugate-gradient iterations for the implicit gradient (default %(default)s)")
    t.add_argument("--hidden", type=_hidden, default=_D.hidden, help="MLP hidden widths, e.g. 40,40 (default 40,40)")
    t.add_argument("--dtype", choices=("float32", "float64"), default=_D.dtype, help="floating point precision")
    t.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="auto picks cuda, then mps, then cpu")
    t.add_argument("--threads", type=int, default=DEFAULT_CPU_THREADS,
                   help="CPU threads for torch (default %(default)s: fastest for these tiny models, robust under load)")
    t.add_argument("--cuda-graph", action="store_true",
                   help="CUDA only: replay each meta-iteration as one captured CUDA graph (eager fallback)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out up to --iterations")
    t.add_argument("--out", required=True, help="directory for checkpoint.pt, metrics.csv, config.json")
    t.add_argument("--quiet", action="store_true", help="no progress output")

    e = sub.add_parser("evaluate", help="meta-test a checkpoint on fresh tasks",
                       description="Adapt from a checkpoint's θ₀ on fresh seeded tasks and report query loss per step.")
    e.add_argument("dir", help="run directory (or checkpoint file) written by train")
    e.add_argument("--tasks", type=int, default=600, help="fresh test tasks (default %(default)s)")
    e.add_argument("--shots", type=int, default=None,
                   help="support examples per task, per class for classification (default: as trained)")
    e.add_argument("--query", type=int, default=None,
                   help="query examples per task (default 100), per class for classification (default 15)")
    e.add_argument("--ways", type=int, default=None,
                   help="classes per task for classification, at most as trained (default: as trained)")
    e.add_argument("--split", choices=("test", "train"), default=EvalConfig().split,
                   help="tasks from the meta-test classes (default) or the meta-training ones")
    e.add_argument("--steps", type=int, default=10, help="inner steps; losses after 0..steps (default %(default)s)")
    e.add_argument("--alpha", type=float, default=None, help="inner step size (default: as trained)")
    e.add_argument("--seed", type=int, default=EvalConfig().seed, help="seed of the test tasks (default %(default)s)")
    e.add_argument("--family", default=None, help="refuse a checkpoint trained on another family")
    e.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="auto picks cuda, then mps, then cpu")
    e.add_argument("--threads", type=int, default=DEFAULT_CPU_THREADS, help="CPU threads for torch")
    e.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    _sweep_parser(sub)
    return p


def _list(kind: type):
    def parse(text: str) -> tuple:
        try:
            values = tuple(dict.fromkeys(kind(v) for v in text.split(",") if v.strip()))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__} values, got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError("expected at least one value")
        return values
    return parse


def _sweep_parser(sub) -> None:
    s = sub.add_parser("sweep", help="train and evaluate every α × k × seed cell, in parallel",
                       description="Train and evaluate every (α, k, seed) cell; one JSON file per finished cell in --out.")
    s.add_argument("--family", default=_D.family, help=f"task family: {', '.join(TASK_FAMILIES)}")
    s.add_argument("--algorithm", default=_D.algorithm, help=f"algorithm: {', '.join(ALGORITHMS)}")
    s.add_argument("--alphas", type=_list(float), required=True, help="inner step sizes, e.g. 0.003,0.01,0.03")
    s.add_argument("--ks", type=_list(int), required=True, help="inner steps, e.g. 1,3")
    s.add_argument("--seeds", type=_list(int), default=(0,), help="training seeds, e.g. 0,1 (default 0)")
    s.add_argument("--iterations", type=int, default=300, help="meta-iterations per cell (default %(default)s)")
    for flag, kind in (("beta", float), ("shots", int), ("query", int), ("meta-batch", int), ("ways", int)):
        s.add_argument(f"--{flag}", type=kind, default=getattr(_D, flag.replace("-", "_")), help="as for train")
    s.add_argument("--first-order", action="store_true", help="as for train")
    s.add_argument("--eval-tasks", type=int, default=100, help="test tasks per cell (default %(default)s)")
    s.add_argument("--eval-seed", type=int, default=EvalConfig().seed, help="seed of the test tasks")
    s.add_argument("--workers", type=int, default=1, help="cells at once, one torch thread each (default 1: in this process)")
    s.add_argument("--backend", choices=("process", "ray"), default="process",
                   help="process: the standard library's process pool; ray: Ray tasks (pip install -r requirements-ray.txt)")
    s.add_argument("--address", default=None, help="with --backend ray: an existing cluster (HOST:PORT); default a local Ray")
    s.add_argument("--out", required=True, help="directory for one JSON file per finished cell (re-runs skip them)")
    s.add_argument("--json", action="store_true", help="print one JSON object with every cell on stdout")


class _Progress:
    """A one-line progress bar on a terminal; a line every 10% otherwise."""

    def __init__(self, total: int, stream: TextIO, enabled: bool):
        self.total, self.stream, self.enabled = total, stream, enabled
        self.tty = enabled and stream.isatty()
        self._last_draw = 0.0
        self._next_pct = 10

    def update(self, rec) -> None:
        if not self.enabled:
            return
        frac = rec.iteration / max(self.total, 1)
        eta = (self.total - rec.iteration) / rec.its_per_sec if rec.its_per_sec > 0 else 0.0
        line = (f"it {rec.iteration}/{self.total} ({100 * frac:3.0f}%)  J={rec.meta_loss:.4f}  "
                f"pre={rec.pre_loss:.4f}  post={rec.post_loss:.4f}  {rec.its_per_sec:.0f} it/s  ETA {eta:.0f}s")
        now = time.monotonic()
        if self.tty:
            if now - self._last_draw > 0.1 or rec.iteration == self.total:
                bar = "#" * int(20 * frac)
                self.stream.write(f"\r[{bar:<20}] {line}")
                self.stream.flush()
                self._last_draw = now
        elif 100 * frac >= self._next_pct:
            self.stream.write(line + "\n")
            self._next_pct = int(100 * frac) // 10 * 10 + 10

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _train(args: argparse.Namespace) -> int:
    configure_threads(args.threads)
    out = Path(args.out)
    if args.resume:
        ckpt = load_checkpoint(out)
        cfg = replace(ckpt.config, iterations=args.iterations, device=args.device, cuda_graph=args.cuda_graph)
        history = ckpt.metrics
    else:
        cfg = TrainConfig(
            family=args.family, algorithm=args.algorithm, alpha=args.alpha, beta=args.beta, k=args.k,
            shots=args.shots, query=args.query, meta_batch=args.meta_batch, iterations=args.iterations,
            seed=args.seed, first_order=args.first_order, outer_loss=args.outer_loss,
            outer_optimizer=args.optimizer, imaml_lambda=args.imaml_lambda, cg_steps=args.cg_steps,
            hidden=args.hidden, device=args.device, dtype=args.dtype,
            ways=args.ways, cuda_graph=args.cuda_graph,
        )
        history = MetricHistory()
    trainer = Trainer(cfg)
    if args.resume:
        trainer.load_state_dict(ckpt.state)
    progress = _Progress(cfg.iterations, sys.stderr, not args.quiet)
    last_save = time.monotonic()
    status = 0
    try:
        for rec in trainer:
            history.append(rec)
            progress.update(rec)
            if time.monotonic() - last_save > _SAVE_EVERY_S:
                save_run(out, trainer.state_dict(), history)
                last_save = time.monotonic()
    except TrainingDiverged as exc:
        progress.close()
        print(f"error: {exc}", file=sys.stderr)
        status = EXIT_DIVERGED
    except KeyboardInterrupt:
        progress.close()
        print(f"interrupted at iteration {trainer.iteration}; progress saved to {out} (resume with --resume)",
              file=sys.stderr)
        status = EXIT_INTERRUPTED
    else:
        progress.close()
    save_run(out, trainer.state_dict(), history)
    if trainer.fallback_reason:
        print(f"warning: {trainer.fallback_reason}", file=sys.stderr)
    if status == 0 and not args.quiet:
        last = history.latest
        summary = f"; final J={last.meta_loss:.4f}, {last.its_per_sec:.0f} it/s" if last else ""
        print(f"trained {trainer.iteration} iterations in {trainer.elapsed:.1f}s on {trainer.device}{summary}; "
              f"wrote {out}", file=sys.stderr)
    return status


def _evaluate(args: argparse.Namespace) -> int:
    configure_threads(args.threads)
    ckpt = load_checkpoint(args.dir, expected_family=args.family)
    cfg = ckpt.config
    if args.ways is not None and args.ways > cfg.ways:
        raise ValueError(f"--ways {args.ways} is more than the {cfg.ways} classes the model was trained to output")
    family = get_family(cfg.family).configure(replace(cfg, ways=args.ways if args.ways is not None else cfg.ways))
    eval_cfg = EvalConfig(
        tasks=args.tasks, shots=args.shots if args.shots is not None else cfg.shots,
        query=args.query if args.query is not None else family.eval_query,
        steps=args.steps, alpha=args.alpha, seed=args.seed, split=args.split,
    )
    alpha = eval_cfg.alpha if eval_cfg.alpha is not None else cfg.alpha
    device = resolve_device(args.device)
    result = evaluate(ckpt.model, family, get_algorithm(cfg.algorithm), ckpt.meta_params, alpha, eval_cfg, device)
    if not result.finite:
        print(f"warning: the query loss is not finite from step {result.first_nonfinite_step} on: adapting with "
              f"α={alpha:g} for {eval_cfg.steps} steps overshoots (try fewer --steps or a smaller --alpha)",
              file=sys.stderr)
    if args.json:
        payload = {"family": cfg.family, "algorithm": cfg.algorithm, "query": eval_cfg.query, "split": eval_cfg.split,
                   **({"ways": family.ways} if family.is_classification else {}), **result.to_dict()}
        print(json.dumps(payload))
    else:
        shots = f"{family.ways}-way {eval_cfg.shots}-shot" if family.is_classification else f"{eval_cfg.shots} shots"
        print(f"{cfg.family} / {cfg.algorithm}: {eval_cfg.tasks} {eval_cfg.split} tasks, {shots}, α={alpha:g}")
        print("step  query loss  ±95%" + ("     accuracy" if result.accuracy_by_step else ""))
        for i, (m, c) in enumerate(zip(result.loss_by_step, result.ci95_by_step)):
            acc = f"  {result.accuracy_by_step[i]:.3f}" if result.accuracy_by_step else ""
            print(f"{i:4d}  {m:10.4f}  {c:.4f}{acc}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from .sweep import SweepConfig, run_cells  # the sweep engine is only loaded for this command

    base = TrainConfig(family=args.family, algorithm=args.algorithm, beta=args.beta, shots=args.shots,
                       query=args.query, meta_batch=args.meta_batch, ways=args.ways,
                       first_order=args.first_order, device="cpu", seed=args.seeds[0])
    family = get_family(base.family).configure(base)
    sweep = SweepConfig(base=base, alphas=args.alphas, ks=args.ks, seeds=args.seeds, iterations=args.iterations,
                        eval=EvalConfig(tasks=args.eval_tasks, shots=base.shots, query=family.eval_query,
                                        seed=args.eval_seed), max_cells=100_000)
    backend = "ray" if args.backend == "ray" else ("process" if args.workers > 1 else "sequential")
    t0 = time.perf_counter()

    def line(r, done: int, total: int) -> None:
        what = "diverged" if r.diverged else f"loss {r.final_loss:.4f} after {r.k} steps"
        print(f"cell {done}/{total}  α={r.alpha:g} k={r.k} seed={r.seed}: {what}  ({r.seconds:.1f} s training, "
              f"{time.perf_counter() - t0:.1f} s elapsed)", file=sys.stderr, flush=True)

    cells = run_cells(sweep, backend=backend, workers=args.workers, address=args.address, out=args.out, on_cell=line)
    if args.json:
        print(json.dumps({"family": base.family, "algorithm": base.algorithm, "iterations": sweep.iterations,
                          "backend": backend, "workers": args.workers,
                          "seconds": round(time.perf_counter() - t0, 3), "cells": [c.to_dict() for c in cells]}))
    return 0


_COMMANDS = {"train": _train, "evaluate": _evaluate, "sweep": _sweep}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except (ValueError, CheckpointError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # never a traceback for a user; say what broke in one line
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
