"""Search recommended settings for one (family, algorithm): re-runnable, seeded, small.

Each trial trains ``--iterations`` (1,500) meta-iterations at seed 0 and evaluates on ``--tasks``
(300) fresh test tasks of seed 1 after ``--steps`` (10) inner steps, classification in its
family's protocol (digits and points2d: 5-way 1-shot, see ``bench/_protocol.py``). The objective
is the final-step query MSE (regression) or minus the accuracy (classification); a diverged run
scores inf (accuracy 0). Every trial starts from TrainConfig's defaults (not from the current
table) plus the values the search space draws.

Optuna's TPE sampler with a fixed seed (``--sampler-seed``) draws ``--trials`` settings from the
search space declared below for the algorithm: α on the log stops of ``leo_core.settings.ALPHAS``,
β on ``BETAS``, k, and the algorithm's own knobs — every value lies on its widget. ``--grid``
instead runs an explicit small grid, e.g. ``--grid imaml_lambda=5,10,20 beta=0.001,0.003``
(the other fields at the defaults, or at ``--fixed`` values). ``--workers N`` runs N trials at
once in a process pool (one torch thread each). The best trial is printed as the table's entry
(settings, result, and the command that reproduces it, as separate fields); ``--write`` puts it into
``leo_core/data/recommended.json`` (the app's and the CLI's recommended settings), validated first.

    nice -n 5 python bench/recommend.py --family sinusoid --algorithm imaml --trials 16 --workers 2
    nice -n 5 python bench/recommend.py --family digits --algorithm anil --grid alpha=0.1,0.2,0.4 k=1,3
    python bench/recommend.py --family digits --algorithm anil --print-space
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _protocol import PROTOCOL, RunResult, RunSpec, cli_commands, run  # noqa: E402

from leo_core.config import TrainConfig  # noqa: E402
from leo_core.recommended import DATA_FILE, load_recommended  # noqa: E402
from leo_core.settings import ALPHAS, BETAS, SETTINGS  # noqa: E402
from leo_core.tasks import get_family  # noqa: E402

# The search space: field -> the values a trial may take (each on its widget's range or stops).
Space = dict[str, tuple[Any, ...]]


def _stops(values: tuple[float, ...], low: float, high: float) -> tuple[float, ...]:
    return tuple(v for v in values if low - 1e-12 <= v <= high + 1e-12)


def _common(family: str) -> Space:
    classification = get_family(family).is_classification
    alphas = _stops(ALPHAS, 0.01, 1.0) if classification else _stops(ALPHAS, 0.003, 0.1)
    return {"alpha": alphas, "beta": _stops(BETAS, 5e-4, 5e-3), "k": (1, 3, 5)}


def _space_imaml(family: str) -> Space:
    common = _common(family)
    # k and first_order do not enter iMAML's proximal solve; α is only its meta-test step for imaml_adapt=sgd.
    return {"beta": common["beta"], "imaml_lambda": (1.0, 2.0, 5.0, 10.0, 20.0, 50.0),
            "imaml_max_steps": (10, 25, 50), "cg_steps": (5, 10), "imaml_tol": (0.01, 0.05)}


def _space_latent(family: str) -> Space:
    return {**_common(family), "latent_lr": (0.03, 0.1, 0.3, 1.0, 3.0),
            "latent_kl": (0.0, 0.001, 0.01), "latent_encoder_penalty": (0.0, 0.001, 0.01),
            "latent_orthogonality": (0.0, 0.01, 0.1)}


def _space_meta_sgd(family: str) -> Space:
    return {**_common(family), "meta_sgd_init": ("random", "alpha"), "meta_sgd_step_lr": (0.1, 0.3, 1.0)}


SPACES: dict[str, Callable[[str], Space]] = {
    "leo": _common, "leo-fo": _common, "anil": _common, "meta-sgd": _space_meta_sgd, "reptile": _common,
    "imaml": _space_imaml, "leo-latent": _space_latent,
    "pretrained": lambda f: {"alpha": _common(f)["alpha"], "beta": _common(f)["beta"]},
    "random": lambda f: {"alpha": _common(f)["alpha"]},
}


def _check_space(space: Space) -> None:
    for name, values in space.items():
        bad = [v for v in values if SETTINGS[name].in_link and not SETTINGS[name].allows(v)]
        if bad:
            raise ValueError(f"{name}: {bad} are not on the widget's range")


def _parse_value(name: str, text: str) -> Any:
    kind = SETTINGS[name].kind
    if kind is bool:
        return text.lower() in ("1", "true", "yes")
    return kind(text) if kind in (int, float) else text


def _parse_assignments(items: list[str]) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for item in items:
        name, _, values = item.partition("=")
        name = name.replace("-", "_")
        if name not in SETTINGS or not values:
            raise ValueError(f"expected FIELD=V1,V2 with a TrainConfig field, got {item!r}")
        out[name] = tuple(_parse_value(name, v) for v in values.split(","))
    return out


def _fmt_value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else repr(v)


def _summary(result: RunResult) -> str:
    if result.diverged:
        return f"diverged at iteration {result.iterations}"
    t = result.test
    assert t is not None
    if result.classification:
        acc, ci = t["accuracy_by_step"], t["accuracy_ci95_by_step"]
        return f"accuracy after {t['steps']} steps {acc[-1]:.3f} ± {ci[-1]:.3f} (0 steps {acc[0]:.3f}, 1 step {acc[1]:.3f})"
    loss, ci = t["loss_by_step"], t["ci95_by_step"]
    return f"query MSE after {t['steps']} steps {loss[-1]:.3f} ± {ci[-1]:.3f} (0 steps {loss[0]:.3f}, 1 step {loss[1]:.3f})"


def recommendation_entry(best: RunResult, trials: list[RunResult], how: str) -> dict[str, Any]:
    """The table's entry for the best trial: ``{"settings", "result", "command"}``."""
    spec = best.spec
    defaults = TrainConfig()
    settings = {k: v for k, v in spec.settings.items() if getattr(defaults, k) != v}
    proto = PROTOCOL.get(spec.family)
    head = f"{proto['ways']}-way {proto['shots']}-shot " if proto else ""
    others = sorted((r for r in trials if r is not best), key=lambda r: r.objective)[:4]
    key = "accuracy" if best.classification else "MSE"
    runner_up = "; ".join(
        f"{', '.join(f'{k} {_fmt_value(v)}' for k, v in r.spec.settings.items())}: "
        f"{'diverged' if r.diverged else f'{abs(r.objective):.3f}'}" for r in others)
    result = (f"{head}{_summary(best)} on {spec.tasks} tasks, {spec.iterations} iterations, seed 0. "
              f"{how} ({len(trials)} trials; next best {key}: {runner_up}).")
    return {"settings": settings, "result": result, "command": cli_commands(spec)}


