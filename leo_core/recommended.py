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
    # Sinusoid: the defaults (α 0.01, k 1) already beat the baselines (0.442); β 0.003 with k 3 halves that.
    "sinusoid": Recommendation(
        {"beta": 0.003, "k": 3},
        "10-step query MSE 0.212 ± 0.029 on 300 tasks (random init 4.41, pretrained 1.87). "
        "Grid (10-step MSE): defaults 0.442; α 0.05 NaN; k 5 0.334; α 0.02 k 3 0.457; β 0.003 0.295; "
        "β 0.003 k 3 0.212. `python -m leo_core train --family sinusoid --algorithm leo --beta 0.003 --k 3 "
        "--iterations 1500 --seed 0 --out DIR`, then "
        "`python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    # Digits 5-way 1-shot: a random init fine-tuned with a large α is a strong baseline (0.706 at
    # α 0.4), so the recommendation is the smaller α where meta-learning adds the most.
    "digits": Recommendation(
        {"alpha": 0.1, "k": 3},
        "5-way 1-shot accuracy after 10 steps 0.771 (loss 0.640 ± 0.023) on 300 tasks; at the same α random "
        "init 0.440, pretrained 0.299. Grid (k 3): α 0.1 0.771; α 0.2 0.740 (random 0.615); "
        "α 0.4 0.768 (random 0.706). `python -m leo_core train --family digits --algorithm leo --shots 1 "
        "--ways 5 --alpha 0.1 --k 3 --iterations 1500 --seed 0 --out DIR`, then "
        "`python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json --shots 1 --ways 5`",
    ),
    "polynomial": Recommendation(
        {"beta": 0.003, "k": 3},
        "10-step query MSE 0.477 ± 0.118 on 300 tasks (random init 2.70, pretrained 3.62). "
        "Grid (10-step MSE): defaults 0.698 ± 0.115; β 0.003 k 3 0.477. "
        "`python -m leo_core train --family polynomial --algorithm leo --beta 0.003 --k 3 --iterations 1500 --seed 0 "
        "--out DIR`, then `python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    "points2d": Recommendation(
        {},
        "At the defaults (5-way 10-shot), accuracy after 10 steps 0.684 on 300 tasks "
        "(random init 0.390, pretrained 0.355). "
        "`python -m leo_core train --family points2d --algorithm leo --iterations 1500 --seed 0 --out DIR`, then "
        "`python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    "sine-line": Recommendation(
        {"beta": 0.003, "k": 3},
        "10-step query MSE 0.961 ± 0.205 on 300 tasks (random init 3.70, pretrained 3.35). "
        "Grid (10-step MSE): defaults 2.495 ± 0.483; β 0.003 k 3 0.961. "
        "`python -m leo_core train --family sine-line --algorithm leo --beta 0.003 --k 3 --iterations 1500 --seed 0 "
        "--out DIR`, then `python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    # Linear: the defaults' α 0.01 is too small for 10 steps (1.534, pretrained 1.533); meta-learning ties
    # pretrained here, since with a quadratic loss the best start is about the mean task's line.
    "linear": Recommendation(
        {"alpha": 0.1},
        "10-step query MSE 0.084 ± 0.019 on 300 tasks (random init 0.139, pretrained 0.084, both at α 0.1). "
        "Grid (10-step MSE; random, pretrained): α 0.01 1.534 (2.569, 1.533); α 0.05 0.337 (0.585, 0.336); "
        "α 0.1 0.084 (0.139, 0.084). "
        "`python -m leo_core train --family linear --algorithm leo --alpha 0.1 --iterations 1500 --seed 0 "
        "--out DIR`, then `python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
}

_LEO_FO: dict[str, Recommendation] = {
    "sinusoid": Recommendation(
        {"beta": 0.003, "k": 3},
        "10-step query MSE 0.319 ± 0.051 on 300 tasks (random init 4.41, pretrained 1.87). "
        "Grid (10-step MSE): defaults 0.595; α 0.05 blew up at meta-test (4740); k 5 0.419; "
        "β 0.003 0.408; β 0.003 k 3 0.319. `python -m leo_core train --family sinusoid --algorithm leo-fo "
        "--beta 0.003 --k 3 --iterations 1500 --seed 0 --out DIR`, then "
        "`python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    # The un-adapted logits drift large (query loss before adaptation ≈ 220 at α 0.1 and 0.2), but
    # 10 steps recover; at α 0.4 the drift hurts (0.51, measured before this table).
    "digits": Recommendation(
        {"alpha": 0.1, "k": 3},
        "5-way 1-shot accuracy after 10 steps 0.810 (loss 0.580 ± 0.020) on 300 tasks; at the same α random "
        "init 0.440, pretrained 0.299. Grid (k 3): α 0.1 0.810; α 0.2 0.759 (random 0.615). "
        "`python -m leo_core train --family digits --algorithm leo-fo --shots 1 --ways 5 --alpha 0.1 --k 3 "
        "--iterations 1500 --seed 0 --out DIR`, then "
        "`python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json --shots 1 --ways 5`",
    ),
    "polynomial": Recommendation(
        {"beta": 0.003, "k": 3},
        "10-step query MSE 0.528 ± 0.135 on 300 tasks (random init 2.70, pretrained 3.62). "
        "Grid (10-step MSE): defaults 0.589 ± 0.120; β 0.003 k 3 0.528. "
        "`python -m leo_core train --family polynomial --algorithm leo-fo --beta 0.003 --k 3 --iterations 1500 "
        "--seed 0 --out DIR`, then `python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    "points2d": Recommendation(
        {},
        "At the defaults (5-way 10-shot), accuracy after 10 steps 0.689 on 300 tasks "
        "(random init 0.390, pretrained 0.355). "
        "`python -m leo_core train --family points2d --algorithm leo-fo --iterations 1500 --seed 0 --out DIR`, then "
        "`python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    "sine-line": Recommendation(
        {"beta": 0.003, "k": 3},
        "10-step query MSE 1.154 ± 0.214 on 300 tasks (random init 3.70, pretrained 3.35). "
        "Grid (10-step MSE): defaults 2.479 ± 0.475; β 0.003 k 3 1.154. "
        "`python -m leo_core train --family sine-line --algorithm leo-fo --beta 0.003 --k 3 --iterations 1500 --seed 0 "
        "--out DIR`, then `python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    # Linear: the defaults' α 0.01 is too small for 10 steps (1.534, pretrained 1.533); meta-learning ties
    # pretrained here, since with a quadratic loss the best start is about the mean task's line.
    "linear": Recommendation(
        {"alpha": 0.1},
        "10-step query MSE 0.084 ± 0.019 on 300 tasks (random init 0.139, pretrained 0.084, both at α 0.1). "
        "Grid (10-step MSE; random, pretrained): α 0.01 1.534 (2.569, 1.533); α 0.05 0.337 (0.585, 0.336); "
        "α 0.1 0.084 (0.139, 0.084). "
        "`python -m leo_core train --family linear --algorithm leo-fo --alpha 0.1 --iterations 1500 --seed 0 "
        "--out DIR`, then `python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
}

_REPTILE: dict[str, Recommendation] = {
}

_META_SGD: dict[str, Recommendation] = {
}

_IMAML: dict[str, Recommendation] = {
}

_LEO_LATENT: dict[str, Recommendation] = {
}

_ANIL: dict[str, Recommendation] = {
    "sinusoid": Recommendation(
        {"k": 5},
        "10-step query MSE 0.301 ± 0.040 on 300 tasks (random init 4.41, pretrained 1.87). "
        "Grid (10-step MSE): defaults 0.548; k 5 0.301; β 0.003 5.04 ± 7.76 (some tasks blow up); "
        "β 0.003 k 3 0.401 ± 0.252. `python -m leo_core train --family sinusoid --algorithm anil --k 5 "
        "--iterations 1500 --seed 0 --out DIR`, then "
        "`python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    "digits": Recommendation(
        {"alpha": 0.1, "k": 3},
        "5-way 1-shot accuracy after 10 steps 0.733 (loss 0.735 ± 0.024) on 300 tasks; at the same α random "
        "init 0.440, pretrained 0.299. Grid (k 3): α 0.1 0.733; α 0.2 0.740 (random 0.615); "
        "α 0.4 0.742 (random 0.706). `python -m leo_core train --family digits --algorithm anil --shots 1 "
        "--ways 5 --alpha 0.1 --k 3 --iterations 1500 --seed 0 --out DIR`, then "
        "`python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json --shots 1 --ways 5`",
    ),
    "polynomial": Recommendation(
        {"k": 5},
        "10-step query MSE 0.604 ± 0.096 on 300 tasks (random init 2.70, pretrained 3.62). "
        "Grid (10-step MSE): defaults 0.698 ± 0.114; k 5 0.604. "
        "`python -m leo_core train --family polynomial --algorithm anil --k 5 --iterations 1500 --seed 0 "
        "--out DIR`, then `python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    "points2d": Recommendation(
        {},
        "At the defaults (5-way 10-shot), accuracy after 10 steps 0.683 on 300 tasks "
        "(random init 0.390, pretrained 0.355). "
        "`python -m leo_core train --family points2d --algorithm anil --iterations 1500 --seed 0 --out DIR`, then "
        "`python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    "sine-line": Recommendation(
        {"k": 5},
        "10-step query MSE 1.294 ± 0.217 on 300 tasks (random init 3.70, pretrained 3.35). "
        "Grid (10-step MSE): defaults 2.465 ± 0.423; k 5 1.294. "
        "`python -m leo_core train --family sine-line --algorithm anil --k 5 --iterations 1500 --seed 0 "
        "--out DIR`, then `python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
    # Linear: the defaults' α 0.01 is too small for 10 steps (1.534, pretrained 1.533); meta-learning ties
    # pretrained here, since with a quadratic loss the best start is about the mean task's line.
    "linear": Recommendation(
        {"alpha": 0.1},
        "10-step query MSE 0.084 ± 0.019 on 300 tasks (random init 0.139, pretrained 0.084, both at α 0.1). "
        "ANIL is MAML here (no body). "
        "Grid (10-step MSE; random, pretrained): α 0.01 1.534 (2.569, 1.533); α 0.05 0.337 (0.585, 0.336); "
        "α 0.1 0.084 (0.139, 0.084). "
        "`python -m leo_core train --family linear --algorithm anil --alpha 0.1 --iterations 1500 --seed 0 "
        "--out DIR`, then `python -m leo_core evaluate DIR --tasks 300 --steps 10 --seed 1 --json`",
    ),
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
