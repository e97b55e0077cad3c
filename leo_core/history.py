"""Bounded metric history: keeps every record until full, then halves its resolution.

A long run (millions of iterations) keeps at most ``capacity`` records spread evenly over the
whole run, so memory stays bounded and charts stay fast; the newest record is always kept.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterable


__all__ = ["MetricRecord", "MetricHistory", "ThetaPath"]

@dataclass(frozen=True)
class MetricRecord:
    iteration: int  # 1-based count of meta-updates done
    meta_loss: float  # J(θ₀) on this meta-batch (before the update)
    pre_loss: float  # mean query loss at θ₀, no adaptation
    post_loss: float  # mean query loss after k inner steps
    grad_norm: float  # ‖∇J‖ over all meta-parameters
    its_per_sec: float  # recent meta-iterations per second
    elapsed: float  # seconds spent training (pauses excluded)
    pre_accuracy: float | None = None
    post_accuracy: float | None = None
    inner_residual: float | None = None  # MetaStep.inner_residual (iMAML); None where the algorithm has none

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = [f.name for f in fields(MetricRecord)]


class MetricHistory:
    def __init__(self, capacity: int = 2000):
        if capacity < 4:
            raise ValueError("capacity must be >= 4")
        self.capacity = capacity
        self.stride = 1  # keep records whose iteration is a multiple of stride
        self._records: list[MetricRecord] = []
        self._latest: MetricRecord | None = None

    def append(self, record: MetricRecord) -> None:
        self._latest = record
        if record.iteration % self.stride:
            return
        self._records.append(record)
        if len(self._records) > self.capacity:
            self.stride *= 2
            self._records = [r for r in self._records if r.iteration % self.stride == 0]

    def extend(self, records: Iterable[MetricRecord]) -> None:
        for r in records:
            self.append(r)

    @property
    def latest(self) -> MetricRecord | None:
        return self._latest

    def records(self) -> list[MetricRecord]:
        """Kept records, plus the latest one if decimation skipped it."""
        out = list(self._records)
        if self._latest is not None and (not out or out[-1].iteration != self._latest.iteration):
            out.append(self._latest)
        return out

    def __len__(self) -> int:
        return len(self.records())

    def columns(self) -> dict[str, list]:
        rows = self.records()
        return {c: [getattr(r, c) for r in rows] for c in COLUMNS}

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(COLUMNS)
        for r in self.records():
            writer.writerow(["" if v is None else v for v in (getattr(r, c) for c in COLUMNS)])
        return buf.getvalue()

    @classmethod
    def from_columns(cls, columns: dict[str, list], capacity: int = 2000) -> "MetricHistory":
        """The history saved as ``columns()``, its resolution included: a run that kept every 4th record keeps
        every 4th after it resumes (else the curve changes texture where the checkpoint ends)."""
        history = cls(capacity)
        iterations = [int(i) for i in columns.get("iteration", [])]
        gaps = [b - a for a, b in zip(iterations, iterations[1:-1]) if b > a]  # the last may be the unaligned latest
        history.stride = max(1, min(gaps, default=1))
        for i in range(len(iterations)):
            record = MetricRecord(**{c: columns[c][i] for c in COLUMNS if c in columns})
            history._records.append(record)  # kept as saved (the latest too), then the stride applies
            history._latest = record
        return history


class ThetaPath:
    """θ₀ after every meta-iteration of a two-parameter model: (iteration, θ₀, θ₁) triples.

    Exact (one point per iteration) up to ``capacity`` points; beyond that it halves its resolution
    like ``MetricHistory`` (keeps iterations that are multiples of a doubling stride), always keeping
    the start and the newest point. Two floats per iteration: 8,192 points are about 200 kB as Python
    floats and 130 kB in a checkpoint.
    """

    def __init__(self, capacity: int = 8192):
        if capacity < 4:
            raise ValueError("capacity must be >= 4")
        self.capacity = capacity
        self.stride = 1
        self._points: list[tuple[int, float, float]] = []
        self._latest: tuple[int, float, float] | None = None

    def append(self, iteration: int, a: float, b: float) -> None:
        point = (int(iteration), float(a), float(b))
        self._latest = point
        if self._points and iteration <= self._points[-1][0]:  # a resumed run never goes back; replace
            self._points = [p for p in self._points if p[0] < iteration]
        if iteration % self.stride and self._points:
            return
        self._points.append(point)
        if len(self._points) > self.capacity:
            self.stride *= 2
            first = self._points[0]
            self._points = [first] + [p for p in self._points[1:] if p[0] % self.stride == 0]

    def points(self) -> tuple[tuple[int, float, float], ...]:
        """Kept points in order, plus the newest one if decimation skipped it."""
        out = list(self._points)
        if self._latest is not None and (not out or out[-1][0] != self._latest[0]):
            out.append(self._latest)
        return tuple(out)

    def __len__(self) -> int:
        return len(self.points())

    def state(self) -> dict[str, Any]:
        """Plain lists (a checkpoint's ``weights_only`` load reads them)."""
        pts = self.points()
        return {"capacity": self.capacity, "stride": self.stride, "iterations": [p[0] for p in pts],
                "values": [[p[1], p[2]] for p in pts]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "ThetaPath":
        its, values = state["iterations"], state["values"]
        if len(its) != len(values) or any(len(v) != 2 for v in values):
            raise ValueError("θ₀ path: iterations and values differ in length")
        path = cls(int(state.get("capacity", 8192)))
        path.stride = max(1, int(state.get("stride", 1)))
        for it, (a, b) in zip(its, values):
            path._points.append((int(it), float(a), float(b)))
            path._latest = path._points[-1]
        return path
