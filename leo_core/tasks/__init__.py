"""Task families: seeded samplers of meta-batches of few-shot tasks, one object per family.

``TASK_FAMILIES`` maps a key (the CLI's ``--family``, the app's selectbox) to its family object;
the members live in ``regression.py``, ``classification.py`` and ``omniglot.py`` and know nothing of this registry.
"""

from __future__ import annotations

from .base import SPLITS, TaskBatch, TaskFamily, TaskParams, check_split
from .classification import CLASSIFICATION_FAMILIES
from .omniglot import OMNIGLOT
from .regression import REGRESSION_FAMILIES, RegressionFamily

__all__ = ["TaskBatch", "TaskFamily", "TaskParams", "RegressionFamily", "TASK_FAMILIES", "get_family", "SPLITS",
           "check_split"]

TASK_FAMILIES: dict[str, TaskFamily] = {**REGRESSION_FAMILIES, **CLASSIFICATION_FAMILIES, OMNIGLOT.name: OMNIGLOT}


def get_family(name: str) -> TaskFamily:
    """The family registered as ``name``; a clear ``ValueError`` for an unknown one."""
    try:
        return TASK_FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown task family {name!r}; choose one of {', '.join(TASK_FAMILIES)}") from None
