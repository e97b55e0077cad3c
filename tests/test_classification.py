"""Few-shot classification families (leo_core/classification.py): splits, labels, shapes, adaptation."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from leo_core.tasks import classification
from leo_core.algorithms import get_algorithm
from leo_core.checkpoint import load_checkpoint, save_run
from leo_core.settings import checked
from leo_core.tasks.classification import DIGIT_ROTATIONS, digit_class
from leo_core.config import EvalConfig, TrainConfig
from leo_core.evaluate import evaluate
from leo_core.history import MetricHistory
from leo_core.losses import accuracy
from leo_core.models import MLP
from leo_core.tasks import TASK_FAMILIES, get_family
from leo_core.train import Trainer, make_family, make_model

from helpers import gen, tiny_config

ROOT = Path(__file__).resolve().parents[1]
CLASSIFICATION = [n for n, f in TASK_FAMILIES.items() if f.is_classification]


def test_both_families_are_registered():
    assert {"points2d", "digits"} <= set(CLASSIFICATION)
    for name in CLASSIFICATION:
        fam = get_family(name)
        assert fam.loss == "cross_entropy" and fam.is_classification


def test_digits_split_is_disjoint_and_covers_all_classes():
    fam = get_family("digits")
    train, test = set(fam.split_classes("train")), set(fam.split_classes("test"))
    assert not train & test
    assert train | test == set(range(10 * len(DIGIT_ROTATIONS)))
    assert (len(train), len(test)) == (28, 12)
    # By digit: every rotation of a held-out digit is held out.
    assert {digit_class(c)[0] for c in test} == set(fam.test_digits)
    assert not {digit_class(c)[0] for c in train} & set(fam.test_digits)


def test_sampled_classes_come_from_their_split():
    fam = get_family("digits")
    for split in ("train", "test"):
        batch = fam.sample(40, 1, 1, gen(3), split=split)
        assert set(batch.task_params["classes"].unique().tolist()) <= set(fam.split_classes(split))


@pytest.mark.parametrize("name", CLASSIFICATION)
@pytest.mark.parametrize("ways, shots, query", [(5, 1, 3), (3, 4, 2)])
def test_task_shapes_and_labels(name, ways, shots, query):
    fam = get_family(name).configure(tiny_config(ways=ways))
    batch = fam.sample(6, shots, query, gen(0))
    d = fam.input_dim
    assert batch.x_support.shape == (6, ways * shots, d) and batch.x_query.shape == (6, ways * query, d)
    assert batch.y_support.shape == (6, ways * shots) and batch.y_query.shape == (6, ways * query)
    assert batch.y_support.dtype == torch.int64 and batch.y_query.dtype == torch.int64
    for labels, per_class in ((batch.y_support, shots), (batch.y_query, query)):
        counts = torch.stack([torch.bincount(row, minlength=ways) for row in labels])
        assert (counts == per_class).all()  # exactly K (or Q) examples of each class in each task


def test_digits_examples_are_the_classes_images_and_distinct():
    fam = get_family("digits")
    data, counts = classification.digits_data(torch.device("cpu"), torch.float32)
    batch = fam.sample(4, 3, 2, gen(5))
    x = torch.cat([batch.x_support.reshape(4, 5, 3, 64), batch.x_query.reshape(4, 5, 2, 64)], dim=2)
    for t in range(4):
        for label in range(5):
            cls = batch.task_params["classes"][t, label]
            rows = data[cls, : counts[cls]]
            for example in x[t, label]:  # each example is an image of the class its label stands for
                assert (rows == example).all(dim=-1).any()
            assert torch.unique(x[t, label], dim=0).shape[0] == 5  # drawn without replacement


def test_labels_are_permuted_per_task():
    batch = get_family("digits").sample(200, 1, 1, gen(1))
    classes = batch.task_params["classes"]  # classes[t, label]
    # The same class shows up under different labels in different tasks.
    labels_of = {}
    for t in range(classes.shape[0]):
        for label, cls in enumerate(classes[t].tolist()):
            labels_of.setdefault(cls, set()).add(label)
    assert all(len(v) >= 4 for v in labels_of.values())
    # points2d: label 0's blob centre is not always in the same place.
    centres = get_family("points2d").sample(50, 1, 1, gen(1)).task_params["centres"][:, 0]
    assert centres.std(dim=0).min() > 1.0


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_sampling_is_deterministic_for_a_seed(name):
    fam = get_family(name)
    a, b, c = (fam.sample(5, 2, 3, gen(s), split="test") for s in (9, 9, 10))
    assert torch.equal(a.x_support, b.x_support) and torch.equal(a.x_query, b.x_query)
    assert not torch.equal(a.x_support, c.x_support)


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_adaptation_raises_support_accuracy(name):
    fam = get_family(name)
    cfg = tiny_config(family=name, hidden=(32, 32))
    model = make_model(fam, cfg)
    theta = model.init(gen(0))
    batch = fam.sample(20, 5, 5, gen(2))
    path = list(get_algorithm("leo").adapt_path(model, fam, theta, batch.x_support, batch.y_support, 0.4, 10))
    before = accuracy(model.forward(path[0], batch.x_support), batch.y_support).mean()
    after = accuracy(model.forward(path[-1], batch.x_support), batch.y_support).mean()
    assert after > before + 0.3


def test_digits_load_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    classification._digits_cpu.cache_clear()
    classification.digits_data.cache_clear()
    data, counts = classification._digits_cpu()
    assert data.shape[0] == 40 and data.shape[2] == 64 and int(counts.sum()) == 4 * 1797
    assert 0.0 <= data.min() and data.max() <= 1.0


def test_digits_data_is_cached_per_device_and_dtype():
    a = classification.digits_data(torch.device("cpu"), torch.float32)
    assert classification.digits_data(torch.device("cpu"), torch.float32)[0] is a[0]
    assert classification.digits_data(torch.device("cpu"), torch.float64)[0].dtype == torch.float64


def test_rotations_are_rotated_images():
    data, counts = classification._digits_cpu()
    digit = 3
    upright = data[digit, : counts[digit]].reshape(-1, 8, 8)
    for r_index, degrees in enumerate(DIGIT_ROTATIONS):
        cls = 10 * r_index + digit
        assert digit_class(cls) == (digit, degrees)
        turned = data[cls, : counts[cls]].reshape(-1, 8, 8)
        assert torch.equal(turned, torch.rot90(upright, r_index, dims=(1, 2)))


def test_ways_sets_the_model_and_is_validated():
    cfg = tiny_config(family="digits", ways=7, hidden=(16,))
    assert make_family(cfg).ways == 7
    assert make_model(make_family(cfg), cfg) == MLP(sizes=(64, 16, 7))
    assert make_model(get_family("points2d"), tiny_config(family="points2d", ways=3)).sizes == (2, 8, 8, 3)
    assert make_model(get_family("sinusoid"), tiny_config(ways=7)).sizes == (1, 8, 8, 1)  # regression ignores it
    with pytest.raises(ValueError, match="ways must be an integer >= 2"):
        tiny_config(ways=1)
    with pytest.raises(ValueError, match="at most 12 classes"):
        checked(tiny_config(family="digits", ways=13))  # the family checks its classes
    with pytest.raises(ValueError, match="shots \\+ query"):
        get_family("digits").sample(2, 100, 100, gen(0))
    with pytest.raises(ValueError, match="split must be"):
        get_family("digits").sample(2, 1, 1, gen(0), split="val")


def test_checkpoint_round_trip_and_evaluation_on_test_classes(tmp_path):
    cfg = tiny_config(family="digits", ways=3, shots=1, query=2, alpha=0.4, iterations=3)
    trainer = Trainer(cfg)
    history = MetricHistory()
    history.extend(trainer)
    assert history.latest.post_accuracy is not None
    save_run(tmp_path, trainer.state_dict(), history)
    ckpt = load_checkpoint(tmp_path)
    assert ckpt.config.ways == 3 and ckpt.model == trainer.model and ckpt.model.sizes[-1] == 3
    family = make_family(ckpt.config)
    assert family == trainer.family
    result = evaluate(ckpt.model, family, get_algorithm(cfg.algorithm), ckpt.meta_params, cfg.alpha,
                      EvalConfig(tasks=6, shots=1, query=2, steps=2, chunk=4))
    assert len(result.accuracy_by_step) == 3
    assert all(0.0 <= a <= 1.0 for a in result.accuracy_by_step)
    with pytest.raises(ValueError, match="too few"):
        evaluate(ckpt.model, family.configure(TrainConfig(family="digits", ways=4)), get_algorithm("leo"),
                 ckpt.meta_params, 0.4, EvalConfig(tasks=2, shots=1, query=1, steps=1))


@pytest.mark.slow  # CLI subprocesses: ~40 s on a busy 2-core machine
def test_cli_train_and_evaluate_digits(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "leo_core", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)

    out = tmp_path / "digits"
    proc = run("train", "--family", "digits", "--ways", "3", "--shots", "1", "--query", "2", "--alpha", "0.4",
               "--meta-batch", "2", "--iterations", "3", "--hidden", "8", "--device", "cpu", "--quiet",
               "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "config.json").read_text())["ways"] == 3
    proc = run("evaluate", str(out), "--tasks", "8", "--steps", "2", "--query", "2", "--device", "cpu", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert len(result["accuracy_by_step"]) == 3 and len(result["loss_by_step"]) == 3
    assert result["ways"] == 3 and result["split"] == "test"
