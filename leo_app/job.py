"""One job model for all of a session's background work: a training run, a race, a baseline, a sweep.

A ``Job`` owns one daemon thread at a time and the controls every kind shares: a status from one
vocabulary (``Status``), a server job slot taken before the first step (``queued`` while the server is
full, ``leo_app.jobs.JobSlots``) and given back on pause, stop, end, failure and close; pause and
resume; stop and join; ``breathe`` after each step (the UI threads get the GIL). Its snapshot types
share ``Progress`` (active, progress, ETA). The kinds specialise it:

- ``leo_app.runner.TrainingRunner``: the session's run, saved to its run directory;
- ``leo_app.race.RaceRunner``: several trainers stepped in turn, then evaluated;
- ``leo_app.background.BackgroundJob``: one work function (a baseline, a sweep) with partial results.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

import torch

from leo_core.device import DEFAULT_CPU_THREADS
from leo_core.history import MetricHistory
from leo_core.i18n import N_
from leo_core.models import Params
from leo_core.runs import run_path, write_run
from leo_core.i18n import Message
from .jobs import JobSlots, default_slots

__all__ = ["Status", "STATUS_TEXT", "Progress", "Job", "cpu_copy", "all_finite", "save_run", "CLOSE_JOIN_S", "CROWDED_SLEEP_S",
           "SAVE_EVERY_S"]

CLOSE_JOIN_S = 1.5  # a closed session's threads must be gone within 2 s; a step takes milliseconds
CROWDED_SLEEP_S = 0.004  # per-step sleep while more than one job runs: the UI threads get the GIL
SAVE_EVERY_S = 30.0  # a job's runs are saved to their directories at least this often while they train


class Status:
    """Every job's states (plain strings, so they print, compare and go into run.json as they are)."""

    IDLE = "idle"  # nothing started yet
    LOADED = "loaded"  # a checkpoint or saved run is loaded, not training
    QUEUED = "queued"  # waiting for a free job slot (the server's LEO_MAX_JOBS limit)
    RUNNING = "running"
    PAUSED = "paused"
    EVALUATING = "evaluating"  # a race scoring its entries after training
    STOPPED = "stopped"  # stopped by the user before the end; what was done is kept
    FINISHED = "finished"
    DIVERGED = "diverged"  # non-finite loss/gradient; the last finite θ₀ is kept
    ERROR = "error"  # anything unexpected; the snapshot's ``error`` says what

    ACTIVE = (QUEUED, RUNNING, PAUSED, EVALUATING)


# What a page says for each status (the Train page, the race, a baseline's or sweep's progress line); marked,
# translated where shown (``_(STATUS_TEXT[status])``).
STATUS_TEXT = {
    Status.IDLE: N_("Ready — press Start."),
    Status.LOADED: N_("Checkpoint loaded — inspect it, or continue training."),
    Status.QUEUED: N_("Queued — waiting for a free training slot on this server…"),
    Status.RUNNING: N_("Training…"),
    Status.PAUSED: N_("Paused."),
    Status.EVALUATING: N_("Training done: evaluating every entry on the same test tasks…"),
    Status.STOPPED: N_("Stopped."),
    Status.FINISHED: N_("Finished."),
    Status.DIVERGED: N_("Diverged."),
    Status.ERROR: N_("Failed."),
}
# The statuses as one word (a table's status column, run.json's "interrupted" too), translated where shown.
STATUS_WORDS = (N_("idle"), N_("loaded"), N_("queued"), N_("running"), N_("paused"), N_("evaluating"), N_("stopped"),
                N_("finished"), N_("diverged"), N_("error"), N_("interrupted"))


class Progress:
    """What every job snapshot derives from its ``status`` and ``_units()`` = (done, total, seconds so far)."""

    status: str

    def _units(self) -> tuple[float, float, float]:
        raise NotImplementedError

    @property
    def active(self) -> bool:
        return self.status in Status.ACTIVE

    @property
    def progress(self) -> float:
        done, total, _ = self._units()
        return min(1.0, done / total) if total else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far (None before the first unit of work)."""
        done, total, seconds = self._units()
        if not done or seconds <= 0 or not total:
            return None
        return max(0.0, total - done) * seconds / done


def cpu_copy(params: Params) -> Params:
    """Detached CPU copies (what a snapshot may keep after the job moves on)."""
    return {n: v.detach().to("cpu", copy=True) for n, v in params.items()}


def all_finite(params: Params) -> bool:
    return all(bool(torch.isfinite(v).all()) for v in params.values())


def save_run(root: Path | None, run_key: str | None, trainer: Any, history: MetricHistory, status: str,
             error: str | None = None, lock: threading.Lock | None = None) -> str | None:
    """Write one trainer's run directory ``root/run_key`` (nothing without a root); None, or why it failed
    (a full or read-only disk: the job goes on in memory). ``lock`` guards the trainer's state."""
    if root is None or run_key is None:
        return None
    if lock is not None:
        with lock:
            state = trainer.state_dict()
    else:
        state = trainer.state_dict()
    record = {"status": status, "iteration": trainer.iteration, "total": trainer.cfg.iterations, "origin": "app",
              "error": error}
    try:
        write_run(run_path(Path(root), run_key), state, history, record)
    except OSError as exc:
        return Message(N_("Runs are not being saved to {root} ({reason}); training goes on in memory: download the "
                          "checkpoint to keep it."), root=root, reason=str(exc.strerror or exc))
    return None


