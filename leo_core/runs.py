"""Run directories: where every run, the CLI's and the app's, lives on disk.

A run is a directory under one runs root (``runs/`` where the program starts, or ``$LEO_RUNS_DIR``)
holding what ``python -m leo_core train --out DIR`` writes: ``config.json``, ``metrics.csv`` and
``checkpoint.pt`` (``leo_core.checkpoint.save_run``, each file written atomically), plus ``run.json``,
a small status record (status, iterations done and planned, when it was saved, which process saved
it). A run's id is its directory's name. App runs are named ``app-<date>-<time>-<4 hex>``; only
they are ever pruned (``prune``), never a CLI run and never one in use.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .checkpoint import CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, _atomic_write, save_run
from .history import MetricHistory

__all__ = ["ROOT_ENV", "MAX_APP_RUNS_ENV", "STATUS_FILE", "APP_PREFIX", "BOOT_ID", "RunInfo", "runs_root",
           "max_app_runs", "new_run_id", "valid_run_id", "run_path", "write_run", "read_status", "list_runs",
           "delete_run", "prune", "read_metrics"]

ROOT_ENV = "LEO_RUNS_DIR"
MAX_APP_RUNS_ENV = "LEO_MAX_APP_RUNS"
DEFAULT_ROOT = "runs"
DEFAULT_MAX_APP_RUNS = 200
STATUS_FILE = "run.json"
APP_PREFIX = "app-"
BOOT_ID = uuid.uuid4().hex  # this process: a run saved "interrupted" by it can continue in it at once
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def runs_root(env: dict[str, str] | None = None) -> Path:
    """``$LEO_RUNS_DIR``, or ``runs`` in the working directory."""
    return Path((os.environ if env is None else env).get(ROOT_ENV, "").strip() or DEFAULT_ROOT)


def max_app_runs(env: dict[str, str] | None = None) -> int:
    """``$LEO_MAX_APP_RUNS`` (default 200): app runs kept under the root; older ones are pruned."""
    raw = (os.environ if env is None else env).get(MAX_APP_RUNS_ENV, "").strip()
    try:
        return max(1, int(raw)) if raw else DEFAULT_MAX_APP_RUNS
    except ValueError:
        return DEFAULT_MAX_APP_RUNS


def new_run_id(prefix: str = "app") -> str:
    """A fresh, sortable id: ``app-20261206-103311-9f2c``."""
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def valid_run_id(run_id: str) -> bool:
    """A plain directory name: letters, digits, ``.``, ``_`` and ``-`` (no path, no ``..``)."""
    return bool(_ID.fullmatch(run_id)) and ".." not in run_id


def run_path(root: Path, run_id: str) -> Path:
    if not valid_run_id(run_id):
        raise ValueError(f"{run_id[:40]!r} is not a run id (letters, digits, '.', '_' and '-')")
    return Path(root) / run_id


def write_run(path: Path, state: dict[str, Any], history: MetricHistory, status: dict[str, Any]) -> None:
    """Save a run: the CLI's three files, then ``run.json`` (all atomic; a crash leaves the last save)."""
    save_run(path, state, history)
    record = {**status, "saved": time.time(), "boot": BOOT_ID}
    _atomic_write(Path(path) / STATUS_FILE, (json.dumps(record, indent=2) + "\n").encode())


def read_status(path: Path) -> dict[str, Any]:
    """``run.json``, or ``{}`` for a run without one (the CLI's) or with an unreadable one."""
    try:
        data = json.loads((Path(path) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class RunInfo:
    """One run directory as the runs list shows it (read from its small files, not its checkpoint)."""

    run_id: str
    path: Path
    family: str
    algorithm: str
    iteration: int
    total: int
    status: str
    modified: float  # seconds since the epoch of its newest save
    origin: str  # "app" or "cli"
    has_checkpoint: bool


def _last_iteration(path: Path) -> int:
    """The last row's iteration in ``metrics.csv`` (0 when none), read from the file's end (a long run's file
    holds thousands of rows)."""
    try:
        with open(path / METRICS_FILE, "rb") as f:
            header = f.readline().decode().strip().split(",")
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4096))
            last = f.read().decode(errors="replace").strip().splitlines()[-1].split(",")
        return int(float(last[header.index("iteration")])) if last != header else 0
    except (OSError, ValueError, IndexError):
        return 0


def read_metrics(path: Path) -> dict[str, list]:
    """A run's ``metrics.csv`` as ``MetricHistory.columns()`` (numbers; an empty cell is None)."""
    with open(Path(path) / METRICS_FILE, newline="") as f:
        rows = list(csv.DictReader(f))
    columns: dict[str, list] = {}
    for name in rows[0] if rows else ():
        columns[name] = [None if not r[name] else (int(float(r[name])) if name == "iteration" else float(r[name]))
                         for r in rows]
    return columns


def _info(path: Path) -> RunInfo | None:
    try:
        config = json.loads((path / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    status = read_status(path)
    ckpt = path / CHECKPOINT_FILE
    stamp = max((p.stat().st_mtime for p in (ckpt, path / CONFIG_FILE) if p.exists()), default=0.0)
    iteration = status["iteration"] if "iteration" in status else _last_iteration(path)
    return RunInfo(path.name, path, str(config.get("family", "?")), str(config.get("algorithm", "?")), int(iteration),
                   int(status.get("total", config.get("iterations", 0) or 0)),
                   str(status.get("status", "saved")), stamp,
                   "app" if path.name.startswith(APP_PREFIX) else "cli", ckpt.is_file())


def list_runs(root: Path) -> list[RunInfo]:
    """Every run directory directly under ``root``, newest first (a missing root: none)."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [info for p in root.iterdir() if p.is_dir() and valid_run_id(p.name) and (info := _info(p))]
    return sorted(runs, key=lambda r: r.modified, reverse=True)


def delete_run(root: Path, run_id: str) -> None:
    path = run_path(root, run_id)
    if not (path / CONFIG_FILE).is_file():
        raise ValueError(f"no run {run_id!r} under {root}")
    shutil.rmtree(path)


def prune(root: Path, keep: int, in_use: Iterable[str] = ()) -> list[str]:
    """Delete the oldest app runs beyond ``keep``, never one in ``in_use``; returns the ids deleted."""
    busy = set(in_use)
    app = [r for r in list_runs(root) if r.origin == "app"]
    doomed = [r.run_id for r in app[keep:] if r.run_id not in busy]
    for run_id in doomed:
        shutil.rmtree(Path(root) / run_id, ignore_errors=True)
    return doomed
