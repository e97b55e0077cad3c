"""Registry of meta-learning algorithms: key -> algorithm object (one module per algorithm)."""

from __future__ import annotations

import inspect
import sys
from typing import TYPE_CHECKING

from ..i18n import N_
from .anil import ANIL
from .base import MetaAlgorithm, MetaStep
from .baselines import Pretrained, RandomInit
from .imaml import IMAML
from .latent import LatentLEO
from .leo import LEO
from .meta_sgd import MetaSGD
from .reptile import Reptile

if TYPE_CHECKING:
    from ..config import TrainConfig

__all__ = ["ALGORITHMS", "get_algorithm", "algorithm_notes", "MetaAlgorithm", "MetaStep"]

ALGORITHMS: dict[str, MetaAlgorithm] = {
    "leo": LEO(),
    "leo-fo": LEO(
        first_order=True, key="leo-fo", title=N_("LEO, first-order approximation (FOMAML)"),
        citation=N_("Finn et al. 2017, §5.2; Nichol et al. 2018."),
        summary=N_("The same inner loop as LEO, but the inner gradients are treated as constants when "
        "differentiating J, so the meta-gradient is simply mean_i grad L_query,i evaluated at theta_k^i. "
        "No Hessian products: cheaper and with memory independent of how the steps were taken, and usually "
        "close to the second-order result."),
    ),
    "reptile": Reptile(),
    "meta-sgd": MetaSGD(),
    "imaml": IMAML(),
    "leo-latent": LatentLEO(),
    "anil": ANIL(),
    "pretrained": Pretrained(),
    "random": RandomInit(),
}


def get_algorithm(name: str, cfg: "TrainConfig | None" = None) -> MetaAlgorithm:
    """The registered algorithm; configured with ``cfg``'s meta-test settings when given."""
    try:
        algorithm = ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}") from None
    return algorithm if cfg is None else algorithm.configure(cfg)


def algorithm_notes(algorithm: MetaAlgorithm) -> str:
    """The algorithm's module docstring: its paper, its update rule and every deviation from the paper
    (one source for the code's readers and the Theory page)."""
    return inspect.cleandoc(sys.modules[type(algorithm).__module__].__doc__ or "")
