from __future__ import annotations

import os
import pickle

import pytest
import torch

from leo_core.checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint, save_run
from leo_core.history import MetricHistory
from leo_core.train import Trainer

from helpers import tiny_config


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    trainer = Trainer(tiny_config(iterations=6))
    history = MetricHistory()
    history.extend(trainer)
    save_run(out, trainer.state_dict(), history)
    return out, trainer, history


def test_round_trip(run):
    out, trainer, history = run
    assert sorted(os.listdir(out)) == ["checkpoint.pt", "config.json", "metrics.csv"]
    ckpt = load_checkpoint(out)
    assert ckpt.config == trainer.cfg
    assert ckpt.iteration == 6
    for k, v in trainer.initialization().items():
        assert torch.equal(ckpt.meta_params[k], v)
    assert ckpt.metrics.columns() == history.columns()
    assert ckpt.model == trainer.model


def test_bytes_round_trip(run):
    _, trainer, history = run
    ckpt = load_checkpoint(checkpoint_bytes(trainer.state_dict(), history))
    assert ckpt.config == trainer.cfg


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/leo-explorer-pwned",))


@pytest.mark.parametrize("data, message", [
    (b"", "not a readable"),
    (b"random bytes \x00\x01\x02", "not a readable"),
    (pickle.dumps(Evil()), "not a readable"),
    (pickle.dumps({"format": "something else"}), "not a readable"),
], ids=["empty", "random-bytes", "code-running-pickle", "foreign-pickle"])
def test_bad_bytes_are_refused(data, message):
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(data)
    assert not os.path.exists("/tmp/leo-explorer-pwned")


def test_truncated_file_is_refused(run, tmp_path):
    out, _, _ = run
    data = (out / "checkpoint.pt").read_bytes()
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(bad)


def test_other_torch_file_is_refused(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match="not a LEO Explorer checkpoint"):
        load_checkpoint(tmp_path / "x.pt")


def test_missing_and_wrong_family(run, tmp_path):
    out, _, _ = run
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="trained on family 'sinusoid', not 'linear'"):
        load_checkpoint(out, expected_family="linear")


def test_wrong_model_is_refused_on_resume(run):
    out, _, _ = run
    ckpt = load_checkpoint(out)
    other = Trainer(tiny_config(hidden=(5,)))
    with pytest.raises(ValueError, match="does not match"):
        other.load_state_dict(ckpt.state)


def test_write_is_atomic(run, tmp_path, monkeypatch):
    """A failure while writing leaves the previous checkpoint intact and no temp files."""
    out, trainer, history = run
    target = tmp_path / "r"
    save_run(target, trainer.state_dict(), history)
    before = (target / "checkpoint.pt").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        save_run(target, trainer.state_dict(), history)
    assert (target / "checkpoint.pt").read_bytes() == before
    assert sorted(os.listdir(target)) == ["checkpoint.pt", "config.json", "metrics.csv"]


def test_a_resumed_history_keeps_its_resolution():
    """A long run's history is thinned (every 4th record kept past 2,000 of them); resumed from a checkpoint it
    keeps thinning the same way, so the curve does not turn dense and noisy where the checkpoint ends."""
    from leo_core.history import MetricHistory, MetricRecord

    def record(i: int) -> MetricRecord:
        return MetricRecord(i, 1.0, 1.0, 1.0, 1.0, 100.0, i / 100)

    history = MetricHistory(1000)
    for i in range(1, 3001):
        history.append(record(i))
    assert history.stride == 4
    resumed = MetricHistory.from_columns(history.columns(), capacity=1000)
    assert resumed.stride == 4 and resumed.columns() == history.columns()
    for i in range(3001, 3101):
        resumed.append(record(i))
    kept = resumed.columns()["iteration"]
    after = [i for i in kept if i > 3000]
    assert after == list(range(3004, 3101, 4))  # every 4th, as before the checkpoint
