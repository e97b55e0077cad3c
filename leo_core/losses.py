"""Per-task losses and metrics.

A ``Loss`` has two forms. ``per_task`` reduces over the example axis only, so a batch of T tasks
``[T, N, ...]`` gives ``[T]`` (a single task ``[N, ...]`` gives a scalar). ``total`` is the sum of
the per-task losses as one fused op; on these tiny tensors autograd's per-node overhead dominates,
and the fused form makes a second-order meta-iteration about 1.4× faster (bench/throughput.py).
Both forms assume every task in a batch has the same number of examples, which our samplers
guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn.functional as F
from torch import Tensor

__all__ = ["Loss", "LOSSES", "accuracy"]


@dataclass(frozen=True)
class Loss:
    name: str
    display: str  # how axis titles and tables name it
    per_task: Callable[[Tensor, Tensor], Tensor]  # [T, N, ...] -> [T]
    total: Callable[[Tensor, Tensor], Tensor]  # Σ over tasks of per_task, one fused op
    mean: Callable[[Tensor, Tensor], Tensor]  # mean over tasks of per_task, one fused op


def _mse_per_task(pred: Tensor, target: Tensor) -> Tensor:
    return (pred - target).pow(2).mean(dim=(-2, -1))


def _mse_total(pred: Tensor, target: Tensor) -> Tensor:
    return F.mse_loss(pred, target, reduction="sum") / (pred.shape[-2] * pred.shape[-1])


def _ce_per_task(logits: Tensor, labels: Tensor) -> Tensor:
    flat = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none")
    return flat.reshape(labels.shape).mean(dim=-1)


def _ce_total(logits: Tensor, labels: Tensor) -> Tensor:
    flat = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="sum")
    return flat / labels.shape[-1]


def _ce_mean(logits: Tensor, labels: Tensor) -> Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))


def accuracy(logits: Tensor, labels: Tensor) -> Tensor:
    """Fraction of correct argmax predictions: ``[..., N, C], [..., N] -> [...]``."""
    return (logits.argmax(dim=-1) == labels).to(logits.dtype).mean(dim=-1)


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", "MSE", _mse_per_task, _mse_total, F.mse_loss),
    "cross_entropy": Loss("cross_entropy", "cross-entropy", _ce_per_task, _ce_total, _ce_mean),
}
