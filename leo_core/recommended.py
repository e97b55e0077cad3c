"""Recommended settings per (task family, algorithm): the one table the CLI and the app start from.

The table is data, ``leo_core/data/recommended.json``: for each algorithm and family the ``TrainConfig``
fields that differ from its defaults (α, k, β, the outer optimizer, the meta-batch and the algorithm's own
knobs), what those settings measured (``result``) and the command that measured it (``command``). It is
written by ``bench/recommend.py --write`` (re-runnable) and checked by ``bench/table.py``; it is validated
when loaded, so a damaged file fails at import with the entry named. Settings a user passes explicitly
always win; the CLI prints the settings it used and writes them to ``config.json``. Families or algorithms
missing from the table fall back to ``TrainConfig``'s defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .config import TrainConfig
from .settings import checked

__all__ = ["Recommendation", "RECOMMENDED", "DATA_FILE", "recommended_settings", "recommended_config",
           "load_recommended", "TUNED_FIELDS", "PROBLEM_FIELDS"]

DATA_FILE = Path(__file__).resolve().parent / "data" / "recommended.json"

# The fields a recommendation may set: the optimisation settings and each algorithm's own knobs.
# Problem settings (family, shots, ways, query, seed, device, dtype, hidden, model) stay the user's.
PROBLEM_FIELDS = frozenset({"family", "algorithm", "shots", "query", "ways", "seed", "device", "dtype", "hidden",
                             "cuda_graph", "model"})
TUNED_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name not in PROBLEM_FIELDS)
_DEFAULTS = TrainConfig()


@dataclass(frozen=True)
class Recommendation:
    settings: Mapping[str, Any] = field(default_factory=dict)  # TrainConfig fields that differ from the defaults
    result: str = ""  # what these settings gave
    command: str = ""  # the command(s) that measured it

    def __post_init__(self) -> None:
        bad = sorted(set(self.settings) - set(TUNED_FIELDS))
        if bad:
            raise ValueError(f"a recommendation may not set {', '.join(bad)}")
        for name, value in self.settings.items():
            default = getattr(_DEFAULTS, name)
            kind = float if isinstance(default, float) else type(default)
            ok = isinstance(value, kind) or (kind is float and isinstance(value, int) and not isinstance(value, bool))
            if not ok:
                raise ValueError(f"{name} must be {kind.__name__}, got {value!r}")
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    @property
    def measured(self) -> str:
        """The result and its command, as one line."""
        return f"{self.result} `{self.command}`" if self.command else self.result


def load_recommended(path: Path = DATA_FILE) -> Mapping[str, Mapping[str, Recommendation]]:
    """The table in ``path``, validated: ``ValueError`` naming the entry for anything wrong."""
    table = json.loads(Path(path).read_text(encoding="utf-8"))["recommended"]
    out: dict[str, Mapping[str, Recommendation]] = {}
    for algorithm, families in table.items():
        entries = {}
        for family, entry in families.items():
            try:
                unknown = sorted(set(entry) - {"settings", "result", "command"})
                if unknown or not isinstance(entry.get("result"), str) or not entry["result"].strip() \
                        or not isinstance(entry.get("command"), str) or not entry["command"].strip():
                    raise ValueError("needs exactly settings, a result and a command")
                entries[family] = Recommendation(entry.get("settings", {}), entry["result"], entry["command"])
            except (ValueError, TypeError, AttributeError) as exc:
                raise ValueError(f"{path}: {algorithm} × {family}: {exc}") from None
        out[algorithm] = MappingProxyType(entries)
    return MappingProxyType(out)


RECOMMENDED: Mapping[str, Mapping[str, Recommendation]] = load_recommended()

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
    return checked(TrainConfig(**{"family": family, "algorithm": algorithm, **recommended_settings(family, algorithm),
                                  **overrides}))
