"""The captured-CUDA-graph meta-iteration: refused clearly off CUDA, eager fallback when capture
fails, the trainer's wiring (CPU stand-in), and on a GPU: captured equals eager."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from helpers import tiny_config
from leo_core import cli, train
from leo_core.config import TrainConfig
from leo_core.train import Trainer

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")


def _run(trainer: Trainer, n: int) -> list:
    return [trainer.step() for _ in range(n)]


def test_cuda_graph_is_refused_on_cpu_with_a_clear_message():
    with pytest.raises(ValueError, match="needs a CUDA device; this run is on cpu"):
        Trainer(tiny_config(cuda_graph=True))
    with pytest.raises(ValueError, match="cuda_graph must be true or false"):
        tiny_config(cuda_graph="yes")
    assert TrainConfig.from_dict(tiny_config(cuda_graph=True).to_dict()).cuda_graph is True


def test_cli_refuses_cuda_graph_on_cpu(tmp_path, capsys):
    rc = cli.main(["train", "--device", "cpu", "--cuda-graph", "--iterations", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--cuda-graph" in err


class _Replay:
    """A CPU stand-in for CapturedMetaStep with its contract: compute once on fixed inputs, then
    refill those inputs in place and return the same output objects every call."""

    def __init__(self, compute, example):
        self.compute = compute
        self.static = replace(example, x_support=example.x_support.clone(), y_support=example.y_support.clone(),
                              x_query=example.x_query.clone(), y_query=example.y_query.clone())
        self.grad, self.values = compute(self.static)

    def matches(self, batch):
        return batch.x_support.shape == self.static.x_support.shape

    def __call__(self, batch):
        for name in ("x_support", "y_support", "x_query", "y_query"):
            getattr(self.static, name).copy_(getattr(batch, name))
        grad, values = self.compute(self.static)  # "replay": results written into the captured outputs
        self.grad.copy_(grad)
        self.values.copy_(values)
        return self.grad, self.values


@pytest.mark.parametrize("family", ["sinusoid", "points2d"])
def test_replayed_step_equals_eager_training(monkeypatch, family):
    cfg = tiny_config(family=family, ways=3, k=2)
    eager = _run(Trainer(cfg), 5)
    monkeypatch.setattr(train, "check_cuda_graph", lambda enabled, device: None)
    monkeypatch.setattr(train, "CapturedMetaStep", _Replay)
    captured = Trainer(replace(cfg, cuda_graph=True))
    got = _run(captured, 5)
    assert captured._captured is not None and captured.fallback_reason is None
    assert [(r.meta_loss, r.post_loss, r.grad_norm) for r in got] == [(r.meta_loss, r.post_loss, r.grad_norm) for r in eager]


def test_failed_capture_falls_back_to_eager(monkeypatch):
    cfg = tiny_config()
    eager = _run(Trainer(cfg), 3)

    def broken(compute, example):
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(train, "check_cuda_graph", lambda enabled, device: None)
    monkeypatch.setattr(train, "CapturedMetaStep", broken)
    trainer = Trainer(replace(cfg, cuda_graph=True))
    got = _run(trainer, 3)
    assert "capture failed" in trainer.fallback_reason and "stream is capturing" in trainer.fallback_reason
    assert [r.meta_loss for r in got] == [r.meta_loss for r in eager]


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_captured_meta_gradients_equal_eager_on_cuda(k, dtype):
    cfg = TrainConfig(device="cuda", k=k, dtype=dtype, meta_batch=25, iterations=100)
    eager, captured = Trainer(cfg), Trainer(replace(cfg, cuda_graph=True))
    tol = 1e-12 if dtype == "float64" else 1e-5
    for _ in range(10):
        a, b = eager.step(), captured.step()
        assert b.meta_loss == pytest.approx(a.meta_loss, rel=tol, abs=tol)
        assert b.grad_norm == pytest.approx(a.grad_norm, rel=tol, abs=tol)
    assert captured._captured is not None and captured.fallback_reason is None
    assert torch.allclose(captured._flat, eager._flat, rtol=0, atol=100 * tol)
    # The graph's gradient for one batch equals the eager meta-gradient on that batch.
    batch = eager.family.sample(25, cfg.shots, cfg.query, torch.Generator("cuda").manual_seed(7), "cuda",
                                eager.dtype)
    g_eager, _ = captured._compute(batch)
    g_graph, _ = captured._captured(batch)
    assert torch.allclose(g_graph, g_eager, rtol=0, atol=tol)
