"""Device selection and CPU threading policy."""

from __future__ import annotations

import ctypes

import os
import threading

import torch

__all__ = ["DEVICE_CHOICES", "resolve_device", "configure_threads", "DEFAULT_CPU_THREADS", "lower_thread_priority", "set_native_name",
           "TRAIN_THREAD_NICE", "keep_freed_cpu_memory"]

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")

# The models here are tiny (a 1-40-40-1 MLP on a few hundred points). On such tensors torch's
# intra-op thread pool costs more than it gains, and it collapses when another process is busy:
# on a 2-core machine 1,000 iterations took 80 s with default threading and one core taken,
# against 5 s single-threaded. One thread is the default; bench/throughput.py
# measures it under load.
DEFAULT_CPU_THREADS = 1


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """Map a device name to a ``torch.device``.

    ``auto`` picks CUDA, then Apple MPS, then CPU. Asking for a backend that is not there raises
    ``ValueError`` with a message meant for a user, not a traceback.
    """
    if name not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA GPU is available here")
    if name == "mps" and not _mps_available():
        raise ValueError("device 'mps' requested but Apple MPS is not available here")
    return torch.device(name)


def configure_threads(threads: int = DEFAULT_CPU_THREADS) -> None:
    """Set torch's intra-op thread count (process-wide)."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


# A background training thread runs at this niceness (Linux applies nice per thread), so the web
# server's threads win the CPU when they want it and training takes the rest. In bench/load_test.py
# its effect on page switches was within the run-to-run noise (the browsers' CPU dominates there);
# it costs a single session little (README "Performance": app 79–87% of the CLI's it/s).
TRAIN_THREAD_NICE = 10


def lower_thread_priority(nice: int = TRAIN_THREAD_NICE) -> bool:
    """Raise the calling thread's nice value by ``nice`` (never lowers it); True if it took effect.

    Per-thread on Linux (``setpriority`` on the thread's id); a no-op returning False where the
    platform does not support it. A thread cannot take the priority back, so call it only in
    threads that end (a training run's thread).
    """
    if nice <= 0 or not hasattr(os, "setpriority"):
        return False
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + nice))
    except OSError:
        return False
    return True


def set_native_name(name: str) -> None:
    """Name the calling OS thread (Linux; at most 15 bytes), so ``/proc/PID/task/*/comm`` shows which
    of a server's threads are jobs and races (the browser test and the bench count them). Best effort."""
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


# glibc's malloc serves blocks over 128 KiB (a [100, 10, 40] float tensor is 160 KiB) from fresh pages
# and gives freed memory back to the OS, so every such tensor of a meta-iteration paid about 40 page
# faults on first touch: an elementwise op on it took 45 µs instead of 8 µs. Keeping freed memory in
# the heap (as jemalloc and tcmalloc do) removes those faults; the price is that the process keeps
# its peak heap (a few MB for these models).
_MALLOC_TRIM_THRESHOLD, _MALLOC_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_KEEP_BYTES, _MMAP_FROM_BYTES = 256 << 20, 32 << 20
_kept = {"done": False}


def keep_freed_cpu_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse (process-wide, once); True if it took effect.

    A no-op returning False where the C library is not glibc (macOS, musl, Windows)."""
    if _kept["done"]:
        return True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    _kept["done"] = bool(mallopt(_MALLOC_TRIM_THRESHOLD, _KEEP_BYTES)) and bool(mallopt(_MALLOC_MMAP_THRESHOLD,
                                                                                        _MMAP_FROM_BYTES))
    return _kept["done"]
