"""Registry of meta-learning algorithms: key -> algorithm object."""

from __future__ import annotations

from .base import MetaAlgorithm, MetaStep
from .leo import LEO

__all__ = ["ALGORITHMS", "get_algorithm", "MetaAlgorithm", "MetaStep"]

ALGORITHMS: dict[str, MetaAlgorithm] = {
    "leo": LEO(),
    "leo-fo": LEO(
        first_order=True, key="leo-fo", title="LEO, first-order approximation (FOMAML)",
        citation="Finn et al. 2017, §5.2; Nichol et al. 2018.",
    ),
}


def get_algorithm(name: str) -> MetaAlgorithm:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}") from None
