"""One meta-iteration's gradient as a captured CUDA graph (``TrainConfig.cuda_graph``).

On a GPU the core is launch-bound: a second-order meta-iteration of the small MLP is hundreds of
tiny kernels, and the GPU waits on the CPU between them. ``CapturedMetaStep`` records the
algorithm's ``meta_step`` once (forward, the k differentiable inner steps, the meta-gradient, the
flattened gradient and the scalars the trainer logs) into a ``torch.cuda.CUDAGraph`` and then
replays it: the meta-batch is sampled eagerly into fixed input tensors, one replay launches every
kernel, and the fused outer optimizer steps the flat θ₀ in place (the graph reads θ₀'s memory, so
it sees each update). Sampling and the optimizer stay eager: sampling draws from the trainer's own
generator, so captured and eager runs see the same meta-batches and give the same meta-gradients
(tests/test_cuda_graph.py, marked ``cuda``).

When capture fails (an algorithm that synchronises with the host inside ``meta_step``, say) the
trainer falls back to the eager path and says why in ``fallback_reason``. Unmeasured on this
project's machines so far: bench/gpu_check.sh measures it where a CUDA GPU is available.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from .tasks import TaskBatch

__all__ = ["CapturedMetaStep", "check_cuda_graph"]

_WARMUP = 3  # eager iterations on a side stream before capture (cuBLAS handles, autograd's buffers)

# meta_step(batch) -> (flat gradient, stacked scalars): the part of Trainer.step that is captured.
Compute = Callable[[TaskBatch], tuple[Tensor, Tensor]]


def check_cuda_graph(enabled: bool, device: torch.device) -> None:
    """A clear error when a CUDA graph is asked for on a device that has none."""
    if enabled and device.type != "cuda":
        raise ValueError(f"cuda_graph (--cuda-graph) needs a CUDA device; this run is on {device.type}. "
                         "Leave it off: the eager path is the one used on CPU")


class CapturedMetaStep:
    """Captures ``compute`` on a batch shaped like ``example`` and replays it for new batches."""

    def __init__(self, compute: Compute, example: TaskBatch):
        self.static = TaskBatch(*(t.clone() for t in (example.x_support, example.y_support, example.x_query,
                                                      example.y_query)), dict(example.task_params))
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(_WARMUP):
                compute(self.static)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.grad, self.values = compute(self.static)

    def matches(self, batch: TaskBatch) -> bool:
        pairs = zip((batch.x_support, batch.y_support, batch.x_query, batch.y_query),
                    (self.static.x_support, self.static.y_support, self.static.x_query, self.static.y_query))
        return all(a.shape == b.shape and a.dtype == b.dtype for a, b in pairs)

    def __call__(self, batch: TaskBatch) -> tuple[Tensor, Tensor]:
        """The flat meta-gradient and the scalars for ``batch`` (graph-owned: read before the next call)."""
        self.static.x_support.copy_(batch.x_support)
        self.static.y_support.copy_(batch.y_support)
        self.static.x_query.copy_(batch.x_query)
        self.static.y_query.copy_(batch.y_query)
        self.graph.replay()
        return self.grad, self.values