def write_entry(family: str, algorithm: str, entry: dict[str, Any], path: Path = DATA_FILE) -> None:
    """Put ``entry`` into the recommended-settings file (the whole table is validated before it is replaced)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["recommended"].setdefault(algorithm, {})[family] = entry
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        load_recommended(tmp)
    except ValueError:
        tmp.unlink()
        raise
    tmp.replace(path)


def _grid_specs(grid: dict[str, tuple[Any, ...]], fixed: dict[str, Any], base: RunSpec) -> list[RunSpec]:
    names = list(grid)
    return [RunSpec(**{**base.__dict__, "settings": {**fixed, **dict(zip(names, combo))}})
            for combo in itertools.product(*(grid[n] for n in names))]


def _run_pool(specs_or_sampler, workers: int, total: int, on_done: Callable[[RunResult, Any], None]) -> None:
    """Run ``total`` specs, ``workers`` at a time; ``specs_or_sampler()`` returns (spec, tag) for the next."""
    if workers <= 1:
        for _ in range(total):
            spec, tag = specs_or_sampler()
            on_done(run(spec), tag)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: dict[Future, Any] = {}
        started = 0
        while started < total or pending:
            while started < total and len(pending) < workers:
                spec, tag = specs_or_sampler()
                pending[pool.submit(run, spec)] = tag
                started += 1
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                on_done(fut.result(), pending.pop(fut))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", required=True)
    p.add_argument("--algorithm", required=True)
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--sampler-seed", type=int, default=0)
    p.add_argument("--iterations", type=int, default=1500)
    p.add_argument("--tasks", type=int, default=300)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--grid", nargs="+", metavar="FIELD=V1,V2", help="an explicit grid instead of the TPE search")
    p.add_argument("--fixed", nargs="+", default=[], metavar="FIELD=V",
                   help="fields held at one value in every trial (TPE or grid)")
    p.add_argument("--space", nargs="+", metavar="FIELD=V1,V2", help="replace (or add) search-space fields")
    p.add_argument("--print-space", action="store_true")
    p.add_argument("--json", type=Path, help="write every trial here")
    p.add_argument("--write", action="store_true", help=f"put the best trial into {DATA_FILE.name}")
    args = p.parse_args(argv)

    fixed = {k: v[0] for k, v in _parse_assignments(args.fixed).items()}
    space = {k: v for k, v in SPACES[args.algorithm](args.family).items() if k not in fixed}
    if args.space:
        space.update(_parse_assignments(args.space))
    _check_space({**space, **{k: (v,) for k, v in fixed.items()}})
    if args.print_space:
        for name, values in space.items():
            print(f"{name}: {', '.join(map(_fmt_value, values))}")
        return 0
    base = RunSpec(args.family, args.algorithm, iterations=args.iterations, tasks=args.tasks, steps=args.steps,
                   recommended=False)
    results: list[RunResult] = []

    def report(result: RunResult, tag: Any) -> None:
        results.append(result)
        settings = ", ".join(f"{k}={_fmt_value(v)}" for k, v in result.spec.settings.items())
        print(f"trial {len(results):3d}  {settings}  ->  {_summary(result)}  [{result.train_seconds:.0f} s]",
              flush=True)

    if args.grid:
        specs = iter(_grid_specs(_parse_assignments(args.grid), fixed, base))
        total = len(_grid_specs(_parse_assignments(args.grid), fixed, base))
        how = f"Grid over {', '.join(args.grid)}" + (f" with {', '.join(args.fixed)}" if args.fixed else "")
        _run_pool(lambda: (next(specs), None), args.workers, total, report)
    else:
        try:
            import optuna  # benchmarks only: pip install -r requirements-bench.txt
        except ImportError:
            raise SystemExit("error: the TPE search needs Optuna (pip install -r requirements-bench.txt); "
                             "--grid runs without it")

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=args.sampler_seed, n_startup_trials=min(8, args.trials))
        study = optuna.create_study(direction="minimize", sampler=sampler)

        def ask() -> tuple[RunSpec, Any]:
            trial = study.ask()
            drawn = {name: trial.suggest_categorical(name, list(values)) for name, values in space.items()}
            return RunSpec(**{**base.__dict__, "settings": {**fixed, **drawn}}), trial

        def tell(result: RunResult, trial: Any) -> None:
            report(result, trial)
            study.tell(trial, result.objective if math.isfinite(result.objective) else 1e9)

        how = (f"Optuna TPE (sampler seed {args.sampler_seed}) over {', '.join(space)}"
               + (f" with {', '.join(args.fixed)}" if args.fixed else "") + "; `python bench/recommend.py --family "
               f"{args.family} --algorithm {args.algorithm} --trials {args.trials}`")
        _run_pool(ask, args.workers, args.trials, tell)

    best = min(results, key=lambda r: r.objective)
    print(f"\n# best of {len(results)}: {_summary(best)}")
    entry = recommendation_entry(best, results, how)
    print(json.dumps({args.algorithm: {args.family: entry}}, indent=1, ensure_ascii=False))
    if args.write:
        write_entry(args.family, args.algorithm, entry)
        print(f"wrote it to {DATA_FILE}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.to_dict() for r in results], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
