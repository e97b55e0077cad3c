"""Sweeps: a grid of short meta-trainings (α × k × seed), each scored on the same seeded test tasks.

Every cell trains ``base`` with one (α, k, seed), the same iteration budget, then ``evaluate``
measures the query loss after 0…k steps with that α on the same seeded test tasks
(``SweepConfig.eval``), so cells differ only in α, k and the training seed.

One engine, three backends. A cell is a frozen ``SweepCell``; ``run_cell(spec, cell)`` trains and
scores it from picklable arguments alone, with one torch thread, so it runs the same in this
process (``sequential``), in a standard-library process pool (``process``, spawn context, one cell
per worker at a time) or as a Ray task (``ray``: a local Ray, or a cluster with ``address``; Ray is
imported only then). Each cell seeds its own trainer and test tasks, so the same cells give the same
numbers whichever backend ran them. Finished cells can be written into a directory as they finish
(one JSON file per cell, atomically), and a re-run with the same directory and settings skips them.

Why cells are not vectorised over configs in one process: k sets the depth of the differentiated
inner loop, so cells with different k are different computation graphs; each cell also needs its
own outer-optimizer state and its own divergence detection (one diverging α must not stop its
neighbours) and must equal an individual training with the same seed (the tests check that exactly).
The page's grid is capped at ``MAX_CELLS`` with a cost estimate up front (``estimate_seconds``).
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterator

from .config import EvalConfig, TrainConfig
from .device import configure_threads, keep_freed_cpu_memory
from .history import MetricHistory
from .i18n import _
from .runs import write_run
from .evaluate import evaluate
from .losses import LOSSES
from .train import Trainer, TrainingDiverged, make_family

__all__ = ["MAX_CELLS", "BACKENDS", "SweepConfig", "SweepCell", "CellResult", "SweepResult", "cell_config",
           "measure_its_per_sec", "estimate_seconds", "run_cell", "run_cells", "run_sweep", "summarize",
           "load_finished", "parse_grid"]

MAX_CELLS = 36  # the page's cap: at most a 6 × 6 grid, a lecture waits seconds to a few minutes
BACKENDS = ("sequential", "process", "ray")
_PROBE_ITERATIONS = 5  # iterations timed to estimate the cost (after one warm-up iteration)

Progress = Callable[[int, int], None]  # (cells done, cells in all)


@dataclass(frozen=True)
class SweepConfig:
    base: TrainConfig  # family, algorithm, β, shots, meta-batch … shared by every cell
    alphas: tuple[float, ...] = (0.003, 0.01, 0.03)
    ks: tuple[int, ...] = (1, 3, 5)
    iterations: int = 200  # meta-iterations per cell (short: the sweep shows trends, not final numbers)
    eval: EvalConfig = field(default_factory=lambda: EvalConfig(tasks=100, steps=1))  # steps: set per cell
    seeds: tuple[int, ...] | None = None  # training seeds; None: the base's seed alone
    max_cells: int = MAX_CELLS  # the command line allows larger grids

    def __post_init__(self) -> None:
        if not self.alphas or not self.ks or (self.seeds is not None and not self.seeds):
            raise ValueError(_("a sweep needs at least one α, one k and one seed"))
        if any(not (isinstance(a, (int, float)) and math.isfinite(a) and a > 0) for a in self.alphas):
            raise ValueError(_("every α must be a finite number > 0, got {values}").format(values=repr(self.alphas)))
        if any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in self.ks):
            raise ValueError(_("every k must be an integer >= 1, got {values}").format(values=repr(self.ks)))
        if any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in self.seed_list):
            raise ValueError(_("every seed must be an integer >= 0, got {values}").format(values=repr(self.seeds)))
        if self.cells > self.max_cells:
            raise ValueError(_("the grid has {cells} cells; at most {limit} are allowed").format(
                cells=self.cells, limit=self.max_cells))
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(_("iterations must be an integer >= 1, got {value}").format(value=repr(self.iterations)))

    @property
    def seed_list(self) -> tuple[int, ...]:
        return tuple(self.seeds) if self.seeds is not None else (self.base.seed,)

    @property
    def cells(self) -> int:
        return len(self.alphas) * len(self.ks) * len(self.seed_list)

    def grid(self) -> tuple["SweepCell", ...]:
        """Every cell, k outermost, then α, then seed (the order results are reported in)."""
        return tuple(SweepCell(a, k, s) for k in self.ks for a in self.alphas for s in self.seed_list)


@dataclass(frozen=True)
class SweepCell:
    alpha: float
    k: int
    seed: int

    @property
    def name(self) -> str:
        """A file name for the cell (``repr`` of α round-trips exactly)."""
        return f"cell_alpha{self.alpha!r}_k{self.k}_seed{self.seed}.json"


@dataclass(frozen=True)
class CellResult:
    alpha: float
    k: int
    seed: int
    loss_by_step: tuple[float, ...]  # mean query loss after 0…k steps; empty when training diverged
    ci95_by_step: tuple[float, ...]
    accuracy_by_step: tuple[float, ...] | None  # classification only
    seconds: float  # training wall time
    diverged: bool
    iterations: int  # meta-iterations completed

    @property
    def cell(self) -> SweepCell:
        return SweepCell(self.alpha, self.k, self.seed)

    @property
    def final_loss(self) -> float:
        return self.loss_by_step[-1] if self.loss_by_step else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["accuracy_by_step"] is None:
            del d["accuracy_by_step"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CellResult":
        acc = d.get("accuracy_by_step")
        return cls(float(d["alpha"]), int(d["k"]), int(d["seed"]), tuple(d["loss_by_step"]), tuple(d["ci95_by_step"]),
                   tuple(acc) if acc is not None else None, float(d["seconds"]), bool(d["diverged"]),
                   int(d["iterations"]))


@dataclass(frozen=True)
class SweepResult:
    """The (α, k) grid for a heatmap: values averaged over the seeds."""

    alphas: tuple[float, ...]
    ks: tuple[int, ...]
    loss: list[list[float]]  # [k index][α index] mean query loss after k steps; NaN where training diverged
    ci95: list[list[float]]
    accuracy: list[list[float]] | None  # classification only
    seconds: list[list[float]]  # training wall time per cell
    diverged: list[list[bool]]
    loss_name: str = "MSE"


def cell_config(sweep: SweepConfig, alpha: float, k: int, seed: int | None = None) -> TrainConfig:
    """The training config of one cell: the base with this α, k (and seed) and the sweep's budget."""
    cfg = replace(sweep.base, alpha=alpha, k=k, iterations=sweep.iterations)
    return cfg if seed is None else replace(cfg, seed=seed)


