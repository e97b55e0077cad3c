"""Recommended settings per (task family, algorithm): the one table the CLI and the app start from.

Each entry lists only the ``TrainConfig`` fields that differ from its defaults (α, k, β, the outer
optimizer, the meta-batch and the algorithm's own knobs) and, beside them, what those settings
measured and the command that measured it. Settings a user passes explicitly always win; the
CLI prints the settings it used and writes them to ``config.json``.

The table is searched by ``bench/recommend.py`` (re-runnable) and checked by ``bench/table.py``.
Families or algorithms missing from the table fall back to ``TrainConfig``'s defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Mapping

from .config import TrainConfig

__all__ = ["Recommendation", "RECOMMENDED", "recommended_settings", "recommended_config", "TUNED_FIELDS"]

# The fields a recommendation may set: the optimisation settings and each algorithm's own knobs.
# Problem settings (family, shots, ways, query, seed, device, dtype, hidden) stay the user's.
_PROBLEM_FIELDS = frozenset({"family", "algorithm", "shots", "query", "ways", "seed", "device", "dtype", "hidden"})
TUNED_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name not in _PROBLEM_FIELDS)


@dataclass(frozen=True)
class Recommendation:
    settings: Mapping[str, Any] = field(default_factory=dict)  # TrainConfig fields that differ from the defaults
    measured: str = ""  # what these settings gave, with the command that measured it

    def __post_init__(self) -> None:
        bad = sorted(set(self.settings) - set(TUNED_FIELDS))
        if bad:
            raise ValueError(f"a recommendation may not set {', '.join(bad)}")
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))


# One block per algorithm: family -> Recommendation.

_LEO: dict[str, Recommendation] = {
}

_LEO_FO: dict[str, Recommendation] = {
}

_REPTILE: dict[str, Recommendation] = {
}

_META_SGD: dict[str, Recommendation] = {
}

_IMAML: dict[str, Recommendation] = {
}

# Grid: latent_lr ∈ {0.03, 0.1 (default), 0.3, 1.0} with the defaults otherwise (α 0.01, β 0.001 Adam, k 1,
# meta-batch 25); digits α 0.4 with latent_lr ∈ {0.3, 1.0}, k ∈ {1, 3}. Each: `python -m leo_core train
# --family F --algorithm leo-latent --iterations 1500 --seed 0 [flags] --out DIR`, then `python -m leo_core
# evaluate DIR --tasks 300 --steps 10 --seed 1 --json` (digits: --shots 1 --ways 5 on both).
_LEO_LATENT: dict[str, Recommendation] = {
    "sinusoid": Recommendation(
        {"latent_lr": 1.0},
        "10-step query MSE 0.016 ± 0.002 (after 0 steps 2.49, after the 5 latent steps 0.019); latent_lr 0.1: 0.042, "
        "0.3: 0.022, 0.3 with alpha 0.03: 0.015. --latent-lr 1.0, 1,500 iterations, seed 0; evaluate --tasks 300 "
        "--steps 10 --seed 1. (random init 4.17, pretrained 1.84)",
    ),
    "linear": Recommendation(
        {},
        "10-step query MSE 0.016 at the defaults (latent_lr 0.3: 0.016). 1,500 iterations, seed 0; evaluate "
        "--tasks 300 --steps 10 --seed 1.",
    ),
    "sine-line": Recommendation(
        {},
        "10-step query MSE 0.559 at the defaults (latent_lr 0.1); latent_lr 0.03: 2.11, 0.3: 1.80. 1,500 "
        "iterations, seed 0; evaluate --tasks 300 --steps 10 --seed 1.",
    ),
    "polynomial": Recommendation(
        {"latent_lr": 0.03},
        "10-step query MSE 0.475; latent_lr 0.1 (default): 0.699, 0.3: 0.581. --latent-lr 0.03, 1,500 iterations, "
        "seed 0; evaluate --tasks 300 --steps 10 --seed 1.",
    ),
    "digits": Recommendation(
        {"alpha": 0.4, "latent_lr": 1.0},
        "5-way 1-shot: 10-step accuracy 0.699 ± 0.010 (after 0 steps 0.505, after the 5 latent steps 0.679), query loss "
        "0.835; latent_lr 0.3: 0.681; k 3: 0.404 (the latent phase diverged). --alpha 0.4 --latent-lr 1.0 "
        "--shots 1 --ways 5, 1,500 iterations, seed 0; evaluate --shots 1 --ways 5 --tasks 300 --steps 10 "
        "--seed 1. (random init 0.64 at alpha 0.4, k 3)",
    ),
    "points2d": Recommendation(
        {"alpha": 0.4, "latent_lr": 1.0},
        "5-way 10-shot: 10-step accuracy 0.820 (after 0 steps 0.814), query loss 0.399; the only setting tried "
        "(digits' best), no baseline measured alongside. --alpha 0.4 --latent-lr 1.0, 1,500 iterations, seed 0; "
        "evaluate --tasks 300 --steps 10 --seed 1.",
    ),
}

_ANIL: dict[str, Recommendation] = {
}

_PRETRAINED: dict[str, Recommendation] = {
}

_RANDOM: dict[str, Recommendation] = {
}

RECOMMENDED: Mapping[str, Mapping[str, Recommendation]] = MappingProxyType({
    "leo": _LEO,
    "leo-fo": _LEO_FO,
    "reptile": _REPTILE,
    "meta-sgd": _META_SGD,
    "imaml": _IMAML,
    "leo-latent": _LEO_LATENT,
    "anil": _ANIL,
    "pretrained": _PRETRAINED,
    "random": _RANDOM,
})


def recommended_settings(family: str, algorithm: str) -> dict[str, Any]:
    """The recommended values of ``TUNED_FIELDS`` for ``family`` and ``algorithm`` (defaults filled in)."""
    defaults = TrainConfig()
    out = {name: getattr(defaults, name) for name in TUNED_FIELDS}
    entry = RECOMMENDED.get(algorithm, {}).get(family)
    if entry is not None:
        out.update(entry.settings)
    return out


def recommended_config(family: str, algorithm: str, **overrides: Any) -> TrainConfig:
    """A ``TrainConfig`` at the recommended settings, with ``overrides`` (the user's choices) on top."""
    return TrainConfig(**{"family": family, "algorithm": algorithm, **recommended_settings(family, algorithm),
                          **overrides})
