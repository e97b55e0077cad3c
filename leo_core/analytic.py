"""The MAML meta-gradient of an MLP written out by hand: no autograd graph at all.

For the MLP with ReLU or tanh and MSE or cross-entropy, every quantity of a meta-iteration has a
short closed form, and this module computes them with plain batched matmuls under ``no_grad``:

- the forward pass and backpropagation (the inner gradient g = ∇Lᵢ(θ) of each task);
- the k inner steps θⱼ₊₁ = θⱼ − α gⱼ (α a scalar, or one step per parameter for Meta-SGD);
- the adjoint back through them: with u = ∂J/∂θⱼ₊₁, ∂J/∂θⱼ = u − Hⱼ(α ⊙ u), where Hⱼ is task i's
  Hessian at θⱼ; Hⱼ v is Pearlmutter's R-operator (a forward pass of directional derivatives and a
  backward pass of their derivatives), so no Hessian is ever formed;
- ∂J/∂α = −Σⱼ Σᵢ uⱼ₊₁ ⊙ gⱼ for learned per-parameter steps.

Why by hand: autograd records a graph of the inner gradient and then differentiates it a second
time, which for these small networks costs far more in bookkeeping than in arithmetic. Written out,
a second-order meta-iteration is a few dozen ops, and whatever is summed over tasks (the gradient
at the shared θ₀, its Hessian-vector products) is one matmul over all tasks' rows instead of a
batched matmul per task. A per-task matrix of rank N (a weight one step from the shared θ₀, a
gradient over N query points) is kept as its factors where that is cheaper (``_LowRank``). ``bench/throughput.py --impls core core-autograd`` compares the two in
one run; tests/test_analytic.py checks this module against autograd and against a per-task loop in
float64 (first and second order, k 0-3, every family, ReLU and tanh, scalar and per-parameter α).

Shapes as in ``MLP.forward``: ``x [T, N, in]``; a parameter is shared by all tasks (``w [in, out]``,
θ₀ before the first step) or held per task (``w [T, in, out]``, after it).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from .losses import Loss
from .models import MLP, Model, Params

__all__ = ["applicable", "MetaGradient", "meta_gradient", "gradient_path", "GRADIENT_PATHS"]

GRADIENT_PATHS = ("analytic", "autograd")
_path = {"current": "analytic"}


@contextmanager
def gradient_path(name: str) -> Iterator[None]:
    """Inside, algorithms form their meta-gradients with this module ("analytic", the default) or with
    autograd through the general inner loop ("autograd", the reference)."""
    if name not in GRADIENT_PATHS:
        raise ValueError(f"unknown gradient path {name!r}; choose one of {', '.join(GRADIENT_PATHS)}")
    before, _path["current"] = _path["current"], name
    try:
        yield
    finally:
        _path["current"] = before


def applicable(model: Model, loss: Loss) -> bool:
    """Whether this module's closed forms cover the model and loss (and the analytic path is on)."""
    return (_path["current"] == "analytic" and isinstance(model, MLP) and not model.batch_norm
            and model.activation in ("relu", "tanh")
            and loss.name in ("mse", "cross_entropy"))


@dataclass(frozen=True)
class MetaGradient:
    grads: Params  # ∂J/∂θ₀
    step_grads: Params | None  # ∂J/∂α, keyed by parameter name, when α was one step per parameter
    meta_loss: Tensor  # J: the mean over tasks of each task's outer loss after the k steps
    outer_output: Tensor  # the model's output on the outer data after the k steps [T, N, out]
    adapted_weights: dict[str, "Weight"] = field(repr=False)  # θₖ of every task; ``adapted()`` forms it

    def adapted(self) -> Params:
        """θₖ of every task, detached, each parameter [T, ...]."""
        return {name: _dense(w) for name, w in self.adapted_weights.items()}


@dataclass(frozen=True)
class _LowRank:
    """``base + coef · Σₙ leftₙᵀ rightₙ`` for each task, kept as its factors: left [T, R, in], right
    [T, R, out], base shared [in, out] or None (zero). A gradient hᵀδ summed over R examples is one,
    and so is a weight one step away from the shared θ₀. Multiplying by it costs R·(in + out) per row
    instead of in·out, and the [T, in, out] tensor is never written to memory."""

    base: Tensor | None
    left: Tensor
    right: Tensor
    coef: float = 1.0

    def dense(self) -> Tensor:
        if self.base is None:
            return torch.bmm(self.left.transpose(-1, -2), self.right).mul_(self.coef)
        return torch.baddbmm(self.base, self.left.transpose(-1, -2), self.right, alpha=self.coef)

    def task_sum(self) -> Tensor:
        """Σ over tasks, one matmul over all tasks' rows (base None only)."""
        return _outer(self.left, self.right, summed=True).mul_(self.coef)


