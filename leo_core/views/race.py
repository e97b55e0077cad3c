"""A race: several algorithms meta-trained side by side on the same task stream.

Every entry shares the problem settings (family, shots, ways, query, meta-batch, seed, iterations,
model width, device, dtype), so every ``Trainer`` draws the same meta-batches from its generator
(seeded from ``seed``); each entry keeps its own recommended α, k, β, optimizer and knobs
(``leo_core.recommended``), with the user's overrides on top. ``RaceEntry.differences`` lists what
an entry sets beyond ``TrainConfig``'s defaults and where each value came from.

This module only describes races and turns their histories into typed curves; the app's
``leo_app.race.RaceRunner`` trains them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

from ..algorithms import ALGORITHMS
from ..config import EvalConfig, TrainConfig
from ..i18n import _
from ..recommended import TUNED_FIELDS, recommended_settings

__all__ = ["SHARED_FIELDS", "MAX_ENTRIES", "Difference", "RaceEntry", "RaceConfig", "race_config", "RaceCurve",
           "race_curve", "parse_entries"]

# The problem settings every entry of a race shares (the same task stream); the rest is per entry.
SHARED_FIELDS = ("family", "shots", "ways", "query", "meta_batch", "seed", "iterations", "hidden", "device", "dtype")
MAX_ENTRIES = len(ALGORITHMS)  # every registered algorithm at most once
_DEFAULTS = TrainConfig()


@dataclass(frozen=True)
class Difference:
    """One setting of an entry that differs from ``TrainConfig``'s default."""

    name: str
    value: Any
    default: Any
    source: str  # "recommended" or "yours"
    recommended: Any = None  # the recommended value, where the user overrode it


@dataclass(frozen=True)
class RaceEntry:
    key: str  # the algorithm key (one entry per algorithm): the trace name
    config: TrainConfig
    overrides: tuple[tuple[str, Any], ...] = ()  # the user's values over the recommended ones

    @property
    def differences(self) -> tuple[Difference, ...]:
        rec = recommended_settings(self.config.family, self.key)
        mine = dict(self.overrides)
        out = []
        for name in TUNED_FIELDS:
            if name in SHARED_FIELDS:
                continue
            value, default = getattr(self.config, name), getattr(_DEFAULTS, name)
            if name in mine and mine[name] != rec[name]:
                out.append(Difference(name, value, default, "yours", rec[name]))
            elif value != default:
                out.append(Difference(name, value, default, "recommended"))
        return tuple(out)

    def describe(self) -> str:
        """One line: the entry's own settings (α, k always; the other differences from the defaults)."""
        cfg = self.config
        parts = [f"α={cfg.alpha:g}", f"k={cfg.k}"]
        for d in self.differences:
            if d.name in ("alpha", "k"):
                if d.source == "yours":
                    parts[0 if d.name == "alpha" else 1] += _(" (yours; recommended {value})").format(
                        value=f"{d.recommended:g}")
                continue
            text = f"{d.name}={d.value:g}" if isinstance(d.value, float) else f"{d.name}={d.value}"
            parts.append(text + (_(" (yours; recommended {value})").format(value=d.recommended)
                                 if d.source == "yours" else ""))
        return " · ".join(parts)


@dataclass(frozen=True)
class RaceConfig:
    entries: tuple[RaceEntry, ...]
    eval: EvalConfig  # the one evaluation every entry gets when the race ends

    def __post_init__(self) -> None:
        if not self.entries:
            raise ValueError(_("a race needs at least one entry"))
        keys = [e.key for e in self.entries]
        if len(set(keys)) != len(keys):
            raise ValueError(_("each algorithm may enter a race once, got {keys}").format(keys=keys))
        first = self.entries[0].config
        for e in self.entries[1:]:
            for name in SHARED_FIELDS:
                if getattr(e.config, name) != getattr(first, name):
                    raise ValueError(_("race entries must share {name}: {first} has {first_value}, {entry} has "
                                       "{entry_value}").format(name=name, first=first.algorithm,
                                                               first_value=repr(getattr(first, name)), entry=e.key,
                                                               entry_value=repr(getattr(e.config, name))))

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(e.key for e in self.entries)

    @property
    def shared(self) -> TrainConfig:
        """The first entry's config: its ``SHARED_FIELDS`` are every entry's."""
        return self.entries[0].config

    @property
    def iterations(self) -> int:
        return self.shared.iterations


