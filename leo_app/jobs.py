"""A server-wide limit on concurrent training jobs: a small counting slot manager.

Every ``TrainingRunner`` of a process shares ``default_slots()`` unless given its own. A runner
takes a slot before its first step (showing "queued" while it waits) and gives it back when the
run stops, finishes, pauses, fails or its session closes. The limit comes from the environment
variable ``LEO_MAX_JOBS`` (default 4: on a small server more parallel runs only slow each other
down, and the web server needs a core too).
"""

from __future__ import annotations

import os
import threading
from typing import Callable

__all__ = ["JobSlots", "default_slots", "max_jobs_from_env", "ENV_VAR", "DEFAULT_MAX_JOBS"]

ENV_VAR = "LEO_MAX_JOBS"
DEFAULT_MAX_JOBS = 4


def max_jobs_from_env(env: dict[str, str] | None = None) -> int:
    """``LEO_MAX_JOBS`` as a positive integer (default 4; an unusable value raises ``ValueError``)."""
    raw = (os.environ if env is None else env).get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_MAX_JOBS
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_VAR} must be a positive integer, got {raw!r}") from None
    if n < 1:
        raise ValueError(f"{ENV_VAR} must be a positive integer, got {raw!r}")
    return n


_QUEUE_POLL_S = 0.1  # how often a queued job checks whether it should give up waiting


class JobSlots:
    """At most ``limit`` holders at a time; ``acquire`` waits with a timeout so callers can give up."""

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self._busy = 0
        self._waiting = 0
        self._cond = threading.Condition()

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a slot, waiting at most ``timeout`` seconds (None: forever); True when taken."""
        with self._cond:
            self._waiting += 1
            try:
                if not self._cond.wait_for(lambda: self._busy < self.limit, timeout):
                    return False
            finally:
                self._waiting -= 1
            self._busy += 1
            return True

    def wait(self, give_up: Callable[[], bool], queued: Callable[[bool], None] = lambda _: None,
             poll_s: float = _QUEUE_POLL_S) -> bool:
        """Take a slot for a job thread: at once if one is free; otherwise ``queued(True)``, then poll
        every ``poll_s`` until one frees (``queued(False)``, True) or ``give_up()`` says stop (False)."""
        if self.acquire(timeout=0):
            return True
        queued(True)
        while not give_up():
            if self.acquire(timeout=poll_s):
                queued(False)
                return True
        return False

    def release(self) -> None:
        with self._cond:
            if self._busy <= 0:
                raise RuntimeError("release() without a matching acquire()")
            self._busy -= 1
            self._cond.notify()

    @property
    def busy(self) -> int:
        """Slots in use now."""
        return self._busy

    @property
    def demand(self) -> int:
        """Runs that want to train now: holding a slot or waiting for one."""
        return self._busy + self._waiting


_default: JobSlots | None = None
_default_lock = threading.Lock()


def default_slots() -> JobSlots:
    """The process-wide slots (created on first use from ``LEO_MAX_JOBS``; a bad value falls back to 4)."""
    global _default
    with _default_lock:
        if _default is None:
            try:
                limit = max_jobs_from_env()
            except ValueError:
                limit = DEFAULT_MAX_JOBS
            _default = JobSlots(limit)
        return _default
