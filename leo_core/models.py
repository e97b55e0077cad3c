"""Functional models: ``forward(params, x)`` with params a ``dict[str, Tensor]``.

Every forward accepts either one parameter set (``W: [in, out]``, ``x: [N, in]``) or a stack of
per-task parameter sets with a leading task axis (``W: [T, in, out]``, ``x: [T, N, in]``); the same
code runs both through ``torch.matmul``'s batching, so a meta-batch is one batched matmul rather
than a Python loop over tasks. The conv net (``Conv4``) batches its tasks the same way, as one
grouped convolution with a group per task.

Batch norm (the MAML paper's networks for Omniglot) is used as the authors' code uses it: always
with the statistics of the examples at hand, per task (the support set while adapting, the query set
when scoring), never running averages; its scale and shift are parameters like the others, adapted
in the inner loop. A linear or conv layer before batch norm has no bias (the norm's shift replaces
it: a bias there is cancelled exactly by the mean subtraction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["Model", "MLP", "LinearModel", "Conv4", "MODELS", "build_model", "Params", "flatten", "unflatten",
           "BN_EPS"]

Params = dict[str, Tensor]


class Model(Protocol):
    kind: str

    def init(self, generator: torch.Generator, dtype: torch.dtype = torch.float32) -> Params: ...

    def forward(self, params: Params, x: Tensor) -> Tensor: ...

    def spec(self) -> dict[str, Any]: ...


BN_EPS = 1e-5


def _per_task_norm(h: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """Batch norm of ``h [..., N, F]`` over its example axis, per task: (h − mean)/√(var + ε)·scale + shift.

    ``scale``/``shift`` are ``[F]`` (shared) or ``[T, F]`` (per task, ``h [T, N, F]``)."""
    mean = h.mean(dim=-2, keepdim=True)
    var = (h - mean).pow(2).mean(dim=-2, keepdim=True)
    if scale.dim() == 2:
        scale, shift = scale.unsqueeze(-2), shift.unsqueeze(-2)
    return (h - mean) * torch.rsqrt(var + BN_EPS) * scale + shift


_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
}


@dataclass(frozen=True)
class MLP:
    """Fully connected network; ``sizes=(1, 40, 40, 1)`` is Finn et al.'s sinusoid regressor.

    ``batch_norm=True``: each hidden layer is ``w{i}`` (no bias), per-task batch norm with scale ``s{i}``
    and shift ``b{i}``, then the activation: Finn et al.'s Omniglot network without convolutions is
    ``sizes=(784, 256, 128, 64, 64, N)`` with batch norm."""

    sizes: tuple[int, ...] = (1, 40, 40, 1)
    activation: str = "relu"
    batch_norm: bool = False
    kind: str = "mlp"

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or any(s < 1 for s in self.sizes):
            raise ValueError(f"MLP sizes must be >= 2 positive ints, got {self.sizes}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from {sorted(_ACTIVATIONS)}")

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def init(self, generator: torch.Generator, dtype: torch.dtype = torch.float32) -> Params:
        """``nn.Linear``'s default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases."""
        params: Params = {}
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            bound = 1.0 / math.sqrt(fan_in)
            params[f"w{i}"] = (torch.rand(fan_in, fan_out, generator=generator, dtype=dtype) * 2 - 1) * bound
            params[f"b{i}"] = (torch.rand(fan_out, generator=generator, dtype=dtype) * 2 - 1) * bound
            if self.batch_norm and i < self.n_layers - 1:
                params[f"b{i}"] = torch.zeros(fan_out, dtype=dtype)
                params[f"s{i}"] = torch.ones(fan_out, dtype=dtype)
        return params

    def head_names(self) -> tuple[str, str]:
        """The last layer's parameters: the classifier head (ANIL adapts only these)."""
        return f"w{self.n_layers - 1}", f"b{self.n_layers - 1}"

    def forward(self, params: Params, x: Tensor) -> Tensor:
        if self.batch_norm:
            return self._forward_bn(params, x)
        act = _ACTIVATIONS[self.activation]
        h = x
        # addmm/baddbmm fuse the bias add into the matmul: one autograd node per layer, which
        # matters when the graph is differentiated twice.
        mm = torch.baddbmm if x.dim() == 3 else torch.addmm
        for i in range(self.n_layers):
            w, b = params[f"w{i}"], params[f"b{i}"]
            if x.dim() == 3 and w.dim() == 2:  # one parameter set for every task: one matmul over all rows
                h = torch.addmm(b, h.reshape(-1, h.shape[-1]), w).view(*h.shape[:-1], w.shape[-1])
            else:
                h = mm(b.unsqueeze(-2) if x.dim() == 3 else b, h, w)
            if i < self.n_layers - 1:
                h = act(h)
        return h

    def _forward_bn(self, params: Params, x: Tensor) -> Tensor:
        act = _ACTIVATIONS[self.activation]
        h = x
        for i in range(self.n_layers):
            h = torch.matmul(h, params[f"w{i}"])
            if i < self.n_layers - 1:
                h = act(_per_task_norm(h, params[f"s{i}"], params[f"b{i}"]))
        b = params[f"b{self.n_layers - 1}"]
        return h + (b.unsqueeze(-2) if b.dim() == 2 else b)

    def spec(self) -> dict[str, Any]:
        spec = {"kind": self.kind, "sizes": list(self.sizes), "activation": self.activation}
        if self.batch_norm:
            spec["batch_norm"] = True
        return spec