Weight = Tensor | _LowRank


# Factoring saves arithmetic and memory traffic but costs two more ops per use; below about this many
# elements in the dense [T, in, out] tensor the ops cost more (measured on the sinusoid MLP, one CPU
# thread: factored 4% slower at meta-batch 25 (40k elements), 6-10% faster at 100 (160k)).
_FACTOR_FROM_ELEMENTS = 1 << 16


def _worth_factoring(n_tasks: int, rank: int, n_in: int, n_out: int) -> bool:
    """Whether a per-task rank-``rank`` [in, out] matrix is cheaper kept as factors than formed."""
    return rank * (n_in + n_out) < n_in * n_out and n_tasks * n_in * n_out >= _FACTOR_FROM_ELEMENTS


@dataclass(frozen=True)
class _Pass:
    """One forward and backward pass of every task at one parameter set."""

    params: dict[str, Weight]
    hs: list[Tensor]  # each layer's input: hs[0] = x, hs[i] = σ(a_{i-1})
    slopes: list[Tensor | None]  # σ' at each hs[i] (i ≥ 1) as ``_activate`` gives it
    deltas: list[Tensor]  # ∂Lᵢ/∂aᵢ for each layer's pre-activation aᵢ
    out: Tensor


# -- small pieces ------------------------------------------------------------------------------------


def _times(h: Tensor, w: Weight) -> Tensor:
    """h @ w; matmul folds a shared w [in, out] into one matmul over all tasks' rows."""
    if isinstance(w, _LowRank):
        low = h @ w.left.transpose(-1, -2)
        if w.base is None:
            return torch.bmm(low, w.right).mul_(w.coef)
        return torch.baddbmm(_times(h, w.base), low, w.right, alpha=w.coef)
    return h @ w


def _times_t(d: Tensor, w: Weight) -> Tensor:
    """d @ wᵀ (backpropagation through a layer)."""
    if isinstance(w, _LowRank):  # (base + c·LᵀR)ᵀ = baseᵀ + c·RᵀL
        base = None if w.base is None else w.base.transpose(-1, -2)
        return _times(d, _LowRank(base, w.right, w.left, w.coef))
    return d @ w.transpose(-1, -2)


def _affine(h: Tensor, w: Weight, b: Tensor) -> Tensor:
    """h @ w + b, the bias fused into the matmul where the shapes allow."""
    if isinstance(w, Tensor) and w.dim() == 2 and b.dim() == 1:
        return torch.addmm(b, h.reshape(-1, h.shape[-1]), w).view(*h.shape[:-1], w.shape[-1])
    if isinstance(w, Tensor) and w.dim() == 3:
        return torch.baddbmm(b.unsqueeze(-2), h, w)
    return _times(h, w).add_(b.unsqueeze(-2))


def _outer(h: Tensor, d: Tensor, summed: bool) -> Tensor:
    """Σ over examples of hᵀd per task [T, in, out], or over all tasks' examples at once [in, out]."""
    if summed:
        return h.reshape(-1, h.shape[-1]).T @ d.reshape(-1, d.shape[-1])
    return h.transpose(-1, -2) @ d


def _outer_add(acc: Tensor, h: Tensor, d: Tensor, summed: bool) -> None:
    """acc += ``_outer(h, d, summed)``, in one fused op."""
    if summed:
        acc.addmm_(h.reshape(-1, h.shape[-1]).T, d.reshape(-1, d.shape[-1]))
    else:
        acc.baddbmm_(h.transpose(-1, -2), d)


def _rows(d: Tensor, summed: bool) -> Tensor:
    return d.reshape(-1, d.shape[-1]).sum(0) if summed else d.sum(-2)


def _task_sum(g: Weight) -> Tensor:
    return g.task_sum() if isinstance(g, _LowRank) else g.sum(0)


def _dense(w: Weight) -> Tensor:
    return w.dense() if isinstance(w, _LowRank) else w


