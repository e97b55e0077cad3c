"""Background meta-training for an interactive front end: one ``TrainingRunner`` per user session.

The runner is a ``leo_app.job.Job`` (the job model every kind of background work shares: status,
slot, pause/resume/stop); it owns a ``Trainer`` and a ``MetricHistory`` and runs the trainer in the
job's daemon thread. The thread never touches the UI: a front end polls ``snapshot()``,
which returns an immutable ``RunSnapshot`` (status, metrics, the latest finite θ₀ on the CPU).
Each ``start()`` freezes its ``TrainConfig``; changing settings afterwards affects only the next
start, never the running thread.

The Streamlit app holds one runner per browser session in a session-scoped resource whose
release hook calls ``close()``, so a closed tab stops its thread (see ``app.py``), and it keeps
the newest snapshot in ``st.session_state["leo_run"]`` for other pages.

Threading: torch runs one intra-op thread (``device.configure_threads``): the tensors are tiny,
and the server, the browser and other sessions share the cores. The training loop calls
``time.sleep(0)`` after every step, which hands the GIL to a waiting UI thread at once instead of
after Python's 5 ms switch interval; while other jobs run too it sleeps longer (``leo_app.job``), so
the server's event loop and the other sessions' polls get their turn.

Runs on disk: a runner given a runs root (the app's: ``leo_core.runs.runs_root()``) keeps its run in a run
directory there, in the CLI's format (``leo_core.runs``): saved when it starts or is loaded, every
``SAVE_EVERY_S`` while it trains, and when it pauses, stops, ends, diverges or its session closes (then
as ``interrupted``: opened again in the same server process, e.g. after a browser reload, it trains
on at once; after a server restart it opens stopped, ready to continue). ``open`` brings a run back
from its directory. A disk that cannot be written leaves ``save_error`` set and training going on.
A process-wide registry knows which runner holds which run, so one run has one writer: a run open
in another live tab opens here as a copy (its last save), and Continue saves the copy as a new run.

Many users: a run takes a slot from ``leo_app.jobs`` (``LEO_MAX_JOBS`` per server, default 4)
before its first step and shows status ``queued`` while it waits; pausing, stopping, finishing,
failing and closing give the slot back. ``close()`` waits at most ``CLOSE_JOIN_S`` for the thread.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


from leo_core.algorithms import MetaAlgorithm
from leo_core.config import TrainConfig
from leo_core.device import DEFAULT_CPU_THREADS, configure_threads, lower_thread_priority
from leo_core.checkpoint import CheckpointError, load_checkpoint
from leo_core.history import MetricHistory
from leo_core.i18n import N_, Message, _
from leo_core.runs import BOOT_ID, new_run_id, read_status, run_path
from .job import CLOSE_JOIN_S, SAVE_EVERY_S, Job, Progress, Status, all_finite, cpu_copy
from .jobs import JobSlots
from leo_core.models import Model, Params
from leo_core.tasks import TaskFamily
from leo_core.train import MetricRecord, Trainer, TrainingDiverged

__all__ = [
    "RunStatus", "RunSnapshot", "TrainingRunner", "with_iterations",
]

_PUBLISH_EVERY_S = 0.1  # how often the thread publishes a fresh θ₀ snapshot while running
_JOIN_TIMEOUT_S = 10.0
INTERRUPTED = "interrupted"  # run.json's status of a run whose session closed while it trained
_HANDOVER_S = 3.0  # how long ``open`` waits for a closing session (a browser reload) to save and let its run go
_LIVE_HANDOVER_S = 0.5  # … for a session still open to start closing (else: another tab holds the run)

_holders: dict[str, "TrainingRunner"] = {}  # run id → the runner writing it (one writer per run directory)
_holders_lock = threading.Lock()


def holder(run_key: str) -> "TrainingRunner | None":
    """The runner of this process that holds run ``run_key`` now (None: no one)."""
    with _holders_lock:
        return _holders.get(run_key)


def close_all(timeout: float = 10.0) -> None:
    """Close every runner holding a run (the server is shutting down): each saves its run first."""
    with _holders_lock:
        runners = list(set(_holders.values()))
    for r in runners:  # each stops its thread (waiting ≤ CLOSE_JOIN_S), which then saves the run as interrupted
        r.close()
    deadline = time.monotonic() + timeout
    for r in runners:
        r.join(max(0.0, deadline - time.monotonic()))


def runs_in_use() -> set[str]:
    """The ids of every run some runner of this process holds (never pruned)."""
    with _holders_lock:
        return set(_holders)


RunStatus = Status  # the job model's one status vocabulary (leo_app.job)


@dataclass(frozen=True)
class RunSnapshot(Progress):
    """What a front end shows: an immutable copy, safe to keep after the run moves on."""

    status: str
    error: str | None = None
    config: TrainConfig | None = None
    iteration: int = 0
    total: int = 0
    latest: MetricRecord | None = None
    columns: dict[str, list] = field(default_factory=dict)  # MetricHistory.columns()
    theta0: Params | None = None  # the newest finite θ₀ (detached, on the CPU): where a new task starts
    meta_params: Params | None = None  # all meta-parameters behind θ₀ (Meta-SGD's step sizes, LEO's codes…)
    theta_version: int = 0  # increases whenever ``theta0`` changes
    # Two-parameter models: (iteration, θ₀, θ₁) after every meta-iteration so far (published with θ₀).
    theta_path: tuple[tuple[int, float, float], ...] | None = None
    model: Model | None = None
    family: TaskFamily | None = None
    algorithm: MetaAlgorithm | None = None
    run_id: int = 0  # increases with every start/load/reset
    run_key: str | None = None  # the run directory's id (in the address bar); None: not on disk
    save_error: str | None = None  # why the last save failed (training goes on in memory)

    def _units(self) -> tuple[float, float, float]:
        return self.iteration, self.total, self.elapsed

    @property
    def its_per_sec(self) -> float:
        return self.latest.its_per_sec if self.latest else 0.0

    @property
    def elapsed(self) -> float:
        return self.latest.elapsed if self.latest else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the recent rate (None before the first iteration): a resumed run's own pace."""
        rate = self.its_per_sec
        if not rate or not math.isfinite(rate):
            return None
        return max(0, self.total - self.iteration) / rate


