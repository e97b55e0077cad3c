"""Background jobs of a session: baselines, sweeps and races train here, never in a page script.

A ``BackgroundJob`` (a ``leo_app.job.Job``, like the session's run and race) runs one work function in a
daemon thread under the server's job slots (``leo_app.jobs``): it shows ``queued`` while the server is full, then ``running`` with progress and
an ETA, and ends ``finished``, ``stopped`` (the partial result kept), or ``error`` (one line). The
work function gets a ``JobContext``: it calls ``ctx.report(done, partial)`` after each unit of work
and checks ``ctx.should_stop()`` often (every training step), so a stop — or a closed tab — ends
the thread within a step.

``SessionJobs`` holds one session's jobs by name (at most one per name: starting a new ``sweep``
stops the old one) and its race (``leo_app.race.RaceRunner``). ``app.py`` keeps it in a
session-scoped ``st.cache_resource`` whose ``on_release`` calls ``close()``, like the session's
``TrainingRunner``: a closed tab stops every thread of its jobs and race (each waits at most
``CLOSE_JOIN_S``; all are asked to stop first, so the waits overlap).

Work functions for the app's jobs are here too: ``train_work`` (a baseline or the pretrained start,
stoppable at every step) and ``sweep_work`` (the α × k cells of ``leo_core.sweep`` one by one,
finished cells kept when stopped).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from leo_core.config import TrainConfig
from leo_core.device import DEFAULT_CPU_THREADS, configure_threads, lower_thread_priority, set_native_name
from leo_core.history import MetricHistory
from leo_core.i18n import _, language, shown, use_language
from leo_core.models import Model, Params
from leo_core.runs import new_run_id
from leo_core.sweep import CellResult, SweepConfig, SweepResult, run_cell, summarize
from leo_core.train import Trainer, TrainingDiverged

from .job import CLOSE_JOIN_S, SAVE_EVERY_S, Job, Progress, Status, cpu_copy, save_run
from .race import RaceRunner
from .jobs import JobSlots, default_slots

__all__ = ["JobStatus", "JobSnapshot", "JobContext", "BackgroundJob", "SessionJobs", "JobStopped",
           "TrainedResult", "train_work", "sweep_work", "CLOSE_JOIN_S"]

JobStatus = Status  # the job model's one status vocabulary (leo_app.job)


class JobStopped(Exception):
    """Raised inside a work function by ``JobContext.check()`` when the job is asked to stop."""


@dataclass(frozen=True)
class JobSnapshot(Progress):
    name: str
    label: str
    status: str
    done: int = 0
    total: int = 0
    elapsed: float = 0.0  # seconds since the job got its slot
    result: Any = None  # the work's partial result (after each report), then its final one
    error: str | None = None
    job_id: int = 0

    def _units(self) -> tuple[float, float, float]:
        return self.done, self.total, self.elapsed


class JobContext:
    """What a work function sees of its job: stop checks and progress reports."""

    def __init__(self, job: "BackgroundJob"):
        self._job = job

    def should_stop(self) -> bool:
        return self._job._stop.is_set()

    def breathe(self) -> None:
        """After a step: hand the GIL to the UI threads; while the job is paused, wait here."""
        self._job.breathe()
        while self._job._pause.is_set() and not self._job._stop.is_set():
            time.sleep(0.02)

    def check(self) -> None:
        """Raise ``JobStopped`` when asked to stop; otherwise ``breathe``."""
        if self._job._stop.is_set():
            raise JobStopped
        self.breathe()

    def between_steps(self) -> bool:
        """``breathe``, then whether to stop (a ``should_stop`` callback for step loops)."""
        self.breathe()
        return self._job._stop.is_set()

    def report(self, done: int, partial: Any = None) -> None:
        with self._job._lock:
            self._job._done = done
            if partial is not None:
                self._job._result = partial


Work = Callable[[JobContext], Any]


class BackgroundJob(Job):
    """One work function in a daemon thread, under a job slot; safe to read from any thread."""

    _ids = 0

    def __init__(self, name: str, label: str, total: int, work: Work, *, slots: JobSlots | None = None,
                 threads: int = DEFAULT_CPU_THREADS):
        super().__init__(slots=slots, threads=threads)
        BackgroundJob._ids += 1
        self.name, self.label, self.total = name, label, total
        self._work = work
        self._status = JobStatus.QUEUED
        self._done = 0
        self._result: Any = None
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._id = BackgroundJob._ids

    def start(self) -> "BackgroundJob":
        with self._lock:
            # The thread writes its messages in the language of the session that started it.
            self._launch(self._run, language(), name=f"leo-job-{self.name}-{self._id}")
        return self

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Ask the job to stop and wait at most ``timeout`` seconds; True when its thread ended."""
        self._stop.set()
        self._pause.clear()
        return self.join(timeout)

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            start = self._started_at
            end = self._ended_at if self._ended_at is not None else time.monotonic()
            return JobSnapshot(self.name, self.label, self._status, self._done, self.total,
                               0.0 if start is None else end - start, self._result, self._error, self._id)

    def _run(self, lang: str) -> None:
        with use_language(lang):
            self._work_in_slot()

    def _work_in_slot(self) -> None:
        set_native_name(f"leo-job-{self.name}")
        configure_threads(self._threads)
        lower_thread_priority()
        if not self._wait_for_slot():
            with self._lock:
                self._status = JobStatus.STOPPED
            return
        with self._lock:
            self._status = JobStatus.RUNNING
            self._started_at = time.monotonic()
        final, error, result = JobStatus.FINISHED, None, None
        try:
            result = self._work(JobContext(self))
        except JobStopped:
            final = JobStatus.STOPPED
        except Exception as exc:  # the page shows one line; the thread never dies silently
            final, error = JobStatus.ERROR, _("{job} failed: {error}").format(
                job=self.label, error=f"{type(exc).__name__}: {exc}")
        finally:
            self._slots.release()
        with self._lock:
            if result is not None:
                self._result = result
            if final == JobStatus.FINISHED and self._stop.is_set() and self._done < self.total:
                final = JobStatus.STOPPED  # a work function that returned its partial result on a stop
            self._status, self._error = final, error
            self._ended_at = time.monotonic()


