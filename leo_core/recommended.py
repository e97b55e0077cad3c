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
    # The defaults (λ 5, imaml_tol 0.05, imaml_max_steps 25, cg_steps 5, meta-test along the proximal solve).
    "sinusoid": Recommendation({}, measured=(
        "10-step query MSE 0.674 ± 0.079 (random init 4.17, pretrained 1.84; leo at its defaults, 4,000 it: "
        "0.286 ± 0.045); λ 2 gave 1.195 ± 0.155 (its proximal path converges more slowly per step). "
        "python -m leo_core train --family sinusoid --algorithm imaml [--imaml-lambda 2] --iterations 1500 "
        "--seed 0 --out DIR; python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json"
    )),
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
