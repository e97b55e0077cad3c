"""Functional models: ``forward(params, x)`` with params a ``dict[str, Tensor]``.

Every forward accepts either one parameter set (``W: [in, out]``, ``x: [N, in]``) or a stack of
per-task parameter sets with a leading task axis (``W: [T, in, out]``, ``x: [T, N, in]``); the same
code runs both through ``torch.matmul``'s batching, so a meta-batch is one batched matmul rather
than a Python loop over tasks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import torch
from torch import Tensor

__all__ = ["Model", "MLP", "LinearModel", "MODELS", "build_model", "Params", "flatten", "unflatten"]

Params = dict[str, Tensor]


class Model(Protocol):
    kind: str

    def init(self, generator: torch.Generator, dtype: torch.dtype = torch.float32) -> Params: ...

    def forward(self, params: Params, x: Tensor) -> Tensor: ...

    def spec(self) -> dict[str, Any]: ...


_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
}


@dataclass(frozen=True)
class MLP:
    """Fully connected network; ``sizes=(1, 40, 40, 1)`` is Finn et al.'s sinusoid regressor."""

    sizes: tuple[int, ...] = (1, 40, 40, 1)
    activation: str = "relu"
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
        return params

    def forward(self, params: Params, x: Tensor) -> Tensor:
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

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "sizes": list(self.sizes), "activation": self.activation}


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


MODELS: dict[str, Callable[..., Model]] = {"mlp": MLP, "linear": LinearModel}


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
