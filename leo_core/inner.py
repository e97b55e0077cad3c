"""The inner loop: k plain gradient steps on each task's support loss, batched over tasks.

Per-task parameters are stacked with a leading task axis ``[T, ...]``. Each task's loss depends
only on its own slice, so the gradient of the *sum* of task losses with respect to the stack is
exactly the stack of per-task gradients: one backward pass serves the whole meta-batch.

This is the general path, for any model and loss, with autograd's inner gradients
(``create_graph=True`` keeps them differentiable for the second-order meta-gradient). For the MLP,
``analytic.py`` forms the whole meta-gradient in closed form instead; this path is its reference.
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch import Tensor

from .losses import Loss
from .models import Model, Params

__all__ = ["expand", "task_losses", "inner_step", "adapt", "adapt_path", "detached"]


def expand(params: Params, n_tasks: int) -> Params:
    """θ₀ repeated for ``n_tasks`` tasks as a view ``[T, ...]`` (gradients flow back to θ₀)."""
    return {k: v.unsqueeze(0).expand(n_tasks, *v.shape) for k, v in params.items()}


def detached(params: Params) -> Params:
    return {k: v.detach() for k, v in params.items()}


def task_losses(model: Model, loss: Loss, params: Params, x: Tensor, y: Tensor) -> Tensor:
    """Loss of each task under its own parameters: ``[T]`` (or a scalar for one unbatched task)."""
    return loss.per_task(model.forward(params, x), y)


def inner_step(
    model: Model, loss: Loss, params: Params, x: Tensor, y: Tensor, alpha: float | Params,
    create_graph: bool,
) -> tuple[Params, Tensor]:
    """One SGD step θ ← θ − α∇L(θ) per task; returns the new params and Σ_i L_i before it.

    ``alpha`` is a scalar, or a dict of per-parameter step sizes (Meta-SGD). With
    ``create_graph=True`` the step stays differentiable, so the outer gradient sees the inner
    gradient's dependence on θ (the second-order term); with False the gradient is a constant
    and the outer gradient is the first-order approximation.
    """
    names = list(params)
    total = loss.total(model.forward(params, x), y)  # Σ_i L_i: its gradient is each task's own
    grads = torch.autograd.grad(total, [params[n] for n in names], create_graph=create_graph)
    if isinstance(alpha, dict):
        new = {n: params[n] - alpha[n] * g for n, g in zip(names, grads)}
    else:
        new = {n: params[n] - alpha * g for n, g in zip(names, grads)}
    return new, total.detach()


def adapt(
    model: Model, loss: Loss, params: Params, x: Tensor, y: Tensor, alpha: float | Params, steps: int,
    create_graph: bool,
) -> Params:
    """θ_k after ``steps`` inner steps (differentiable through them when ``create_graph``)."""
    for _ in range(steps):
        params, _ = inner_step(model, loss, params, x, y, alpha, create_graph)
    return params


def adapt_path(
    model: Model, loss: Loss, params: Params, x: Tensor, y: Tensor, alpha: float | Params, steps: int,
) -> Iterator[Params]:
    """θ_0, θ_1, …, θ_steps, detached: for evaluation and trajectories (no meta-gradient)."""
    current = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    yield detached(current)
    for _ in range(steps):
        with torch.enable_grad():
            new, _ = inner_step(model, loss, current, x, y, alpha, create_graph=False)
        current = {k: v.detach().requires_grad_(True) for k, v in new.items()}
        yield detached(current)