def measure_its_per_sec(cfg: TrainConfig, iterations: int = _PROBE_ITERATIONS) -> float:
    """Meta-iterations per second of ``cfg`` on this machine now (one warm-up, then ``iterations`` timed)."""
    trainer = Trainer(replace(cfg, iterations=iterations + 1))
    try:
        trainer.step()
        t0 = time.perf_counter()
        for _step in range(iterations):
            trainer.step()
    except TrainingDiverged:
        pass  # a diverging probe still measured some steps; the cost estimate needs only the time
    dt = time.perf_counter() - t0 if "t0" in locals() else 0.0
    done = max(trainer.iteration - 1, 1)
    return done / dt if dt > 0 else float("inf")


def estimate_seconds(sweep: SweepConfig, its_per_sec: float) -> float:
    """Training seconds for the whole grid on one core: iterations × cells / it/s (no evaluation).

    Measure ``its_per_sec`` at the largest k (``measure_its_per_sec(cell_config(sweep, α, max k))``):
    cost grows with k, so the estimate is an upper bound for the other rows.
    """
    if not its_per_sec > 0:
        raise ValueError(f"its_per_sec must be > 0, got {its_per_sec!r}")
    return sweep.iterations * sweep.cells / its_per_sec


# -- one cell ----------------------------------------------------------------------------------------

def run_cell(sweep: SweepConfig, cell: SweepCell, threads: int | None = 1,
             should_stop: Callable[[], bool] | None = None, save_to: Path | None = None) -> CellResult | None:
    """Train and score one cell: pure in its (picklable) arguments, so any worker gives the same result.

    ``threads``: the torch threads of a worker process (None: leave the process's setting alone, as
    the app's job threads do). ``should_stop`` is asked between meta-iterations; the cell returns None
    when it says stop. ``save_to``: also keep the cell's trained run there as a run directory
    (``leo_core.runs``; a disk that cannot be written only loses that copy).
    """
    if threads is not None:  # a worker process of its own: its process-wide settings
        configure_threads(threads)
        keep_freed_cpu_memory()
    cfg = cell_config(sweep, cell.alpha, cell.k, cell.seed)
    trainer = Trainer(cfg)
    history = MetricHistory()
    t0 = time.perf_counter()
    try:
        while not trainer.done:
            if should_stop is not None and should_stop():
                return None
            history.append(trainer.step())
    except TrainingDiverged:
        _keep_run(save_to, trainer, history, "diverged")
        return CellResult(cell.alpha, cell.k, cell.seed, (), (), None, time.perf_counter() - t0, True,
                          trainer.iteration)
    seconds = time.perf_counter() - t0
    _keep_run(save_to, trainer, history, "finished")
    result = evaluate(trainer.model, trainer.family, trainer.algorithm, trainer.meta_params, cell.alpha,
                      replace(sweep.eval, steps=cell.k), trainer.device)
    acc = tuple(result.accuracy_by_step) if result.accuracy_by_step else None
    return CellResult(cell.alpha, cell.k, cell.seed, tuple(result.loss_by_step), tuple(result.ci95_by_step), acc,
                      seconds, not result.finite, trainer.iteration)