class Job:
    """The shared base: a thread, a status, a slot, pause/resume/stop. Subclasses write the thread's body and
    call ``_ready`` at the top of its loop and ``breathe`` after each step."""

    def __init__(self, *, slots: JobSlots | None = None, threads: int = DEFAULT_CPU_THREADS,
                 root: Path | None = None):
        self._root = None if root is None else Path(root)  # where its runs are saved (None: memory only)
        self._save_error: str | None = None
        self._slots = slots if slots is not None else default_slots()
        self._threads = threads
        self._lock = threading.Lock()  # guards the state the thread and the readers share
        self._step_lock = threading.Lock()  # held while a trainer changes (a step, a load, a copy)
        self._pause = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = Status.IDLE
        self._error: str | None = None
        self._closed = False

    # -- control ---------------------------------------------------------------------------------

    def _launch(self, target: Callable[..., None], *args, name: str) -> None:
        """Start the job's thread (caller holds ``_lock``); clears the stop and pause requests first."""
        self._stop.clear()
        self._pause.clear()
        self._thread = threading.Thread(target=target, args=args, daemon=True, name=name)
        self._thread.start()

    def pause(self) -> None:
        with self._lock:
            if self._status in (Status.RUNNING, Status.QUEUED):
                self._pause.set()
                self._status = Status.PAUSED

    def resume(self) -> None:
        with self._lock:
            if self._status == Status.PAUSED:
                self._pause.clear()
                self._status = Status.RUNNING

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has (or never started)."""
        thread = self._thread
        if thread is None or thread.ident is None:
            return True
        if thread is not threading.current_thread():
            thread.join(timeout)
        return not thread.is_alive()

    @property
    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def status(self) -> str:
        return self._status

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def root(self) -> Path | None:
        """The runs root this job saves under (None: its runs stay in memory)."""
        return self._root

    # -- inside the thread -----------------------------------------------------------------------

    def _save_run(self, run_key: str | None, trainer: Any, history: MetricHistory, status: str) -> None:
        """Save one of the job's trainers to its run directory; a failure is kept in ``_save_error``."""
        if self._root is not None and run_key is not None:
            self._save_error = save_run(self._root, run_key, trainer, history, status, self._error, self._step_lock)

    def breathe(self) -> None:
        """After a step: hand the GIL to a waiting UI thread now (longer while other jobs share the server)."""
        time.sleep(CROWDED_SLEEP_S if self._slots.busy > 1 else 0)

    def _ready(self, holding: bool, publish: Callable[[], None] = lambda: None) -> tuple[bool, bool]:
        """One check at the top of the thread's loop: ``(holding, go)``. Paused: ``publish()``, give the
        slot back so a paused job never holds back other sessions, and wait for resume or stop;
        without a slot: take one or wait queued. ``go`` is False when the loop should check again."""
        if self._pause.is_set():
            publish()
            if holding:
                self._slots.release()
                holding = False
            while self._pause.is_set() and not self._stop.is_set():
                time.sleep(0.02)
            return holding, False
        if not holding:
            return self._wait_for_slot(), False
        return True, True

    def _give_back(self, holding: bool) -> None:
        """At the thread's end: return the slot if it holds one."""
        if holding:
            self._slots.release()

    def _wait_for_slot(self) -> bool:
        """Take a job slot, showing ``queued`` while none is free; False if stopped or paused meanwhile."""
        return self._slots.wait(lambda: self._stop.is_set() or self._pause.is_set(), self._show_queued)

    def _show_queued(self, queued: bool) -> None:
        with self._lock:
            if self._status == (Status.RUNNING if queued else Status.QUEUED):
                self._status = Status.QUEUED if queued else Status.RUNNING