def _activate(model: MLP, a: Tensor) -> tuple[Tensor, Tensor]:
    """σ(a), in place (a is a fresh pre-activation), and its slope σ'(a) as a tensor: ReLU's 0/1 mask
    (0 where h = 0, as autograd's ReLU backward) or tanh's 1 − h²."""
    if model.activation == "relu":
        h = a.clamp_min_(0)
        return h, h.sign()  # h ≥ 0, so sign(h) is exactly 1 where the unit is on and 0 where off
    h = a.tanh_()
    return h, 1 - h * h


def _through_activation(d: Tensor, slope: Tensor) -> Tensor:
    """d ⊙ σ'(a), in place on d (always a fresh product here)."""
    return d.mul_(slope)


def _loss_gradient(loss: Loss, out: Tensor, y: Tensor, scale: float) -> Tensor:
    """``scale`` · ∂Lᵢ/∂out for each task's own loss (a mean over its examples)."""
    if loss.name == "mse":
        return (out - y).mul_(scale * 2.0 / (out.shape[-2] * out.shape[-1]))
    return (torch.softmax(out, dim=-1) - F.one_hot(y, out.shape[-1]).to(out.dtype)).mul_(scale / y.shape[-1])


def _loss_hessian_times(loss: Loss, out: Tensor, r_out: Tensor) -> Tensor:
    """∂²Lᵢ/∂out² applied to a direction r_out."""
    if loss.name == "mse":
        return r_out * (2.0 / (out.shape[-2] * out.shape[-1]))
    p = torch.softmax(out, dim=-1)
    pr = p * r_out
    return (pr - p * pr.sum(-1, keepdim=True)) / out.shape[-2]


# -- passes ------------------------------------------------------------------------------------------


def _forward_backward(model: MLP, loss: Loss, params: dict[str, Weight], x: Tensor, y: Tensor, scale: float = 1.0) -> _Pass:
    n = model.n_layers
    hs, slopes, h = [x], [None], x
    for i in range(n):
        h = _affine(h, params[f"w{i}"], params[f"b{i}"])
        if i < n - 1:
            h, slope = _activate(model, h)
            hs.append(h)
            slopes.append(slope)
    out = h
    d = _loss_gradient(loss, out, y, scale)
    deltas: list[Tensor] = [d] * n
    for i in range(n - 1, 0, -1):
        d = _through_activation(_times_t(d, params[f"w{i}"]), slopes[i])
        deltas[i - 1] = d
    return _Pass(params, hs, slopes, deltas, out)


def _gradient(p: _Pass, summed: bool, factored: bool = False) -> dict[str, Weight]:
    """Each task's gradient (``summed``: their sum); ``factored``: weights' as ``_LowRank`` where cheaper."""
    grads: dict[str, Weight] = {}
    for i, (h, d) in enumerate(zip(p.hs, p.deltas)):
        if factored and not summed and _worth_factoring(h.shape[0], h.shape[-2], h.shape[-1], d.shape[-1]):
            grads[f"w{i}"] = _LowRank(None, h, d)
        else:
            grads[f"w{i}"] = _outer(h, d, summed)
        grads[f"b{i}"] = _rows(d, summed)
    return grads


def _hessian_times(model: MLP, loss: Loss, p: _Pass, v: dict[str, Weight], summed: bool) -> Params:
    """Each task's Hessian of its loss at ``p.params`` times its direction ``v`` (per task), by the
    R-operator: R{·} is the derivative of · along v."""
    n = model.n_layers
    r_hs: list[Tensor | None] = [None]  # R{x} = 0
    for i in range(n):  # R{aᵢ} = R{hᵢ} wᵢ + hᵢ R{wᵢ} + R{bᵢ}
        r_a = _affine(p.hs[i], v[f"w{i}"], v[f"b{i}"])
        if r_hs[i] is not None:
            r_a = r_a.add_(_times(r_hs[i], p.params[f"w{i}"]))
        if i < n - 1:
            r_hs.append(_through_activation(r_a, p.slopes[i + 1]))
    r_d = _loss_hessian_times(loss, p.out, r_a)
    out: Params = {}
    for i in range(n - 1, -1, -1):  # R{gwᵢ} = R{hᵢ}ᵀδᵢ + hᵢᵀR{δᵢ};  R{δᵢ₋₁} from R{δᵢ}, R{wᵢ}, R{hᵢ}
        r_h = r_hs[i]
        out[f"w{i}"] = _outer(p.hs[i], r_d, summed)
        if r_h is not None:
            _outer_add(out[f"w{i}"], r_h, p.deltas[i], summed)
        out[f"b{i}"] = _rows(r_d, summed)
        if i > 0:
            w = p.params[f"w{i}"]
            back = _times_t(r_d, w).add_(_times_t(p.deltas[i], v[f"w{i}"]))
            r_d = _through_activation(back, p.slopes[i])
            if model.activation == "tanh":  # σ' = 1 − h² moves too: R{σ'} = −2 h R{h}
                r_d = r_d - 2 * _times_t(p.deltas[i], w) * p.hs[i] * r_h
    return {name: out[name] for name in p.params}