def _keep_run(path: Path | None, trainer: Trainer, history: MetricHistory, status: str) -> None:
    if path is None:
        return
    try:
        write_run(path, trainer.state_dict(), history, {"status": status, "iteration": trainer.iteration,
                                                         "total": trainer.cfg.iterations, "origin": "app"})
    except OSError:
        pass  # the cell's result stands; only its run directory is missing


# -- finished cells on disk --------------------------------------------------------------------------

def _sweep_key(sweep: SweepConfig) -> dict[str, Any]:
    """What a stored cell must match to be reused: every setting except the grid's axes."""
    base = replace(sweep.base, alpha=TrainConfig.alpha, k=TrainConfig.k, seed=TrainConfig.seed).to_dict()
    return {"base": base, "iterations": sweep.iterations, "eval": asdict(sweep.eval)}


def _write_cell(out: Path, sweep: SweepConfig, result: CellResult) -> None:
    path = out / result.cell.name
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"sweep": _sweep_key(sweep), "cell": result.to_dict()}))
    os.replace(tmp, path)  # atomic: a stopped sweep leaves whole files or none


def load_finished(out: Path | str, sweep: SweepConfig) -> dict[SweepCell, CellResult]:
    """Cells of ``sweep`` already in ``out`` from a run with the same settings (others are ignored)."""
    out, key, found = Path(out), _sweep_key(sweep), {}
    wanted = set(sweep.grid())
    for path in out.glob("cell_*.json") if out.is_dir() else ():
        try:
            data = json.loads(path.read_text())
            if json.loads(json.dumps(key)) != data["sweep"]:
                continue
            result = CellResult.from_dict(data["cell"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a foreign or damaged file is recomputed, not trusted
        if result.cell in wanted:
            found[result.cell] = result
    return found


# -- backends ----------------------------------------------------------------------------------------

def _sequential(sweep: SweepConfig, cells: list[SweepCell], workers: int, address: str | None,
                should_stop: Callable[[], bool]) -> Iterator[CellResult]:
    for cell in cells:
        if should_stop():
            return
        yield run_cell(sweep, cell)


def _process(sweep: SweepConfig, cells: list[SweepCell], workers: int, address: str | None,
             should_stop: Callable[[], bool]) -> Iterator[CellResult]:
    # spawn: a fresh interpreter per worker (fork would copy torch's thread pools and locks).
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending = {pool.submit(run_cell, sweep, cell) for cell in cells}
        try:
            while pending:
                if should_stop():
                    return
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()


def _check_reachable(address: str) -> None:
    """A clear error for an address nothing listens on (Ray itself retries for minutes)."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1]
    host, _sep, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--address must look like HOST:PORT (or ray://HOST:PORT), got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ValueError(f"cannot reach a Ray cluster at {address}: {exc}") from None


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError("--backend ray needs the optional package 'ray': "
                         "pip install -r requirements-ray.txt") from None
    return ray


def _ray(sweep: SweepConfig, cells: list[SweepCell], workers: int, address: str | None,
         should_stop: Callable[[], bool]) -> Iterator[CellResult]:
    if address is not None:
        _check_reachable(address)
    ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        try:
            if address is None:  # a local Ray with `workers` CPUs: one cell per CPU at a time
                root = str(Path(__file__).resolve().parent.parent)  # so workers import this leo_core
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "PYTHONPATH": root}})
            else:
                ray.init(address=address, log_to_driver=False)
        except Exception as exc:  # ConnectionError, RuntimeError … from Ray: one line for the user
            raise ValueError(f"could not start or join Ray ({address or 'local'}): {exc}") from None
    remote = ray.remote(num_cpus=1)(run_cell)
    try:
        pending = [remote.remote(sweep, cell) for cell in cells]
        while pending:
            if should_stop():
                for ref in pending:
                    ray.cancel(ref)
                return
            done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
            for ref in done:
                yield ray.get(ref)
    finally:
        if started:
            ray.shutdown()


_BACKENDS = {"sequential": _sequential, "process": _process, "ray": _ray}


def run_cells(
    sweep: SweepConfig, backend: str = "sequential", workers: int = 1, address: str | None = None,
    out: Path | str | None = None, on_cell: Callable[[CellResult, int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None, reuse: bool = True,
) -> list[CellResult]:
    """Every cell of the sweep on ``backend``, in grid order (cells not run when stopped are missing).

    ``out``: each finished cell is written there as it finishes; with ``reuse`` the cells already
    there (same settings) are taken, not recomputed. ``on_cell(result, done, total)`` is called in
    this process as each cell finishes, in the order they finish. ``should_stop()`` is checked
    between cells; cells not finished then are dropped.
    """
    if backend not in _BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if address is not None and backend != "ray":
        raise ValueError("--address is for --backend ray")
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    results = load_finished(out_dir, sweep) if (out_dir is not None and reuse) else {}
    total, done = sweep.cells, len(results)
    for i, r in enumerate(results.values(), 1):
        if on_cell is not None:
            on_cell(r, i, total)
    todo = [c for c in sweep.grid() if c not in results]
    if todo:
        stop = should_stop or (lambda: False)
        for result in _BACKENDS[backend](sweep, todo, min(workers, len(todo)), address, stop):
            results[result.cell] = result
            done += 1
            if out_dir is not None:
                _write_cell(out_dir, sweep, result)
            if on_cell is not None:
                on_cell(result, done, total)
    return [results[c] for c in sweep.grid() if c in results]


def summarize(sweep: SweepConfig, cells: list[CellResult]) -> SweepResult:
    """The (α, k) grid of the final-step numbers, averaged over seeds (NaN where a seed diverged)."""
    nk, na = len(sweep.ks), len(sweep.alphas)
    by_cell = {r.cell: r for r in cells}
    loss = [[math.nan] * na for _ in range(nk)]
    ci = [[math.nan] * na for _ in range(nk)]
    acc: list[list[float]] = [[math.nan] * na for _ in range(nk)]
    seconds = [[0.0] * na for _ in range(nk)]
    diverged = [[False] * na for _ in range(nk)]
    for i, k in enumerate(sweep.ks):
        for j, alpha in enumerate(sweep.alphas):
            got = [by_cell[c] for c in (SweepCell(alpha, k, s) for s in sweep.seed_list) if c in by_cell]
            if not got:
                continue
            n = len(got)
            diverged[i][j] = any(r.diverged for r in got)
            seconds[i][j] = sum(r.seconds for r in got)
            loss[i][j] = sum(r.final_loss for r in got) / n
            ci[i][j] = sum(r.ci95_by_step[-1] if r.ci95_by_step else math.nan for r in got) / n
            if all(r.accuracy_by_step for r in got):
                acc[i][j] = sum(r.accuracy_by_step[-1] for r in got) / n
    family = make_family(sweep.base)
    return SweepResult(tuple(sweep.alphas), tuple(sweep.ks), loss, ci, acc if family.is_classification else None,
                       seconds, diverged, loss_name=LOSSES[family.loss].display)


def run_sweep(sweep: SweepConfig, progress: Progress | None = None,
              should_stop: Callable[[], bool] | None = None, backend: str = "sequential",
              workers: int = 1) -> SweepResult:
    """Train and score every cell (in this process by default) and return the (α, k) grid.

    ``progress(done, total)`` is called after each cell; ``should_stop()`` (if given) is checked
    before each cell, and cells not run are left NaN.
    """
    on_cell = (lambda r, done, total: progress(done, total)) if progress is not None else None
    cells = run_cells(sweep, backend=backend, workers=workers, on_cell=on_cell, should_stop=should_stop)
    return summarize(sweep, cells)


def parse_grid(text: str, kind: type) -> tuple:
    """Comma-separated grid values from a text field (``"0.01, 0.03"``) as a sorted tuple without repeats."""
    try:
        return tuple(sorted({kind(v.strip()) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise ValueError(_("could not read {text} as a comma-separated list of {kind} values").format(
            text=repr(text), kind=kind.__name__)) from None