class TrainingRunner(Job):
    """Runs one training at a time in a background thread; safe to call from any thread."""

    def __init__(self, *, history_capacity: int = 2000, threads: int = DEFAULT_CPU_THREADS,
                 yield_every_step: bool = True, slots: JobSlots | None = None, root: Path | None = None,
                 save_every_s: float = SAVE_EVERY_S):
        super().__init__(slots=slots, threads=threads, root=root)
        self._history_capacity = history_capacity
        self._yield = yield_every_step
        self._trainer: Trainer | None = None
        self._history = MetricHistory(history_capacity)
        self._theta0: Params | None = None
        self._meta_params: Params | None = None
        self._theta_path: tuple[tuple[int, float, float], ...] | None = None
        self._theta_version = 0
        self._run_id = 0
        self._save_every_s = save_every_s
        self._run_key: str | None = None

    # -- run directories -------------------------------------------------------------------------

    def _hold(self, run_key: str | None) -> None:
        """Make ``run_key`` this runner's run (letting go of the previous one)."""
        with _holders_lock:
            if self._run_key is not None and _holders.get(self._run_key) is self:
                del _holders[self._run_key]
            if run_key is not None:
                _holders[run_key] = self
        self._run_key = run_key

    def _save(self, trainer: Trainer, history: MetricHistory, status: str) -> None:
        """Write the run directory (if this runner has one); a failure is kept in ``save_error``."""
        self._save_run(self._run_key, trainer, history, status)

    def open(self, run_key: str, device: str = "auto") -> str | None:
        """Bring run ``run_key`` back from its directory under the runs root; returns a note for the page.

        A run this process's closing session saved ``interrupted`` trains on at once; any other run opens
        stopped (Continue trains it on). A run another live tab holds opens as a copy of its last save.
        Raises ``ValueError`` with a one-line reason when there is no such run or it cannot be read.
        """
        if self._root is None:
            raise ValueError(_("runs are not saved on this server"))
        if run_key == self._run_key:
            return None
        path = run_path(self._root, run_key)
        other = holder(run_key)
        now = time.monotonic()
        closing_by, live_by = now + _HANDOVER_S, now + _LIVE_HANDOVER_S
        while other is not None and other is not self:
            if other.closed and time.monotonic() < closing_by:  # a reload: the old session saves; wait for it
                other.join(max(0.0, closing_by - time.monotonic()))
            elif not other.closed and time.monotonic() < live_by:  # a reload whose old session is not closed yet
                time.sleep(0.05)
            else:
                break  # another live tab holds it
            other = holder(run_key)
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as exc:
            raise ValueError(_("run {run} cannot be opened: {reason}").format(run=repr(run_key), reason=exc)) from None
        cfg = replace(ckpt.config, device=device)
        if other is not None and other is not self:
            self.load(cfg, ckpt.state, ckpt.metrics, save=False)
            return _("Run {run} is open in another tab; this is its last save (iteration {iteration}). Continue "
                     "trains a copy of it as a new run.").format(run=run_key, iteration=f"{ckpt.iteration:,}")
        saved = read_status(path)
        if saved.get("status") == INTERRUPTED and saved.get("boot") == BOOT_ID and ckpt.iteration < cfg.iterations:
            self.start(cfg, state=ckpt.state, history=ckpt.metrics, run_key=run_key)
            return None
        self.load(cfg, ckpt.state, ckpt.metrics, save=False)
        self._hold(run_key)
        return None

    @property
    def run_key(self) -> str | None:
        return self._run_key

    # -- control ---------------------------------------------------------------------------------

    def start(self, cfg: TrainConfig, *, state: dict[str, Any] | None = None,
              history: MetricHistory | None = None, run_key: str | None = None) -> None:
        """Stop any current run and train ``cfg`` (optionally continuing from a trainer ``state``).

        Building the trainer happens here, in the caller's thread, so a bad setting (an
        unavailable device, a checkpoint that does not fit) raises ``ValueError`` to the caller.
        With a runs root the run is saved in directory ``run_key`` (a new one when None).
        """
        if self._closed:
            raise RuntimeError(_("this runner is closed"))
        self.stop()
        configure_threads(self._threads)
        trainer = Trainer(cfg)
        if state is not None:
            trainer.load_state_dict(state)
        hist = history if history is not None else MetricHistory(self._history_capacity)
        with self._lock:
            self._trainer = trainer
            self._history = hist
            self._status = RunStatus.RUNNING
            self._error = None
            self._run_id += 1
            self._publish_theta()
            if self._root is not None:
                self._hold(run_key or new_run_id())
            self._save(trainer, hist, RunStatus.RUNNING)
            self._launch(self._loop, trainer, hist, name=f"leo-train-{self._run_id}")

    def extend(self, more_iterations: int) -> None:
        """Continue the current θ₀ (a stopped, finished or loaded run) for ``more_iterations``.

        The run keeps its own settings, optimizer state, metric history and run directory.
        """
        if more_iterations < 1:
            raise ValueError(_("more_iterations must be >= 1, got {n}").format(n=more_iterations))
        self.stop()
        with self._lock:
            trainer, history = self._trainer, self._history
            if trainer is None:
                raise ValueError(_("there is no run to continue; press Start"))
            if self._status == RunStatus.DIVERGED:
                raise ValueError(_("the run diverged; lower α (or β) and press Start"))
        state = self.state_dict()
        cfg = with_iterations(trainer.cfg, trainer.iteration + more_iterations)
        self.start(cfg, state=state, history=history, run_key=self._run_key)

    def load(self, cfg: TrainConfig, state: dict[str, Any], history: MetricHistory | None = None, *,
             save: bool = True) -> None:
        """Load a trained state (e.g. an uploaded checkpoint) to inspect it, without training.

        With a runs root and ``save`` it becomes a new run directory at once (so a link can name it)."""
        self.stop()
        trainer = Trainer(cfg)
        trainer.load_state_dict(state)
        with self._lock:
            self._trainer = trainer
            self._history = history if history is not None else MetricHistory(self._history_capacity)
            self._status = RunStatus.LOADED
            self._error = None
            self._run_id += 1
            self._publish_theta()
            self._hold(new_run_id() if save and self._root is not None else None)
            self._save(trainer, self._history, RunStatus.LOADED)

    def stop(self, timeout: float = _JOIN_TIMEOUT_S) -> None:
        """Ask the thread to stop after its current step and wait for it (θ₀ is kept)."""
        self._stop.set()
        self._pause.clear()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def reset(self) -> None:
        """Stop and forget the run (θ₀, metrics, error)."""
        self.stop()
        with self._lock:
            self._trainer = None
            self._history = MetricHistory(self._history_capacity)
            self._status = RunStatus.IDLE
            self._error = None
            self._theta0 = None
            self._meta_params = None
            self._theta_path = None
            self._theta_version += 1
            self._run_id += 1
            self._hold(None)

    def close(self) -> None:
        """Stop for good (the session ended). Idempotent; safe from any thread; waits ≤ ``CLOSE_JOIN_S``.

        A run still training is saved ``interrupted`` by its thread; then the runner lets go of it."""
        self._closed = True
        self.stop(CLOSE_JOIN_S)
        if not self.is_alive:
            self._hold(None)

    # -- the thread ------------------------------------------------------------------------------

    def _loop(self, trainer: Trainer, history: MetricHistory) -> None:
        configure_threads(self._threads)
        if self._yield:
            lower_thread_priority()
        last_publish = last_save = time.monotonic()
        final = RunStatus.FINISHED
        error = None
        holding = False  # a job slot
        try:
            while not trainer.done:
                if self._stop.is_set():
                    final = RunStatus.STOPPED
                    break
                holding, go = self._ready(holding, lambda: self._on_pause(trainer, history))
                if not go:
                    continue
                with self._step_lock:
                    record = trainer.step()
                now = time.monotonic()
                with self._lock:
                    history.append(record)
                    if now - last_publish >= _PUBLISH_EVERY_S:
                        self._publish_theta()
                        last_publish = now
                if now - last_save >= self._save_every_s:
                    self._save(trainer, history, RunStatus.RUNNING)
                    last_save = now
                if self._yield:
                    self.breathe()
        except TrainingDiverged as exc:
            final, error = RunStatus.DIVERGED, exc.message
        except Exception as exc:  # the UI shows one line; the thread must never die silently
            final, error = RunStatus.ERROR, Message(N_("training failed: {kind}: {error}"), kind=type(exc).__name__,
                                                    error=str(exc))
        finally:
            self._give_back(holding)
        with self._lock:
            if self._trainer is trainer:
                self._publish_theta()
                self._status = final
                self._error = error
                current = True
            else:
                current = False
        if current:
            self._save(trainer, history, INTERRUPTED if self._closed and final == RunStatus.STOPPED else final)
            if self._closed:
                self._hold(None)

    def _on_pause(self, trainer: Trainer, history: MetricHistory) -> None:
        with self._lock:
            self._publish_theta()
        self._save(trainer, history, RunStatus.PAUSED)

    def _publish_theta(self) -> None:
        """Copy the trainer's θ₀ to the CPU (caller holds ``_lock``); keep the old one if not finite."""
        if self._trainer is None:
            return
        with self._step_lock:
            theta = cpu_copy(self._trainer.initialization())
            meta = cpu_copy(self._trainer.meta_params)
            path = self._trainer.theta_path.points() if self._trainer.theta_path is not None else None
        if all_finite(theta) and all_finite(meta):
            self._theta0, self._meta_params, self._theta_path = theta, meta, path
            self._theta_version += 1

    # -- reading ---------------------------------------------------------------------------------

    def snapshot(self) -> RunSnapshot:
        with self._lock:
            t = self._trainer
            return RunSnapshot(
                status=self._status,
                error=self._error,
                config=t.cfg if t else None,
                iteration=t.iteration if t else 0,
                total=t.cfg.iterations if t else 0,
                latest=self._history.latest,
                columns=self._history.columns(),
                theta0=self._theta0,
                meta_params=self._meta_params,
                theta_path=self._theta_path,
                theta_version=self._theta_version,
                model=t.model if t else None,
                family=t.family if t else None,
                algorithm=t.algorithm if t else None,
                run_id=self._run_id,
                run_key=self._run_key,
                save_error=self._save_error,
            )

    def state_dict(self) -> dict[str, Any] | None:
        """The trainer's full state (for a checkpoint); None before any run."""
        with self._lock:
            t = self._trainer
        if t is None:
            return None
        with self._step_lock:
            return t.state_dict()

    def checkpoint_bytes(self) -> bytes | None:
        from leo_core.checkpoint import checkpoint_bytes

        state = self.state_dict()
        if state is None:
            return None
        with self._lock:
            history = self._history
            return checkpoint_bytes(state, history)

    def metrics_csv(self) -> str:
        with self._lock:
            return self._history.to_csv()


def with_iterations(cfg: TrainConfig, iterations: int) -> TrainConfig:
    """``cfg`` with a new iteration budget (to continue a loaded run)."""
    return replace(cfg, iterations=iterations)
