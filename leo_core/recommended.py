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

# Reptile as Nichol et al.: plain SGD ε annealed linearly to 0 (beta = ε at the start).
_REPTILE: dict[str, Recommendation] = {
    "sinusoid": Recommendation(
        {"alpha": 0.02, "k": 5, "outer_optimizer": "sgd", "beta": 1.0, "beta_schedule": "linear"},
        "MSE after 10 steps 0.518 ± 0.099 (random init 4.17, pretrained 1.84); grid: (α 0.02, k 5, ε 1.0) 0.518, "
        "(α 0.01, k 10, ε 1.0) 0.558 ± 0.082. train --family sinusoid --algorithm reptile --iterations 1500 --seed 0 "
        "--alpha 0.02 --k 5 --optimizer sgd --beta 1.0 --beta-schedule linear; evaluate --tasks 300 --steps 10 --seed 1",
    ),
    "digits": Recommendation(
        {"alpha": 0.4, "k": 3, "outer_optimizer": "sgd", "beta": 1.0, "beta_schedule": "linear"},
        "5-way 1-shot accuracy after 10 steps 0.767 (loss 0.688 ± 0.034; random init 0.64 at α 0.4, k 3); "
        "grid (α 0.4, ε 1.0): k 3 0.767, k 5 0.711, k 10 0.676. "
        "train --family digits --shots 1 --ways 5 --algorithm reptile --iterations 1500 --seed 0 --alpha 0.4 --k 3 "
        "--optimizer sgd --beta 1.0 --beta-schedule linear; evaluate --tasks 300 --steps 10 --seed 1",
    ),
}

# Meta-SGD as Li et al.: signed steps, random initial steps in [0.005, 0.1] (α then matters only for "alpha").
_META_SGD: dict[str, Recommendation] = {
    "sinusoid": Recommendation(
        {},  # the paper's setting: k = 1. Its learned steps are for ONE step: 10 steps diverge (see measured)
        "Adapt with 1 step (as trained): MSE after 1 step 0.371 (random init 4.17, pretrained 1.84); after 10 "
        "steps NOT finite (first diverging step 4): the signed steps are learned for k steps and about a third "
        "are negative (ascent), so repeating them blows up. No setting tried keeps 10 steps finite: k 2 (1-step "
        "MSE 0.754, diverges at step 7), k 3 (3.36, step 5), k 3 steps at α (training diverged at it. ~800), "
        "k 5 (training diverged at it. 175), k 5 at α (it. 125), k 5 at α with β 0.0005 (it. ~550), k 5 "
        "first-order (2.28, step 10), k 10 first-order at α (training diverged at it. 310). "
        "train --family sinusoid --algorithm meta-sgd --iterations 1500 --seed 0 --k 1; "
        "evaluate --tasks 300 --steps 10 --seed 1 (and --steps 1)",
    ),
    "digits": Recommendation(
        {"k": 3},
        "5-way 1-shot accuracy after 10 steps 0.810 (loss 0.535 ± 0.024; random init 0.64 at α 0.4, k 3); "
        "grid: k 3 random steps 0.810, k 1 with steps initialised at α 0.4 (meta_sgd_init alpha) 0.775. "
        "train --family digits --shots 1 --ways 5 --algorithm meta-sgd --iterations 1500 --seed 0 --k 3; "
        "evaluate --tasks 300 --steps 10 --seed 1",
    ),
}

_IMAML: dict[str, Recommendation] = {
}

_LEO_LATENT: dict[str, Recommendation] = {
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
