"""The algorithms beyond ``leo`` against independent references (issue #5).

Every algorithm through the CLI and a checkpoint round trip; the registry. Each algorithm's
references are in its own file: test_reptile.py, test_meta_sgd.py, test_imaml.py, test_latent.py, test_anil.py,
test_baselines.py.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from leo_core.algorithms import ALGORITHMS, get_algorithm
from leo_core.checkpoint import load_checkpoint, save_run
from leo_core.history import MetricHistory
from leo_core.losses import LOSSES
from leo_core.tasks import get_family
from leo_core.train import Trainer

from helpers import tiny_config
from test_cli import run_cli
from test_inner import reference_forward, setup

NEW = ["reptile", "meta-sgd", "imaml", "leo-latent", "pretrained", "random"]
MSE = LOSSES["mse"]


def test_registry_has_every_algorithm_with_theory_text():
    assert set(NEW) | {"leo", "leo-fo"} <= set(ALGORITHMS)
    for key, algo in ALGORITHMS.items():
        assert algo.key == key and algo.title and algo.citation
        assert 2 <= algo.summary.count(". ") + 1 <= 5, key


# Reptile's and Meta-SGD's own tests: tests/test_reptile.py, tests/test_meta_sgd.py.


@pytest.mark.parametrize("algorithm", ["meta-sgd", "leo-latent", "imaml"])
def test_stop_and_resume_equals_one_straight_run(tmp_path, algorithm):
    def values(records):
        return [(r.meta_loss, r.post_loss, r.grad_norm) for r in records]

    straight = values(Trainer(tiny_config(algorithm=algorithm, iterations=6)))
    first = Trainer(tiny_config(algorithm=algorithm, iterations=3))
    history = MetricHistory()
    history.extend(first)
    save_run(tmp_path, first.state_dict(), history)
    ckpt = load_checkpoint(tmp_path)
    second = Trainer(replace(ckpt.config, iterations=6))
    second.load_state_dict(ckpt.state)
    assert values(history.records()) + values(second) == straight




# -- baselines ----------------------------------------------------------------------------------------

def test_random_never_moves_and_pretrained_minimises_the_joint_loss():
    rnd = Trainer(tiny_config(algorithm="random", iterations=5, beta=0.1))
    before = rnd.initialization()
    records = list(rnd)
    assert all(r.grad_norm == 0 for r in records)
    for n, v in rnd.initialization().items():
        assert torch.equal(v, before[n])

    model, theta0, batch = setup()
    cfg = tiny_config(hidden=model.sizes[1:-1], dtype="float64")
    step = get_algorithm("pretrained").meta_step(model, get_family("sinusoid"), theta0, batch, cfg)
    joint = 0.0
    for i in range(batch.n_tasks):
        x = torch.cat([batch.x_support[i], batch.x_query[i]])
        y = torch.cat([batch.y_support[i], batch.y_query[i]])
        joint = joint + ((reference_forward(theta0, x) - y) ** 2).mean() / batch.n_tasks
    ref = torch.autograd.grad(joint, list(theta0.values()))
    for n, g in zip(theta0, ref):
        assert torch.allclose(step.grads[n], g, atol=1e-12), n


# -- command line -------------------------------------------------------------------------------------

@pytest.mark.slow  # a CLI subprocess per algorithm: 20–45 s each on a busy 2-core machine
@pytest.mark.parametrize("algorithm", NEW)
def test_cli_trains_and_evaluates_every_algorithm(tmp_path, algorithm):
    out = tmp_path / algorithm
    proc = run_cli("train", "--algorithm", algorithm, "--iterations", "5", "--meta-batch", "3", "--hidden", "8,8",
                   "--k", "2", "--cg-steps", "2", "--imaml-lambda", "0.5", "--quiet", "--device", "cpu",
                   "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("evaluate", str(out), "--tasks", "8", "--steps", "6", "--json", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["algorithm"] == algorithm and len(result["loss_by_step"]) == 7
    assert all(v == v for v in result["loss_by_step"])  # no NaN
    if algorithm == "imaml":
        cfg = load_checkpoint(out).config
        assert (cfg.imaml_lambda, cfg.cg_steps) == (0.5, 2)
