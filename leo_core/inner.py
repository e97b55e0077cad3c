"""The inner loop: k plain gradient steps on each task's support loss, batched over tasks.

Per-task parameters are stacked with a leading task axis ``[T, ...]``. Each task's loss depends
only on its own slice, so the gradient of the *sum* of task losses with respect to the stack is
exactly the stack of per-task gradients: one backward pass serves the whole meta-batch.

For the MLP with MSE or cross-entropy, the inner gradient is written out by hand (backpropagation
as batched matmuls and activation masks, ``mlp_gradient``) instead of asking autograd for it. The
hand-written gradient is made of ordinary differentiable ops, so with ``create_graph=True`` the
outer ``autograd.grad`` still differentiates through it and gives the exact second-order
meta-gradient (tests/test_fast_inner.py checks both against autograd in float64). It saves one
autograd engine run per inner step, and at the first step one folded matmul replaces T batched
ones. Measured, it did not pay: CPU time per meta-iteration (one thread, best of 30 interleaved
rounds, a loaded 2-core machine) was 0.92-1.05x autograd's at meta-batch 25 and 100, k = 1, so
autograd stays the default and ``gradient_path("hand")`` opts in (bench/throughput.py --impls
core core-hand compares the two in one run).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from .losses import Loss
from .models import MLP, Model, Params

__all__ = ["expand", "task_losses", "inner_step", "adapt", "adapt_path", "detached", "mlp_gradient",
           "gradient_path", "GRADIENT_PATHS"]

GRADIENT_PATHS = ("hand", "autograd")
_path = {"current": "autograd"}


@contextmanager
def gradient_path(name: str) -> Iterator[None]:
    """Use the hand-written MLP gradient ("hand") or autograd's ("autograd", the default) inside."""
    if name not in GRADIENT_PATHS:
        raise ValueError(f"unknown gradient path {name!r}; choose one of {', '.join(GRADIENT_PATHS)}")
    before, _path["current"] = _path["current"], name
    try:
        yield
    finally:
        _path["current"] = before


def _hand_applicable(model: Model, loss: Loss, params: Params, x: Tensor) -> bool:
    if _path["current"] != "hand" or not isinstance(model, MLP) or loss.name not in ("mse", "cross_entropy"):
        return False
    if model.activation not in ("relu", "tanh") or x.dim() not in (2, 3) or len(params) != 2 * model.n_layers:
        return False
    return all(params.get(f"w{i}") is not None and params[f"w{i}"].dim() == x.dim() for i in range(model.n_layers))


def _shared(w: Tensor, x: Tensor) -> Tensor | None:
    """The one matrix behind a stack of identical per-task weights (an expanded view), else None."""
    return w[0] if x.dim() == 3 and w.dim() == 3 and w.shape[0] > 1 and w.stride(0) == 0 else None


def mlp_gradient(model: MLP, loss: Loss, params: Params, x: Tensor, y: Tensor) -> tuple[Params, Tensor]:
    """∇ of Σ_i L_i w.r.t. each task's MLP parameters, by hand; returns (grads, Σ_i L_i detached).

    Shapes as in ``MLP.forward``: ``w{i} [T, in, out]``, ``x [T, N, in]`` (or without the task
    axis). Differentiable wherever the inputs are: ReLU's mask is piecewise constant, exactly as
    autograd's ReLU backward, and tanh's derivative 1 − h² is differentiated like any other op.
    """
    n = model.n_layers
    mm = torch.baddbmm if x.dim() == 3 else torch.addmm
    # At the first inner step every task holds the same θ₀ (an expanded view, stride 0 over tasks):
    # then one [T·N, in] @ [in, out] matmul replaces T small batched ones, forward and backward.
    ws = [_shared(params[f"w{i}"], x) for i in range(n)]
    hs = [x]  # inputs of each layer
    h = x
    for i in range(n):
        b, w = params[f"b{i}"], params[f"w{i}"]
        if ws[i] is not None and b.dim() == 2 and b.stride(0) == 0:
            h = torch.addmm(b[0], h.reshape(-1, h.shape[-1]), ws[i]).reshape(*h.shape[:-1], -1)
        else:
            h = mm(b.unsqueeze(-2) if x.dim() == 3 else b, h, w)
        if i < n - 1:
            h = torch.relu(h) if model.activation == "relu" else torch.tanh(h)
            hs.append(h)
    out = h
    if loss.name == "mse":  # Σ_i mean_{n,o} (out − y)²  →  ∂/∂out = 2 (out − y) / (N·O)
        diff = out - y
        g = diff * (2.0 / (out.shape[-2] * out.shape[-1]))
        with torch.no_grad():
            total = diff.pow(2).sum() / (out.shape[-2] * out.shape[-1])
    else:  # Σ_i mean_n CE(out, y)  →  ∂/∂out = (softmax(out) − onehot(y)) / N
        g = (torch.softmax(out, dim=-1) - F.one_hot(y, out.shape[-1]).to(out.dtype)) / y.shape[-1]
        with torch.no_grad():
            total = loss.total(out, y)
    grads: Params = {}
    for i in reversed(range(n)):
        h_in = hs[i]
        grads[f"w{i}"] = h_in.transpose(-1, -2) @ g
        grads[f"b{i}"] = g.sum(dim=-2)
        if i > 0:
            g = g @ (ws[i] if ws[i] is not None else params[f"w{i}"]).transpose(-1, -2)
            # ReLU: autograd's own fused mask op (differentiable; zero where the unit was off).
            # ReLU: autograd's own fused mask op (differentiable; zero where the unit was off).
            g = torch.ops.aten.threshold_backward(g, h_in, 0) if model.activation == "relu" else g * (1 - h_in * h_in)
    return {name: grads[name] for name in params}, total


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
    if _hand_applicable(model, loss, params, x):
        with torch.set_grad_enabled(create_graph and torch.is_grad_enabled()):
            by_name, total = mlp_gradient(model, loss, params, x, y)  # type: ignore[arg-type]
        grads = [by_name[n] for n in names]
    else:
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
