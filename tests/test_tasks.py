from __future__ import annotations

import math

import pytest
import torch

from leo_core.tasks import TASK_FAMILIES, get_family

from helpers import gen

# Classification families have their own tests (test_classification.py).
REGRESSION = {n: f for n, f in TASK_FAMILIES.items() if not f.is_classification}


@pytest.mark.parametrize("name", list(REGRESSION))
def test_shapes_ranges_and_determinism(name):
    fam = get_family(name)
    a = fam.sample(7, 5, 9, gen(1))
    b = fam.sample(7, 5, 9, gen(1))
    c = fam.sample(7, 5, 9, gen(2))
    assert a.x_support.shape == (7, 5, 1) and a.y_query.shape == (7, 9, 1)
    assert torch.equal(a.y_support, b.y_support) and not torch.equal(a.y_support, c.y_support)
    lo, hi = fam.x_range
    assert a.x_support.min() >= lo and a.x_query.max() <= hi
    for key, (plo, phi) in fam.param_ranges.items():
        assert a.task_params[key].min() >= plo and a.task_params[key].max() <= phi


@pytest.mark.parametrize("name", [n for n, f in REGRESSION.items() if f.noise_std == 0])
def test_noiseless_targets_are_the_true_function(name):
    fam = get_family(name)
    batch = fam.sample(4, 6, 3, gen(0))
    assert torch.allclose(batch.y_support, fam.target(batch.task_params, batch.x_support))


def test_sinusoid_formula():
    fam = get_family("sinusoid")
    params = {"amplitude": torch.tensor([2.0]), "phase": torch.tensor([math.pi / 2])}
    x = torch.tensor([[[0.0], [math.pi / 2]]])
    assert torch.allclose(fam.target(params, x), torch.tensor([[[-2.0], [0.0]]]), atol=1e-6)


def test_sine_line_mixes_both_kinds():
    batch = get_family("sine-line").sample(200, 5, 5, gen(0))
    frac = batch.task_params["is_line"].mean().item()
    assert 0.35 < frac < 0.65


def test_unknown_family_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown task family 'nope'"):
        get_family("nope")


def test_select_keeps_task_axis():
    batch = get_family("sinusoid").sample(5, 3, 4, gen(0))
    one = batch.select(2)
    assert one.x_support.shape == (1, 3, 1) and torch.equal(one.x_query[0], batch.x_query[2])


@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_ignores_split_and_ways(name):
    fam = get_family(name)
    train = fam.sample(3, 4, 5, gen(7), split="train")
    test = fam.sample(3, 4, 5, gen(7), split="test")
    assert torch.equal(train.y_query, test.y_query)
    assert fam.configure(type("Cfg", (), {"ways": 9})()) is fam
    with pytest.raises(ValueError, match="split must be"):
        fam.sample(3, 4, 5, gen(7), split="validation")