@dataclass(frozen=True)
class LinearModel:
    """The source document's model f(x) = θ₀ + θ₁·x: exactly two scalar parameters."""

    kind: str = "linear"

    def init(self, generator: torch.Generator, dtype: torch.dtype = torch.float32) -> Params:
        # A fixed start at the origin: with two parameters every picture is drawn in the
        # (θ₀, θ₁) plane, and the origin is where a lecture expects to start.
        return {"theta0": torch.zeros(1, dtype=dtype), "theta1": torch.zeros(1, dtype=dtype)}

    def forward(self, params: Params, x: Tensor) -> Tensor:
        return params["theta0"].unsqueeze(-2) + params["theta1"].unsqueeze(-2) * x

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind}


@dataclass(frozen=True)
class Conv4:
    """The MAML paper's few-shot conv net: four blocks of 3×3 conv (``width`` filters, padding 1), per-task
    batch norm, ReLU and 2×2 max-pool, then a linear head; Finn et al. 2017 after Vinyals et al. 2016.

    Input rows are flattened ``side × side`` images (``x [T, N, side²]`` or ``[N, side²]``); 28 → 14 → 7 → 3
    → 1, so the head sees ``width`` features. Parameters: ``w0…w3`` (conv kernels, no bias), ``s0…s3`` and
    ``b0…b3`` (batch norm's scale and shift), ``w4 [width, out]`` and ``b4`` (the head). Tasks are batched as
    one grouped convolution (a group per task), so a meta-batch is four convolutions, not a loop.

    Finn et al. used strided convolutions instead of max-pooling on Omniglot (max-pooling on
    MiniImagenet); this net pools, as Vinyals et al.'s and most reimplementations do."""

    out: int = 5
    side: int = 28
    width: int = 64
    blocks: int = 4
    kind: str = "conv4"

    def __post_init__(self) -> None:
        if self.out < 1 or self.side < 2 ** self.blocks or self.width < 1 or self.blocks < 1:
            raise ValueError(f"Conv4 needs out >= 1, width >= 1 and images of side >= {2 ** self.blocks}; "
                             f"got out={self.out}, side={self.side}, width={self.width}")

    @property
    def features(self) -> int:
        side = self.side
        for _ in range(self.blocks):
            side //= 2
        return self.width * side * side

    def init(self, generator: torch.Generator, dtype: torch.dtype = torch.float32) -> Params:
        """Glorot-uniform kernels and head (the authors' initialiser), zero shifts, unit scales."""
        params: Params = {}
        channels = 1
        for i in range(self.blocks):
            bound = math.sqrt(6.0 / ((channels + self.width) * 9))
            params[f"w{i}"] = (torch.rand(self.width, channels, 3, 3, generator=generator, dtype=dtype) * 2 - 1) * bound
            params[f"s{i}"] = torch.ones(self.width, dtype=dtype)
            params[f"b{i}"] = torch.zeros(self.width, dtype=dtype)
            channels = self.width
        bound = math.sqrt(6.0 / (self.features + self.out))
        params[f"w{self.blocks}"] = (torch.rand(self.features, self.out, generator=generator, dtype=dtype) * 2 - 1) * bound
        params[f"b{self.blocks}"] = torch.zeros(self.out, dtype=dtype)
        return params

    def head_names(self) -> tuple[str, str]:
        return f"w{self.blocks}", f"b{self.blocks}"

    def _dims(self, name: str) -> int:
        """Dimensions of one task's parameter ``name``: kernels 4, the head's weight 2, vectors 1."""
        if name[0] != "w":
            return 1
        return 2 if name == f"w{self.blocks}" else 4

    def forward(self, params: Params, x: Tensor) -> Tensor:
        single = x.dim() == 2
        if single:
            x = x.unsqueeze(0)
        t, n = x.shape[0], x.shape[1]
        # A parameter without the task axis is shared by every task (ANIL's body, θ₀ before adapting):
        # expanded as a view, so the grouped path and the per-task statistics stay the same.
        params = {k: v if v.dim() > self._dims(k) else v.unsqueeze(0).expand(t, *v.shape) for k, v in params.items()}
        # [N, T·C, H, W]: each task's channels are one group of the convolution and of batch norm.
        h = x.reshape(t, n, 1, self.side, self.side).transpose(0, 1).reshape(n, t, self.side, self.side)
        for i in range(self.blocks):
            w = params[f"w{i}"]
            h = F.conv2d(h, w.reshape(-1, *w.shape[2:]), padding=1, groups=t)
            h = F.batch_norm(h, None, None, params[f"s{i}"].reshape(-1), params[f"b{i}"].reshape(-1),
                             training=True, eps=BN_EPS)
            h = F.max_pool2d(torch.relu(h), 2)
        h = h.reshape(n, t, -1).transpose(0, 1)  # [T, N, features]
        w, b = params[f"w{self.blocks}"], params[f"b{self.blocks}"]
        out = torch.baddbmm(b.unsqueeze(-2), h, w)
        return out[0] if single else out

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "out": self.out, "side": self.side, "width": self.width, "blocks": self.blocks}


MODELS: dict[str, Callable[..., Model]] = {"mlp": MLP, "linear": LinearModel, "conv4": Conv4}


def build_model(spec: dict[str, Any]) -> Model:
    """Rebuild a model from ``model.spec()`` (as stored in a checkpoint)."""
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODELS)}")
    if "sizes" in spec:
        spec["sizes"] = tuple(spec["sizes"])
    return MODELS[kind](**spec)


def flatten(params: Params) -> Tensor:
    """All parameters as one vector ``[P]``, in the dict's order."""
    return torch.cat([v.reshape(-1) for v in params.values()])


def unflatten(flat: Tensor, like: Params) -> Params:
    """Split ``flat [..., P]`` into tensors shaped like ``like`` (keeping leading axes)."""
    out, offset = {}, 0
    lead = flat.shape[:-1]
    for name, v in like.items():
        n = v.numel()
        out[name] = flat[..., offset:offset + n].reshape(*lead, *v.shape)
        offset += n
    return out