def parse_entries(keys: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(known algorithm keys in the given order, each once; the unknown ones)."""
    known, unknown = [], []
    for k in keys:
        k = str(k).strip()
        if not k:
            continue
        (known if k in ALGORITHMS else unknown).append(k)
    return tuple(dict.fromkeys(known)), tuple(unknown)


def race_config(family: str, algorithms: Sequence[str], *, iterations: int, seed: int = 0,
                shots: int | None = None, ways: int | None = None, query: int | None = None,
                meta_batch: int | None = None, device: str = "cpu",
                overrides: Mapping[str, Mapping[str, Any]] | None = None,
                eval_tasks: int = 100, eval_steps: int = 10, eval_seed: int = 12345,
                hidden: tuple[int, ...] | None = None) -> RaceConfig:
    """A race of ``algorithms`` on ``family``: shared problem settings, each entry at its recommended
    settings with ``overrides[key]`` (the user's α, k, …) on top. Unknown algorithms raise ``ValueError``."""
    keys, unknown = parse_entries(algorithms)
    if unknown:
        raise ValueError(_("unknown algorithm(s) {unknown}; choose from {known}").format(
            unknown=", ".join(unknown), known=", ".join(ALGORITHMS)))
    if not keys:
        raise ValueError(_("choose at least one algorithm to race"))
    shared: dict[str, Any] = {"family": family, "iterations": iterations, "seed": seed, "device": device,
                              "meta_batch": _DEFAULTS.meta_batch if meta_batch is None else meta_batch}
    for name, value in (("shots", shots), ("ways", ways), ("query", query), ("hidden", hidden)):
        if value is not None:
            shared[name] = value
    overrides = overrides or {}
    known_fields = {f.name for f in fields(TrainConfig)}
    entries = []
    for key in keys:
        mine = dict(overrides.get(key, {}))
        bad = sorted(set(mine) - (set(TUNED_FIELDS) & known_fields) | (set(mine) & set(SHARED_FIELDS)))
        if bad:
            raise ValueError(_("{entry}: a race entry may not set {names} (shared or unknown)").format(
                entry=key, names=", ".join(bad)))
        settings = {**recommended_settings(family, key), **mine, **shared}
        cfg = TrainConfig(algorithm=key, **settings)
        entries.append(RaceEntry(key, cfg, tuple(sorted(mine.items()))))
    first = entries[0].config
    from ..train import make_family  # the family configured as trained (ways), for its test-query size

    fam = make_family(first)
    eval_cfg = EvalConfig(tasks=eval_tasks, shots=first.shots, query=fam.eval_query, steps=eval_steps, seed=eval_seed)
    return RaceConfig(tuple(entries), eval_cfg)


@dataclass(frozen=True)
class RaceCurve:
    """One entry's live curve: the query metric after k steps against iterations and its own seconds."""

    key: str
    iterations: tuple[int, ...]
    seconds: tuple[float, ...]  # this entry's own training time (its steps only; the race interleaves them)
    values: tuple[float | None, ...]  # loss (or accuracy) after k steps on each meta-batch; None where not finite
    status: str = "running"


def race_curve(key: str, columns: Mapping[str, Sequence], *, accuracy: bool, status: str = "running") -> RaceCurve:
    """The curve of one entry from its ``MetricHistory.columns()``."""
    raw = columns.get("post_accuracy" if accuracy else "post_loss", []) or []
    values = tuple(None if v is None or not math.isfinite(v) else float(v) for v in raw)
    return RaceCurve(key, tuple(int(i) for i in columns.get("iteration", [])),
                     tuple(float(s) for s in columns.get("elapsed", [])), values, status)