class SessionJobs:
    """One session's background jobs by name, and its race; ``close()`` stops them all."""

    def __init__(self, slots: JobSlots | None = None, root: Path | None = None):
        self._slots = slots
        self.root = root  # the runs root its race, baselines and sweep cells are saved under (None: memory only)
        self._jobs: dict[str, BackgroundJob] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._race = None  # leo_app.race.RaceRunner, made on first use

    @property
    def slots(self) -> JobSlots:
        return self._slots if self._slots is not None else default_slots()

    def start(self, name: str, label: str, total: int, work: Work) -> BackgroundJob:
        """Stop the job called ``name`` (if any) and start ``work`` under that name."""
        if self._closed:
            raise RuntimeError("this session's jobs are closed")
        job = BackgroundJob(name, label, total, work, slots=self.slots)
        with self._lock:
            old = self._jobs.get(name)
            self._jobs[name] = job
        if old is not None:
            old.stop(CLOSE_JOIN_S)
        return job.start()

    def get(self, name: str) -> BackgroundJob | None:
        with self._lock:
            return self._jobs.get(name)

    def snapshot(self, name: str) -> JobSnapshot | None:
        job = self.get(name)
        return None if job is None else job.snapshot()

    def stop(self, name: str) -> None:
        job = self.get(name)
        if job is not None:
            job.stop(CLOSE_JOIN_S)

    @property
    def race(self):
        """The session's ``RaceRunner`` (one per session; a new race replaces the old one inside it)."""
        with self._lock:
            if self._race is None:
                self._race = RaceRunner(slots=self._slots, root=self.root)
            return self._race

    def threads(self) -> list[threading.Thread]:
        """Every thread this session's jobs and race started (for tests and the bench)."""
        with self._lock:
            out = [j.thread for j in self._jobs.values() if j.thread is not None and j.thread.ident is not None]
            if self._race is not None and self._race.thread is not None:
                out.append(self._race.thread)
        return out

    def close(self) -> None:
        """Stop every job and the race (the session ended). Idempotent; waits ≤ ``CLOSE_JOIN_S`` overall."""
        self._closed = True
        with self._lock:
            jobs, race = list(self._jobs.values()), self._race
        for job in jobs:
            job._stop.set()
        if race is not None:
            race.close(wait=False)
        deadline = time.monotonic() + CLOSE_JOIN_S
        for job in jobs:
            job.join(max(0.0, deadline - time.monotonic()))
        if race is not None:
            race.join(max(0.0, deadline - time.monotonic()))

    @property
    def closed(self) -> bool:
        return self._closed


