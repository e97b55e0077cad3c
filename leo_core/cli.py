"""Command line: ``python -m leo_core train …`` and ``python -m leo_core evaluate DIR …``.

Bad input exits non-zero with one line on stderr, never a traceback: outside scripts rely on it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence, TextIO

from .algorithms import get_algorithm
from .checkpoint import CheckpointError, load_checkpoint, save_run
from .config import EvalConfig, TrainConfig
from .device import DEFAULT_CPU_THREADS, DEVICE_CHOICES, configure_threads, resolve_device, keep_freed_cpu_memory
from .evaluate import evaluate, evaluate_one_shot_runs
from .history import MetricHistory
from .recommended import TUNED_FIELDS, recommended_config, recommended_settings
from .settings import SETTINGS, TRAIN_SETTINGS, Setting, checked
from .tasks import get_family
from .train import Trainer, TrainingDiverged

__all__ = ["main"]

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 1
EXIT_INTERRUPTED = 130
_SAVE_EVERY_S = 30.0  # a long run writes its checkpoint this often, so a crash loses little


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + error
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see --help)\n")


def _typed(parse):
    """argparse's ``type``: a ValueError becomes argparse's one-line "invalid value" error."""
    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


_REGISTRIES = ("family", "algorithm")


def _add_setting(parser: argparse.ArgumentParser, setting: Setting) -> None:
    """One flag per training setting, from its single declaration; left out, it is ``None`` and the
    run takes the recommended value for its family and algorithm."""
    flags = [setting.flag, *setting.cli_aliases]
    if setting.name in TUNED_FIELDS:
        default_text = "default: recommended for the family and algorithm"
    else:
        default = ",".join(map(str, setting.default)) if isinstance(setting.default, tuple) else setting.default
        default_text = f"default {default}"
    help_text = f"{setting.help} ({default_text})".replace("%", "%%")
    if setting.kind is bool:
        parser.add_argument(*flags, dest=setting.name, action=argparse.BooleanOptionalAction, default=None,
                            help=help_text)
        return
    # Family and algorithm are checked by their registries, whose errors name the choices.
    choices = setting.choices if setting.choices is not None and setting.name not in _REGISTRIES else None
    if setting.name in _REGISTRIES:
        help_text = f"{', '.join(setting.choices)}. {help_text}"
    kind = setting.parse or setting.kind
    parser.add_argument(*flags, dest=setting.name, type=_typed(kind) if setting.parse else kind, choices=choices,
                        default=None, metavar=None if choices else setting.name.upper(), help=help_text)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m leo_core", description="LEO Explorer: meta-train and evaluate initializations.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="meta-train an initialization and write a checkpoint",
                       description="Meta-train θ₀ and write checkpoint.pt, metrics.csv and config.json into --out.")
    for setting in TRAIN_SETTINGS:
        if setting.on_cli:
            _add_setting(t, setting)
    t.add_argument("--threads", type=int, default=DEFAULT_CPU_THREADS,
                   help="CPU threads for torch (default %(default)s: fastest for these tiny models, robust under load)")
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
    e.add_argument("--one-shot-runs", action="store_true",
                   help="omniglot, 20 ways: score Lake et al.'s 20 one-shot runs (error rate after --steps)")
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
    for name in ("family", "algorithm"):
        _add_setting(s, SETTINGS[name])
    s.add_argument("--alphas", type=_list(float), required=True, help="inner step sizes, e.g. 0.003,0.01,0.03")
    s.add_argument("--ks", type=_list(int), required=True, help="inner steps, e.g. 1,3")
    s.add_argument("--seeds", type=_list(int), default=(0,), help="training seeds, e.g. 0,1 (default 0)")
    s.add_argument("--iterations", type=int, default=300, help="meta-iterations per cell (default %(default)s)")
    for name in ("beta", "shots", "query", "meta_batch", "ways", "first_order", "outer_optimizer", "beta_schedule"):
        _add_setting(s, SETTINGS[name])  # as for train: left out, the recommended setting
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
                f"pre={rec.pre_loss:.4f}  post={rec.post_loss:.4f}  "
                f"{'' if rec.inner_residual is None else f'res={rec.inner_residual:.3f}  '}{rec.its_per_sec:.0f} it/s  ETA {eta:.0f}s")
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


def _config_from_flags(args: argparse.Namespace) -> tuple[TrainConfig, set[str]]:
    """The run's config: the flags given, and the recommended settings of the family and algorithm (and the
    family's own problem defaults) for every flag left out. Also returns the names the user set."""
    given = {s.name: getattr(args, s.name) for s in TRAIN_SETTINGS if s.on_cli and getattr(args, s.name) is not None}
    family = given.pop("family", TrainConfig.family)
    algorithm = given.pop("algorithm", TrainConfig.algorithm)
    recommended = recommended_settings(family, algorithm)
    defaults = get_family(family).train_defaults()
    return checked(TrainConfig(family=family, algorithm=algorithm, **{**defaults, **recommended, **given})), set(given)


