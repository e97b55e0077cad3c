"""The background training runner: completion, pause/resume, stop, divergence, isolation."""

from __future__ import annotations

import math
import time

import pytest
import torch

from helpers import WAIT_S, tiny_config, wait_until
from leo_app.jobs import JobSlots
from leo_core.checkpoint import load_checkpoint
from leo_core.views.preview import preview_curves, preview_tasks
from leo_app.runner import RunStatus, TrainingRunner
from leo_core.train import Trainer


@pytest.fixture
def runner():
    r = TrainingRunner()
    yield r
    r.close()
    assert r.join(WAIT_S)


def test_runs_to_completion_and_matches_the_plain_trainer(runner):
    cfg = tiny_config(iterations=25, seed=3)
    runner.start(cfg)
    assert runner.join(WAIT_S)
    snap = runner.snapshot()
    assert snap.status == RunStatus.FINISHED and snap.error is None
    assert snap.iteration == 25 and snap.progress == 1.0
    assert snap.columns["iteration"] == list(range(1, 26))
    # Same seed, same device: the thread computes exactly what the plain trainer does.
    reference = Trainer(cfg)
    records = list(reference)
    assert snap.latest.post_loss == records[-1].post_loss
    for name, value in reference.initialization().items():
        torch.testing.assert_close(snap.theta0[name], value, rtol=0, atol=0)


def test_pause_resume():
    slots = JobSlots(1)  # its own slot: the thread gives it back once it has seen the pause
    runner = TrainingRunner(slots=slots)
    try:
        _pause_resume(runner, slots)
    finally:
        runner.close()
    assert runner.join(WAIT_S)


def _pause_resume(runner: TrainingRunner, slots: JobSlots) -> None:
    runner.start(tiny_config(iterations=100_000))
    wait_until(lambda: runner.snapshot().iteration > 3, what="3 iterations")
    runner.pause()
    assert runner.status == RunStatus.PAUSED
    wait_until(lambda: slots.busy == 0, what="the paused thread to give its slot back")  # the step in flight is done
    frozen = runner.snapshot().iteration
    time.sleep(0.3)  # not a wait: nothing may happen meanwhile
    assert runner.snapshot().iteration == frozen
    assert runner.is_alive
    runner.resume()
    assert runner.status == RunStatus.RUNNING
    wait_until(lambda: runner.snapshot().iteration > frozen + 3)


def test_stop_keeps_theta_and_ends_the_thread(runner):
    runner.start(tiny_config(iterations=100_000))
    wait_until(lambda: runner.snapshot().iteration > 3)
    runner.stop()
    assert runner.join(WAIT_S)  # stop() itself waits a bounded time; the thread ends
    snap = runner.snapshot()
    assert snap.status == RunStatus.STOPPED and 3 < snap.iteration < 100_000
    assert snap.theta0 is not None
    # Stopping while paused works too, and a stopped run can continue with its own settings.
    runner.extend(5)
    assert runner.join(WAIT_S)
    after = runner.snapshot()
    assert after.status == RunStatus.FINISHED and after.iteration == snap.iteration + 5
    assert after.config.alpha == snap.config.alpha


def test_stop_while_paused(runner):
    runner.start(tiny_config(iterations=100_000))
    wait_until(lambda: runner.snapshot().iteration > 1)
    runner.pause()
    runner.stop()
    assert runner.join(WAIT_S)
    assert runner.status == RunStatus.STOPPED


def test_divergence_reports_and_keeps_finite_theta(runner):
    runner.start(tiny_config(alpha=1e4, k=3, iterations=1000))
    assert runner.join(WAIT_S)
    snap = runner.snapshot()
    assert snap.status == RunStatus.DIVERGED
    assert "diverged" in snap.error and "α" in snap.error
    assert snap.theta0 is not None
    assert all(torch.isfinite(v).all() for v in snap.theta0.values())
    with pytest.raises(ValueError, match="diverged"):
        runner.extend(10)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_bad_config_raises_in_the_caller(runner):
    with pytest.raises(ValueError, match="cuda"):
        runner.start(tiny_config(device="cuda"))
    assert runner.status == RunStatus.IDLE and not runner.is_alive


def test_two_runners_do_not_share_state():
    a, b = TrainingRunner(), TrainingRunner()
    try:
        a.start(tiny_config(iterations=100_000, seed=1))
        b.start(tiny_config(iterations=10, seed=2, alpha=0.02))
        assert b.join(WAIT_S)
        b_snap = b.snapshot()
        assert b_snap.status == RunStatus.FINISHED and b_snap.iteration == 10
        a_snap = a.snapshot()
        assert a_snap.status == RunStatus.RUNNING and a_snap.config.seed == 1
        assert a_snap.columns is not b_snap.columns
        assert not any(torch.equal(a_snap.theta0[n], b_snap.theta0[n]) for n in a_snap.theta0)
        b.reset()
        assert a.snapshot().status == RunStatus.RUNNING and b.snapshot().status == RunStatus.IDLE
    finally:
        a.close()
        b.close()
    assert a.join(WAIT_S) and b.join(WAIT_S)


def test_snapshot_is_immutable_copy(runner):
    runner.start(tiny_config(iterations=100_000))
    wait_until(lambda: runner.snapshot().iteration > 2)
    snap = runner.snapshot()
    n = len(snap.columns["iteration"])
    wait_until(lambda: runner.snapshot().iteration > snap.iteration + 5)
    assert len(snap.columns["iteration"]) == n  # the old snapshot did not grow


def test_checkpoint_round_trip_and_load(runner):
    runner.start(tiny_config(iterations=12))
    assert runner.join(WAIT_S)
    data = runner.checkpoint_bytes()
    ckpt = load_checkpoint(data)
    assert ckpt.iteration == 12 and len(ckpt.metrics) == 12
    assert runner.metrics_csv().splitlines()[0].startswith("iteration,")
    other = TrainingRunner()
    try:
        other.load(ckpt.config, ckpt.state, ckpt.metrics)
        snap = other.snapshot()
        assert snap.status == RunStatus.LOADED and snap.iteration == 12
        other.extend(3)
        assert other.join(WAIT_S)
        assert other.snapshot().iteration == 15
    finally:
        other.close()


def test_close_stops_for_good():
    r = TrainingRunner()
    r.start(tiny_config(iterations=100_000))
    r.close()
    assert r.join(WAIT_S)
    with pytest.raises(RuntimeError):
        r.start(tiny_config())


def test_preview_curves_show_adaptation(runner):
    cfg = tiny_config(iterations=5, k=2, alpha=0.05)
    runner.start(cfg)
    assert runner.join(WAIT_S)
    snap = runner.snapshot()
    tasks = preview_tasks(snap.family, cfg.shots)
    again = preview_tasks(snap.family, cfg.shots)
    assert torch.equal(tasks.x_support, again.x_support)  # fixed tasks, run after run
    curves = preview_curves(snap, tasks, steps=cfg.k)
    assert len(curves.x) == 3 and len(curves.x[0]) == 120
    assert curves.before != curves.after
    assert all(math.isfinite(v) for row in curves.after for v in row)