# -- work functions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainedResult:
    """A trained (or partly trained) run: enough to adapt from it or compare it."""

    config: TrainConfig
    model: Model
    meta_params: Params  # detached CPU tensors
    iterations: int
    seconds: float
    complete: bool  # False when stopped early (or diverged: the last finite θ₀ is kept)
    note: str = ""
    run_key: str | None = None  # its run directory under the runs root (None: not saved)


def train_work(cfg: TrainConfig, report_every: int = 10, root: Path | None = None) -> Work:
    """Train ``cfg`` to the end, a step at a time; a stop keeps the θ₀ trained so far (``complete`` False).
    With a runs root the run is saved there as a run directory (every ``SAVE_EVERY_S`` and at the end)."""

    def work(ctx: JobContext) -> TrainedResult:
        trainer = Trainer(cfg)
        history = MetricHistory()
        key = f"{new_run_id()}-{cfg.algorithm}" if root is not None else None
        note, status, last_save = "", Status.FINISHED, time.monotonic()
        try:
            while not trainer.done:
                if ctx.should_stop():
                    status = Status.STOPPED
                    break
                history.append(trainer.step())
                if trainer.iteration % report_every == 0:
                    ctx.report(trainer.iteration)
                if key is not None and time.monotonic() - last_save >= SAVE_EVERY_S:
                    save_run(root, key, trainer, history, Status.RUNNING)
                    last_save = time.monotonic()
                ctx.breathe()
        except TrainingDiverged as exc:
            note, status = _("diverged: {error}").format(error=shown(exc.message)), Status.DIVERGED
        ctx.report(trainer.iteration)
        failed = save_run(root, key, trainer, history, status)
        return TrainedResult(cfg, trainer.model, cpu_copy(trainer.meta_params), trainer.iteration, trainer.elapsed,
                             trainer.done and not note, note or (failed or ""), None if failed else key)

    return work


def sweep_work(sweep: SweepConfig, root: Path | None = None) -> Work:
    """Every (α, k, seed) cell in ``leo_core.sweep``'s order by its own ``run_cell``; after each cell the grid
    so far (``leo_core.sweep.summarize``: cells not run stay NaN) is reported, so a stopped sweep keeps
    the cells it finished. With a runs root each cell's trained run is kept there (``<sweep id>-<cell>``)."""

    def work(ctx: JobContext) -> SweepResult:
        cells: list[CellResult] = []
        key = new_run_id() if root is not None else None
        for cell in sweep.grid():
            save_to = Path(root) / f"{key}-alpha{cell.alpha:g}-k{cell.k}-seed{cell.seed}" if key else None
            result = run_cell(sweep, cell, threads=None, should_stop=ctx.between_steps, save_to=save_to)
            if result is None:
                break
            cells.append(result)
            ctx.report(len(cells), summarize(sweep, cells))
        return summarize(sweep, cells)

    return work
