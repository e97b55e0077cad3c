"""Device selection, and the CUDA path (these run only where a CUDA GPU is present)."""

from __future__ import annotations

import pytest
import torch

from leo_core.algorithms import get_algorithm
from leo_core.checkpoint import checkpoint_bytes, load_checkpoint
from leo_core.config import EvalConfig, TrainConfig
from leo_core.device import keep_freed_cpu_memory, resolve_device
from leo_core.evaluate import evaluate
from leo_core.history import MetricHistory
from leo_core.tasks import get_family
from leo_core.train import Trainer

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")


def test_auto_and_explicit_cpu():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert resolve_device("auto").type == expected


def test_missing_backend_and_unknown_name_are_clear_errors():
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")


@cuda
@pytest.mark.cuda
def test_cuda_training_keeps_everything_on_the_gpu():
    trainer = Trainer(TrainConfig(iterations=20, device="cuda"))
    records = list(trainer)
    assert records[-1].iteration == 20
    assert all(v.is_cuda for v in trainer.meta_params.values())
    ckpt = load_checkpoint(checkpoint_bytes(trainer.state_dict(), MetricHistory()))
    assert all(v.device.type == "cpu" for v in ckpt.meta_params.values())


@cuda
@pytest.mark.cuda
def test_cuda_meta_gradient_equals_cpu():
    cfg = TrainConfig(k=2, dtype="float64", device="cpu")
    family, algo = get_family("sinusoid"), get_algorithm("leo")
    cpu = Trainer(cfg)
    batch = family.sample(8, 10, 10, torch.Generator().manual_seed(0), dtype=torch.float64)
    g_cpu = algo.meta_step(cpu.model, family, cpu.meta_params, batch, cfg).grads
    gpu_params = {k: v.detach().cuda().requires_grad_() for k, v in cpu.meta_params.items()}
    g_gpu = algo.meta_step(cpu.model, family, gpu_params, batch.to("cuda"), cfg).grads
    for k in g_cpu:
        assert torch.allclose(g_cpu[k], g_gpu[k].cpu(), atol=1e-10), k


@cuda
@pytest.mark.cuda
def test_no_host_synchronisation_inside_a_meta_iteration():
    """Sampling, the meta-gradient and the outer step never wait on the GPU (the trainer reads
    its metrics back once per iteration, after this)."""
    trainer = Trainer(TrainConfig(iterations=5, device="cuda", k=2))
    trainer.step()  # warm-up: lazy CUDA initialisation may synchronise
    cfg = trainer.cfg
    torch.cuda.set_sync_debug_mode("error")
    try:
        batch = trainer.family.sample(cfg.meta_batch, cfg.shots, cfg.query, trainer.generator, trainer.device)
        result = trainer.algorithm.meta_step(trainer.model, trainer.family, trainer.meta_params, batch, cfg)
        trainer._flat.grad = torch.cat([result.grads[n].reshape(-1) for n in trainer._shapes])
        trainer.optimizer.step()
    finally:
        torch.cuda.set_sync_debug_mode("default")


@cuda
@pytest.mark.cuda
def test_cuda_evaluation_matches_cpu_statistically():
    trainer = Trainer(TrainConfig(iterations=0, device="cpu"))
    theta = trainer.meta_params
    args = (trainer.model, trainer.family, trainer.algorithm)
    ev = EvalConfig(tasks=200, steps=3)
    cpu = evaluate(*args, {k: v.detach() for k, v in theta.items()}, 0.01, ev, "cpu")
    gpu = evaluate(*args, {k: v.detach() for k, v in theta.items()}, 0.01, ev, "cuda")
    # Different devices draw different tasks from the same seed: compare within intervals.
    for a, ca, b, cb in zip(cpu.loss_by_step, cpu.ci95_by_step, gpu.loss_by_step, gpu.ci95_by_step):
        assert abs(a - b) < 2 * (ca + cb)


def test_freed_cpu_memory_is_kept_on_glibc():
    """glibc accepts both mallopt settings (it returns 0 for a value out of its range), once per process.
    What they buy is a benchmark figure (README, bench/throughput.py), not a test: page-fault counts
    vary too much between runs to assert on."""
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert keep_freed_cpu_memory() and keep_freed_cpu_memory()
