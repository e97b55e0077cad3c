"""The race runner: every entry's ``Trainer`` stepped round-robin in ONE background thread.

Why one thread and one job slot for the whole race (not one per entry): the server's cores are
shared fairly per session. ``LEO_MAX_JOBS`` bounds how many compute threads train at once; a
student racing eight algorithms must not take eight slots and queue the rest of the room. One
thread also makes the comparison fair inside the race: entries take turns, one meta-iteration each
per round, on the same task stream, so after any round every entry has seen the same meta-batches.
Each entry's own training seconds (its steps only) are recorded too, since per-iteration costs
differ; the page can plot against them.

Lifecycle, like ``leo_app.runner.TrainingRunner``: ``start`` builds the trainers in the caller's
thread (a bad setting raises ``ValueError`` there), the thread waits for a slot (status
``queued``), trains, gives the slot back when paused, and when every entry is done — or the user
stops the race — evaluates each entry once on the same test tasks (``RaceConfig.eval``) and ends
``finished`` or ``stopped``. ``close()`` (the session ended; ``app.py`` calls it through
``leo_app.background.SessionJobs``) stops the thread without the evaluation, within a step.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


from leo_core.algorithms import MetaAlgorithm
from leo_core.config import TrainConfig
from leo_core.device import DEFAULT_CPU_THREADS, configure_threads, lower_thread_priority, set_native_name
from leo_core.evaluate import EvalResult, evaluate
from leo_core.history import MetricHistory
from leo_core.i18n import _, language, use_language
from leo_core.runs import new_run_id
from leo_core.models import Model, Params
from leo_core.tasks import TaskFamily
from leo_core.train import Trainer, TrainingDiverged
from leo_core.views.comparison import ComparedRun
from leo_core.views.race import RaceConfig
from .job import CLOSE_JOIN_S, SAVE_EVERY_S, Job, Progress, Status, all_finite, cpu_copy
from .jobs import JobSlots

__all__ = ["RaceStatus", "EntrySnapshot", "RaceSnapshot", "RaceRunner", "CLOSE_JOIN_S"]

_PUBLISH_EVERY_S = 0.25  # how often the thread copies every entry's θ₀ for the live fit panel


RaceStatus = Status  # the job model's one status vocabulary (leo_app.job)


@dataclass(frozen=True)
class EntrySnapshot:
    """One entry as the page shows it (also what ``leo_core.views.preview`` needs of a run)."""

    key: str
    config: TrainConfig
    status: str  # "training", "done" or "diverged"
    iteration: int
    columns: dict[str, list]
    meta_params: Params | None
    model: Model
    family: TaskFamily
    algorithm: MetaAlgorithm
    seconds: float  # this entry's own training time
    error: str | None = None


@dataclass(frozen=True)
class RaceSnapshot(Progress):
    status: str
    race: RaceConfig | None = None
    entries: tuple[EntrySnapshot, ...] = ()
    evaluation: tuple[EvalResult, ...] | None = None  # one per entry, in entry order, when the race ended
    # Classification: the same evaluation on tasks from the meta-training classes (the overfitting gap).
    train_evaluation: tuple[EvalResult, ...] | None = None
    error: str | None = None
    run_id: int = 0
    wall_seconds: float = 0.0
    theta_version: int = 0
    run_keys: tuple[str, ...] = ()  # each entry's run directory under the runs root (empty: not saved)
    save_error: str | None = None

    def _units(self) -> tuple[float, float, float]:
        return self.iteration, self.total, self.wall_seconds

    @property
    def iteration(self) -> int:
        return min((e.iteration for e in self.entries if e.status != "diverged"), default=0)

    @property
    def total(self) -> int:
        return self.race.iterations if self.race else 0

    def compared_runs(self) -> list[ComparedRun]:
        """Every entry as a ``ComparedRun`` (for ``comparison.final_table`` and the Compare list)."""
        return [ComparedRun(f"race{self.run_id}-{e.key}", e.key, e.config, e.model, e.meta_params, e.iteration,
                            e.seconds) for e in self.entries if e.meta_params is not None]


@dataclass
class _Entry:
    key: str
    trainer: Trainer
    history: MetricHistory
    status: str = "training"
    error: str | None = None
    params: Params | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RaceRunner(Job):
    """One race at a time in one background thread; safe to call from any thread."""

    def __init__(self, *, slots: JobSlots | None = None, history_capacity: int = 1000,
                 threads: int = DEFAULT_CPU_THREADS, root: Path | None = None):
        super().__init__(slots=slots, threads=threads, root=root)
        self._capacity = history_capacity
        self._closing = threading.Event()
        self._race: RaceConfig | None = None
        self._entries: list[_Entry] = []
        self._race_key: str | None = None  # the race's run directories are "<race_key>-<entry>"
        self._evaluation: tuple[EvalResult, ...] | None = None
        self._train_evaluation: tuple[EvalResult, ...] | None = None
        self._run_id = 0
        self._wall = 0.0
        self._version = 0

    # -- control -----------------------------------------------------------------------------------

    def start(self, race: RaceConfig) -> None:
        """Stop any current race and train ``race`` (trainers are built here: bad settings raise ``ValueError``)."""
        if self._closed:
            raise RuntimeError("this race runner is closed")
        self.stop(CLOSE_JOIN_S, evaluate=False)
        configure_threads(self._threads)
        entries = [_Entry(e.key, Trainer(e.config), MetricHistory(self._capacity)) for e in race.entries]
        for e in entries:
            e.params = cpu_copy(e.trainer.meta_params)
        with self._lock:
            self._race, self._entries = race, entries
            self._status, self._error, self._evaluation = RaceStatus.RUNNING, None, None
            self._train_evaluation = None
            self._run_id += 1
            self._wall = 0.0
            self._version += 1
            self._closing.clear()
            self._race_key = new_run_id() if self._root is not None else None
            # The thread writes its messages (an error, a divergence) in the language of the session that started it.
            self._launch(self._loop, entries, language(), name=f"leo-race-{self._run_id}")

    def stop(self, timeout: float | None = None, *, evaluate: bool = True) -> bool:
        """Stop training; with ``evaluate`` the thread still scores every entry on the test tasks.
        Waits at most ``timeout`` seconds (None: not at all); True when the thread has ended."""
        if not evaluate:
            self._closing.set()
        self._stop.set()
        self._pause.clear()
        if timeout is None:
            return not self.is_alive
        return self.join(timeout)

    def close(self, wait: bool = True) -> None:
        """Stop for good (the session ended): no evaluation; waits ≤ ``CLOSE_JOIN_S`` when ``wait``."""
        self._closed = True
        self.stop(CLOSE_JOIN_S if wait else None, evaluate=False)

    # -- reading -----------------------------------------------------------------------------------

    def snapshot(self) -> RaceSnapshot:
        with self._lock:
            entries = tuple(
                EntrySnapshot(e.key, e.trainer.cfg, e.status, e.trainer.iteration, e.history.columns(), e.params,
                              e.trainer.model, e.trainer.family, e.trainer.algorithm, e.trainer.elapsed, e.error)
                for e in self._entries)
            keys = tuple(self._entry_key(e) for e in self._entries) if self._race_key else ()
            return RaceSnapshot(self._status, self._race, entries, self._evaluation, self._train_evaluation,
                                self._error, self._run_id, self._wall, self._version, keys, self._save_error)

    def entry_state(self, key: str) -> tuple[TrainConfig, dict[str, Any], MetricHistory]:
        """An entry's full trainer state (to make it the session's current run); ``ValueError`` if unknown."""
        with self._lock:
            found = [e for e in self._entries if e.key == key]
        if not found:
            raise ValueError(f"there is no race entry {key!r}")
        e = found[0]
        with self._step_lock:
            state = e.trainer.state_dict()
        with self._lock:
            history = MetricHistory(self._capacity)
            history.extend(_records(e.history))
        return e.trainer.cfg, state, history

    # -- the thread --------------------------------------------------------------------------------

    def _loop(self, entries: list[_Entry], lang: str) -> None:
        with use_language(lang):
            self._race_loop(entries)

    def _race_loop(self, entries: list[_Entry]) -> None:
        set_native_name("leo-race")
        configure_threads(self._threads)
        lower_thread_priority()
        holding = False
        final, error = RaceStatus.FINISHED, None
        last_publish = last_save = time.monotonic()
        try:
            while any(e.status == "training" for e in entries):
                if self._stop.is_set():
                    final = RaceStatus.STOPPED
                    break
                holding, go = self._ready(holding, lambda: self._publish(entries))
                if not go:
                    continue
                t0 = time.monotonic()
                for e in entries:  # one round: one meta-iteration of every entry still training
                    if e.status != "training" or self._stop.is_set():
                        continue
                    try:
                        with self._step_lock:
                            record = e.trainer.step()
                    except TrainingDiverged as exc:
                        with self._lock:
                            e.status, e.error = "diverged", exc.message
                        continue
                    with self._lock:
                        e.history.append(record)
                        if e.trainer.done:
                            e.status = "done"
                    self.breathe()
                now = time.monotonic()
                with self._lock:
                    self._wall += now - t0
                if now - last_publish >= _PUBLISH_EVERY_S:
                    self._publish(entries)
                    last_publish = now
                if now - last_save >= SAVE_EVERY_S:
                    self._save_entries(entries, Status.RUNNING)
                    last_save = now
            self._publish(entries)
            self._save_entries(entries, Status.STOPPED if self._stop.is_set() else Status.FINISHED)
            if not self._closing.is_set() and any(e.trainer.iteration > 0 for e in entries):
                with self._lock:
                    self._status = RaceStatus.EVALUATING
                splits = ("test", "train") if entries[0].trainer.family.is_classification else ("test",)
                results: dict[str, list[EvalResult]] = {split: [] for split in splits}
                for split in splits:
                    for e in entries:
                        if self._closing.is_set():
                            break
                        results[split].append(self._evaluate(e, split))
                if len(results["test"]) == len(entries):
                    with self._lock:
                        self._evaluation = tuple(results["test"])
                if len(results.get("train", ())) == len(entries):
                    with self._lock:
                        self._train_evaluation = tuple(results["train"])
        except Exception as exc:  # one line on the page; the thread never dies silently
            final, error = RaceStatus.ERROR, _("the race failed: {error}").format(error=f"{type(exc).__name__}: {exc}")
        finally:
            self._give_back(holding)
        with self._lock:
            if self._entries is entries:
                self._status, self._error = final, error

    def _entry_key(self, e: _Entry) -> str:
        return f"{self._race_key}-{e.key}"

    def _save_entries(self, entries: list[_Entry], status: str) -> None:
        """Each entry's run directory: its own status where it ended on its own (done, diverged)."""
        if self._race_key is None:
            return
        for e in entries:
            own = {"done": Status.FINISHED, "diverged": Status.DIVERGED}.get(e.status, status)
            self._save_run(self._entry_key(e), e.trainer, e.history, own)

    def _evaluate(self, e: _Entry, split: str = "test") -> EvalResult:
        race = self._race
        assert race is not None
        params = e.params if e.params is not None else cpu_copy(e.trainer.meta_params)
        device = e.trainer.device
        params = {n: v.to(device) for n, v in params.items()}
        return evaluate(e.trainer.model, e.trainer.family, e.trainer.algorithm, params, e.trainer.cfg.alpha,
                        replace(race.eval, split=split), device)

    def _publish(self, entries: list[_Entry]) -> None:
        """Copy every entry's meta-parameters to the CPU (keeping the old copy where not finite)."""
        copies = []
        with self._step_lock:
            for e in entries:
                copies.append(cpu_copy(e.trainer.meta_params))
        with self._lock:
            for e, p in zip(entries, copies):
                if all_finite(p):
                    e.params = p
            self._version += 1


def _records(history: MetricHistory) -> list:
    """The records a ``MetricHistory`` holds (a copy, for another history)."""
    return list(history.records())