# -- the meta-gradient -------------------------------------------------------------------------------


def meta_gradient(
    model: MLP, loss: Loss, theta0: Params, x: Tensor, y: Tensor, x_out: Tensor, y_out: Tensor,
    alpha: float | Params, k: int, first_order: bool = False,
) -> MetaGradient:
    """∇J(θ₀) for J = (1/T) Σᵢ Lᵢ^out(θₖⁱ), θₖⁱ after k steps on (x, y)ᵢ; exact (second order) unless
    ``first_order``. With per-parameter ``alpha`` (Meta-SGD) also ∂J/∂α (``step_grads``)."""
    per_param = isinstance(alpha, dict)
    with torch.no_grad():
        passes: list[_Pass] = []
        grads_at: list[Params] = []  # each step's inner gradients, for ∂J/∂α
        params = {name: v.detach() for name, v in theta0.items()}
        for _ in range(k):
            p = _forward_backward(model, loss, params, x, y)
            passes.append(p)
            if per_param:
                g = _gradient(p, summed=False)
                grads_at.append(g)
                params = {name: params[name] - alpha[name] * g[name] for name in params}
            else:
                params = _sgd_step(p, alpha)
        final = _forward_backward(model, loss, params, x_out, y_out, scale=1.0 / x_out.shape[0])
        meta_loss = loss.mean(final.out, y_out)
        done = partial(MetaGradient, meta_loss=meta_loss, outer_output=final.out, adapted_weights=params)
        step_grads = {name: torch.zeros_like(a) for name, a in alpha.items()} if per_param else None
        if k == 0 or (first_order and not per_param):
            return done(_gradient(final, summed=True), step_grads)
        u = _gradient(final, summed=False, factored=not per_param)  # ∂J/∂θₖ, per task
        for j in range(k - 1, -1, -1):
            if step_grads is not None:  # θⱼ₊₁ = θⱼ − α ⊙ gⱼ  ⇒  ∂J/∂α −= Σᵢ uⁱ ⊙ gⱼⁱ
                for name in step_grads:
                    step_grads[name] -= (u[name] * grads_at[j][name]).sum(0)
            if first_order:
                continue
            # ∂J/∂θⱼ = u − Hⱼ(α ⊙ u); for a scalar α, α·(Hⱼu) saves scaling the per-task u.
            direction = {name: alpha[name] * u[name] for name in u} if per_param else u
            hv = _hessian_times(model, loss, passes[j], direction, summed=j == 0)
            scale = 1.0 if per_param else alpha
            if j == 0:
                return done({name: _task_sum(u[name]).add_(hv[name], alpha=-scale) for name in u}, step_grads)
            u = {name: _dense(u[name]).add_(hv[name], alpha=-scale) for name in u}  # u is not needed after
        return done({name: _task_sum(g) for name, g in u.items()}, step_grads)


def _sgd_step(p: _Pass, alpha: float) -> dict[str, Weight]:
    """θ − α∇Lᵢ(θ) for every task: a weight one step from the shared θ₀ stays factored (``_LowRank``)
    where that is cheaper, else the outer product and the step are fused into one baddbmm."""
    new: dict[str, Weight] = {}
    for i, (h, d) in enumerate(zip(p.hs, p.deltas)):
        w = p.params[f"w{i}"]
        if isinstance(w, Tensor) and w.dim() == 2 and _worth_factoring(h.shape[0], h.shape[-2], *w.shape):
            new[f"w{i}"] = _LowRank(w, h, d, -alpha)
        else:
            new[f"w{i}"] = torch.baddbmm(_dense(w), h.transpose(-1, -2), d, alpha=-alpha)
        new[f"b{i}"] = torch.add(p.params[f"b{i}"], d.sum(-2), alpha=-alpha)
    return {name: new[name] for name in p.params}
