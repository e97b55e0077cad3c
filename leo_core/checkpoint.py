"""Checkpoints: config + meta-parameters + optimizer/generator state + metrics.

Written atomically (temporary file, fsync, rename), so a crash never leaves half a file behind;
read with ``torch.load(weights_only=True)``, which refuses pickled code.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .config import TrainConfig
from .history import MetricHistory, ThetaPath
from .models import Model, Params, build_model

__all__ = ["CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint", "save_run", "checkpoint_bytes",
           "CHECKPOINT_FILE", "METRICS_FILE", "CONFIG_FILE"]

FORMAT = "leo-explorer-checkpoint"
VERSION = 1
CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.csv"
CONFIG_FILE = "config.json"


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or does not fit what it is loaded for."""


@dataclass(frozen=True)
class Checkpoint:
    config: TrainConfig
    state: dict[str, Any]  # Trainer.state_dict()
    metrics: MetricHistory

    @property
    def model(self) -> Model:
        return build_model(self.state["model"])

    @property
    def meta_params(self) -> Params:
        return dict(self.state["meta_params"])

    @property
    def iteration(self) -> int:
        return int(self.state["iteration"])

    @property
    def theta_path(self) -> tuple[tuple[int, float, float], ...] | None:
        """θ₀ per meta-iteration of a two-parameter run; None where not recorded (older checkpoints)."""
        saved = self.state.get("theta_path")
        return ThetaPath.from_state(saved).points() if saved else None


def _payload(state: dict[str, Any], metrics: MetricHistory) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "trainer": state, "metrics": metrics.columns()}


def checkpoint_bytes(state: dict[str, Any], metrics: MetricHistory) -> bytes:
    """The checkpoint as bytes (for a download button)."""
    buf = io.BytesIO()
    torch.save(_payload(state, metrics), buf)
    return buf.getvalue()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | Path, state: dict[str, Any], metrics: MetricHistory) -> Path:
    path = Path(path)
    _atomic_write(path, checkpoint_bytes(state, metrics))
    return path


def save_run(out_dir: str | Path, state: dict[str, Any], metrics: MetricHistory) -> Path:
    """Write ``checkpoint.pt``, ``metrics.csv`` and ``config.json`` into ``out_dir``."""
    out = Path(out_dir)
    save_checkpoint(out / CHECKPOINT_FILE, state, metrics)
    _atomic_write(out / METRICS_FILE, metrics.to_csv().encode())
    _atomic_write(out / CONFIG_FILE, (json.dumps(state["config"], indent=2) + "\n").encode())
    return out


def load_checkpoint(source: str | Path | bytes | BinaryIO, expected_family: str | None = None) -> Checkpoint:
    """Load and validate a checkpoint from a file, a run directory, or bytes.

    Raises ``CheckpointError`` with a one-line reason for anything wrong.
    """
    name = "uploaded file"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            path = path / CHECKPOINT_FILE
        name = str(path)
        if not path.is_file():
            raise CheckpointError(f"no checkpoint at {name}")
        source = path
    elif isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols; the error below says it all
            warnings.simplefilter("ignore")
            payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception:  # torch raises many types for corrupt, truncated or malicious files
        raise CheckpointError(
            f"{name} is not a readable LEO Explorer checkpoint (corrupt, truncated, or holding objects a "
            "safe load refuses)"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{name} is not a LEO Explorer checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{name} has checkpoint version {payload.get('version')}, this program reads {VERSION}")
    try:
        state = payload["trainer"]
        config = TrainConfig.from_dict(state["config"])
        build_model(state["model"])  # validates the model description
        params = state["meta_params"]
        if not isinstance(params, dict) or not all(isinstance(v, torch.Tensor) for v in params.values()):
            raise ValueError("meta-parameters are not tensors")
        metrics = MetricHistory.from_columns(payload.get("metrics") or {})
        if state.get("theta_path") is not None:  # two-parameter runs since θ₀'s path was recorded
            ThetaPath.from_state(state["theta_path"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{name} is damaged: {exc}") from None
    if any(not torch.isfinite(v).all() for v in params.values()):
        raise CheckpointError(f"{name} holds non-finite parameters")
    if expected_family is not None and config.family != expected_family:
        raise CheckpointError(
            f"{name} was trained on family {config.family!r}, not {expected_family!r}"
        )
    return Checkpoint(config, state, metrics)