def _print_settings(cfg: TrainConfig, chosen: set[str], stream: TextIO) -> None:
    """One line: every tuned setting of the run, those the user set marked with *."""
    shown = [s.name for s in TRAIN_SETTINGS if s.in_link and s.name not in ("family", "algorithm", "device")
             and s.shown_for(cfg.algorithm, cfg.family)]
    parts = [f"{name}={getattr(cfg, name)}{'*' if name in chosen else ''}" for name in shown]
    stream.write(f"settings for {cfg.family} / {cfg.algorithm} (recommended; * = set by you): {' '.join(parts)}\n")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _stops_save():
    """Within: Ctrl-C and ``kill`` (SIGTERM) both raise KeyboardInterrupt, so the run is saved and the CLI
    exits with 130. A run started in the background by a shell (``cmd &``) has SIGINT ignored, so Ctrl-C's
    handler is put back too. The previous handlers return afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _train(args: argparse.Namespace) -> int:
    with _stops_save():
        return _run_training(args)


def _run_training(args: argparse.Namespace) -> int:
    configure_threads(args.threads)
    out = Path(args.out)
    if args.resume:
        ckpt = load_checkpoint(out)
        cfg = replace(ckpt.config, iterations=args.iterations if args.iterations is not None else ckpt.config.iterations,
                      device=args.device or "auto", cuda_graph=bool(args.cuda_graph))
        history = ckpt.metrics
    else:
        cfg, chosen = _config_from_flags(args)
        history = MetricHistory()
    trainer = Trainer(cfg)
    if not args.resume:
        _print_settings(cfg, chosen, sys.stderr)  # once the run is accepted: bad input stays one line
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
    if args.one_shot_runs:
        return _evaluate_one_shot_runs(args, ckpt)
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
    result = evaluate(ckpt.model, family, get_algorithm(cfg.algorithm, cfg), ckpt.meta_params, alpha, eval_cfg, device)
    if not result.finite:
        steps_of = "the learned steps" if cfg.algorithm == "meta-sgd" else f"α={alpha:g}"
        print(f"warning: first diverging step: {result.first_nonfinite_step} (the query loss is not finite from "
              f"there on): adapting with {steps_of} for {eval_cfg.steps} steps overshoots (try fewer --steps"
              f"{'' if cfg.algorithm == 'meta-sgd' else ' or a smaller --alpha'})", file=sys.stderr)
    if args.json:
        # Strict JSON: a diverged step's mean is null (first_nonfinite_step says from where), never NaN.
        payload = {"family": cfg.family, "algorithm": cfg.algorithm, "query": eval_cfg.query, "split": eval_cfg.split,
                   **({"ways": family.ways} if family.is_classification else {}), **_finite_or_null(result.to_dict())}
        print(json.dumps(payload, allow_nan=False))
    else:
        shots = f"{family.ways}-way {eval_cfg.shots}-shot" if family.is_classification else f"{eval_cfg.shots} shots"
        print(f"{cfg.family} / {cfg.algorithm}: {eval_cfg.tasks} {eval_cfg.split} tasks, {shots}, α={alpha:g}")
        print("step  query loss  ±95%" + ("     accuracy" if result.accuracy_by_step else ""))
        for i, (m, c) in enumerate(zip(result.loss_by_step, result.ci95_by_step)):
            if not math.isfinite(m):
                print(f"{i:4d}    diverged")
                continue
            acc = f"  {result.accuracy_by_step[i]:.3f}" if result.accuracy_by_step else ""
            print(f"{i:4d}  {m:10.4f}  {c:.4f}{acc}")
    return 0


def _evaluate_one_shot_runs(args: argparse.Namespace, ckpt) -> int:
    cfg = ckpt.config
    if cfg.family != "omniglot":
        raise ValueError(f"--one-shot-runs needs an omniglot checkpoint; this one was trained on {cfg.family}")
    if cfg.ways < 20:
        raise ValueError(f"Lake et al.'s one-shot runs are 20-way; this checkpoint outputs {cfg.ways} classes "
                         "(train with --ways 20)")
    alpha = args.alpha if args.alpha is not None else cfg.alpha
    EvalConfig(steps=args.steps, alpha=alpha)  # the same checks as a normal evaluation
    result = evaluate_one_shot_runs(ckpt.model, get_algorithm(cfg.algorithm, cfg), ckpt.meta_params, alpha,
                                    args.steps, resolve_device(args.device))
    if args.json:
        print(json.dumps({"family": cfg.family, "algorithm": cfg.algorithm, "ways": 20, "protocol":
                          "Lake et al. 2015, 20 within-alphabet 20-way one-shot runs",
                          **_finite_or_null(result.to_dict())}, allow_nan=False))
    else:
        print(f"{cfg.family} / {cfg.algorithm}: Lake et al.'s 20 one-shot runs (20-way), α={alpha:g}, {args.steps} steps")
        print(f"error rate {100 * result.error_rate:.1f}% (humans: 4.5%)")
        print("  ".join(f"run {r['run']}: {100 * r['error_rate']:.0f}%" for r in result.runs))
    return 0


def _finite_or_null(value):
    """``value`` with every non-finite float (in lists and dicts) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite_or_null(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    return value


def _sweep(args: argparse.Namespace) -> int:
    from .sweep import SweepConfig, run_cells  # the sweep engine is only loaded for this command

    given = {name: getattr(args, name) for name in ("beta", "shots", "query", "meta_batch", "ways", "first_order",
                                                    "outer_optimizer", "beta_schedule") if getattr(args, name) is not None}
    base = recommended_config(args.family or TrainConfig.family, args.algorithm or TrainConfig.algorithm, **given,
                              device="cpu", seed=args.seeds[0])
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
    keep_freed_cpu_memory()  # process-wide, at the entry point (leo_core/device.py)
    try:
        return _COMMANDS[args.command](args)
    except (ValueError, CheckpointError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # never a traceback for a user; say what broke in one line
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
