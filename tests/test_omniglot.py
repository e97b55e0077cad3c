"""Omniglot: the shipped data, the split, the task sampler, the MAML paper's networks, the CLI contract."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from leo_core import analytic, inner
from leo_core.algorithms.anil import head_names
from leo_core.cli import main
from leo_core.config import TrainConfig
from leo_core.data import build_omniglot
from leo_core.losses import LOSSES
from leo_core.models import MLP, Conv4, build_model
from leo_core.settings import checked
from leo_core.tasks import get_family
from leo_core.tasks.omniglot import DATA_FILE, ROTATIONS, _raw, class_info, omniglot_data, one_shot_runs
from leo_core.train import make_model

from helpers import gen

ROOT = Path(__file__).resolve().parents[1]
FAMILY = get_family("omniglot")
PRESET_5 = ROOT / "presets" / "maml-omniglot.pt"
PRESET_20 = ROOT / "presets" / "maml-omniglot-20way.pt"
HELD_OUT = {"Balinese", "Early_Aramaic", "Greek", "Japanese_(katakana)", "Korean", "Latin", "Sanskrit",
            "Tagalog"}


# -- the data and the split ----------------------------------------------------------------------------


def test_shipped_data_is_compact_and_whole():
    assert DATA_FILE.stat().st_size < 5_000_000
    raw = _raw()
    assert raw.images.shape == (964, 20, 28, 28) and raw.images.dtype == np.uint8
    assert raw.runs_train.shape == raw.runs_test.shape == (20, 20, 28, 28)
    # every one-shot run's answers are a permutation of its 20 classes
    assert all(sorted(row) == list(range(20)) for row in raw.runs_answer.tolist())
    # ink is a minority of every image (the paper is white), and no image is blank
    ink = raw.images.reshape(964 * 20, -1).astype(np.float64).mean(axis=1) / 255
    assert ink.min() > 0 and ink.max() < 0.5
    assert set(raw.alphabet_names) == HELD_OUT
    licence = (ROOT / "leo_core" / "data" / "LICENSE").read_text()
    assert "Copyright (c) 2015 Brenden Lake" in licence and "Copyright (c) 2021 interactive-maml" in licence


def test_split_holds_out_whole_alphabets_with_every_rotation():
    train, test = set(FAMILY.split_classes("train").tolist()), set(FAMILY.split_classes("test").tolist())
    assert not train & test and len(train | test) == 964 * 4
    assert (len(train), len(test)) == (722 * 4, 242 * 4)
    for c in test:
        assert class_info(c)["alphabet"] in HELD_OUT
    for c in train:
        assert class_info(c)["alphabet"] is None
    characters = lambda ids: {c // len(ROTATIONS) for c in ids}  # noqa: E731
    assert not characters(train) & characters(test)  # a character's four rotations share its split


def test_a_class_is_a_character_turned_by_its_rotation():
    data = omniglot_data(torch.device("cpu")).reshape(-1, 20, 28, 28)
    raw = torch.from_numpy(_raw().images)
    c = 393  # Greek's first character
    for r in range(4):
        assert torch.equal(data[4 * c + r], torch.rot90(raw[c], r, dims=(1, 2)))
    assert FAMILY.class_name(4 * c + 1) == "Greek character 0394, 90°"
    assert FAMILY.class_name(0) == "character 0001, 0°"


@pytest.mark.parametrize("split", ["train", "test"])
def test_tasks_are_n_way_k_shot_from_their_split(split):
    fam = replace(FAMILY, ways=5)
    batch = fam.sample(6, 2, 3, gen(1), split=split)
    assert batch.x_support.shape == (6, 10, 784) and batch.x_query.shape == (6, 15, 784)
    assert batch.y_support[0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert 0.0 <= float(batch.x_support.min()) and float(batch.x_support.max()) <= 1.0
    classes = batch.task_params["classes"]
    assert set(classes.flatten().tolist()) <= set(fam.split_classes(split).tolist())
    assert all(len(set(row)) == 5 for row in classes.tolist())  # N distinct classes per task
    # the K + Q images of a class are K + Q different drawers
    images = torch.cat([batch.x_support.reshape(6, 5, 2, 784), batch.x_query.reshape(6, 5, 3, 784)], dim=2)
    for t in range(6):
        for c in range(5):
            assert len({tuple(img.tolist()) for img in images[t, c]}) == 5
    # same seed, same tasks
    again = fam.sample(6, 2, 3, gen(1), split=split)
    assert torch.equal(again.x_query, batch.x_query)


def test_pretrained_baseline_labels_cover_the_training_classes():
    batch = FAMILY.sample(4, 1, 1, gen(2))
    support, _ = FAMILY.global_labels(batch)
    assert support.max() < FAMILY.pretrain_classes() == 2888
    with pytest.raises(ValueError, match="meta-training classes"):
        FAMILY.global_labels(FAMILY.sample(2, 1, 1, gen(2), split="test"))


def test_one_shot_runs_are_twenty_20_way_tasks():
    runs = one_shot_runs()
    assert runs.x_support.shape == runs.x_query.shape == (20, 20, 784)
    assert runs.y_support[0].tolist() == list(range(20))
    # the answer of a test item is the training class it matches in Lake et al.'s class_labels.txt (run 1, item 1:
    # training/class08.png)
    assert int(runs.y_query[0, 0]) == 7


def test_rebuild_script_reads_both_kinds_of_png(tmp_path):
    """Ink on transparent (the explainer's copy) and black on white (the original zips) give the same pixels."""
    Image = pytest.importorskip("PIL.Image")  # Streamlit brings Pillow; a bare GPU image may not have it

    rng = np.random.default_rng(0)
    ink = (rng.random((105, 105)) < 0.1).astype(np.uint8) * 255
    rgba = np.zeros((105, 105, 4), np.uint8)
    rgba[..., 3] = ink
    files = {}
    for name, img in (("rgba", Image.fromarray(rgba, "RGBA")), ("bw", Image.fromarray(255 - ink, "L").convert("1"))):
        buf = io.BytesIO()
        img.save(buf, "PNG")
        files[name] = buf.getvalue()
    a, b = build_omniglot.ink_28(files["rgba"]), build_omniglot.ink_28(files["bw"])
    assert a.shape == (28, 28) and np.array_equal(a, b) and a.max() > 0
    with zipfile.ZipFile(tmp_path / "names.zip", "w") as z:
        z.writestr("images_background/Greek/character01/0394_01.png", files["bw"])
        z.writestr("images_background/Balinese/character01/0108_01.png", files["bw"])
    alphabet, names = build_omniglot.read_alphabets([tmp_path / "names.zip"])
    assert names == ["Balinese", "Greek"] and alphabet[393] == 1 and alphabet[107] == 0 and alphabet[0] == -1


def test_family_refuses_what_it_cannot_serve():
    with pytest.raises(ValueError, match="at most 968 classes"):
        checked(TrainConfig(family="omniglot", ways=1000))
    with pytest.raises(ValueError, match="20 drawers"):
        checked(TrainConfig(family="omniglot", shots=15, query=10))
    with pytest.raises(ValueError, match="unknown model 'conv4' for sinusoid"):
        checked(TrainConfig(family="sinusoid", model="conv4"))
    with pytest.raises(ValueError, match="unknown model"):
        TrainConfig(model="resnet")


# -- the networks ---------------------------------------------------------------------------------------

TINY_CONV = Conv4(out=3, side=16, width=3)
TINY_BN_MLP = MLP(sizes=(16 * 16, 6, 5, 3), batch_norm=True)


def _perturbed(params, n_tasks, scale=0.05):
    g = gen(5)
    return {k: v.unsqueeze(0).repeat(n_tasks, *[1] * v.dim()) + scale * torch.randn(n_tasks, *v.shape, generator=g,
                                                                                       dtype=v.dtype)
            for k, v in params.items()}


@pytest.mark.parametrize("model", [TINY_CONV, TINY_BN_MLP], ids=["conv4", "bn-mlp"])
def test_batched_forward_equals_a_loop_over_tasks(model):
    params = model.init(gen(0), torch.float64)
    x = torch.rand(4, 7, 256, generator=gen(1), dtype=torch.float64)
    stack = _perturbed(params, 4)
    batched = model.forward(stack, x)
    loop = torch.stack([model.forward({k: v[t] for k, v in stack.items()}, x[t]) for t in range(4)])
    assert batched.shape == (4, 7, 3)
    torch.testing.assert_close(batched, loop, rtol=1e-10, atol=1e-10)
    # shared parameters (no task axis) are the same as the stack of copies
    shared = model.forward(params, x)
    copies = model.forward({k: v.unsqueeze(0).expand(4, *v.shape) for k, v in params.items()}, x)
    torch.testing.assert_close(shared, copies, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("model", [TINY_CONV, TINY_BN_MLP], ids=["conv4", "bn-mlp"])
def test_batch_norm_statistics_are_per_task(model):
    """Batch norm uses each task's own examples: another task's images do not change a task's outputs."""
    params = model.init(gen(0), torch.float64)
    x = torch.rand(3, 6, 256, generator=gen(1), dtype=torch.float64)
    y = x.clone()
    y[1:] = torch.rand(2, 6, 256, generator=gen(2), dtype=torch.float64) * 3
    torch.testing.assert_close(model.forward(params, x)[0], model.forward(params, y)[0], rtol=1e-12, atol=1e-12)
    # ... while its own examples do (the statistics are the set's, not running averages)
    z = x.clone()
    z[0, 1:] *= 2
    assert not torch.allclose(model.forward(params, x)[0, 0], model.forward(params, z)[0, 0])


def _meta_objective(model, theta, xs, ys, xq, yq, alpha, k):
    loss = LOSSES["cross_entropy"]
    adapted = inner.adapt(model, loss, inner.expand(theta, xs.shape[0]), xs, ys, alpha, k, create_graph=True)
    return loss.mean(model.forward(adapted, xq), yq)


@pytest.mark.parametrize("model", [TINY_CONV, TINY_BN_MLP], ids=["conv4", "bn-mlp"])
def test_second_order_meta_gradient_matches_finite_differences(model):
    """∇J through two inner steps (autograd, second order) against central differences of J."""
    torch.manual_seed(0)
    theta = {k: v.requires_grad_(True) for k, v in model.init(gen(0), torch.float64).items()}
    xs = torch.rand(2, 6, 256, generator=gen(1), dtype=torch.float64)
    xq = torch.rand(2, 6, 256, generator=gen(2), dtype=torch.float64)
    ys = torch.tensor([[0, 0, 1, 1, 2, 2]] * 2)
    yq = ys.flip(-1)
    j = _meta_objective(model, theta, xs, ys, xq, yq, 0.3, 2)
    grads = torch.autograd.grad(j, list(theta.values()))
    direction = {k: torch.randn(v.shape, generator=gen(9), dtype=torch.float64) for k, v in theta.items()}
    analytic_dd = sum((g * direction[k]).sum() for g, k in zip(grads, theta)).detach()
    eps = 1e-6
    with torch.enable_grad():
        plus = _meta_objective(model, {k: (v + eps * direction[k]).detach().requires_grad_(True)
                                       for k, v in theta.items()}, xs, ys, xq, yq, 0.3, 2)
        minus = _meta_objective(model, {k: (v - eps * direction[k]).detach().requires_grad_(True)
                                        for k, v in theta.items()}, xs, ys, xq, yq, 0.3, 2)
    numeric = ((plus - minus) / (2 * eps)).detach()
    assert abs(float(analytic_dd - numeric)) <= 1e-6 * max(1.0, abs(float(numeric)))


def test_models_of_the_family_and_their_heads():
    fam = replace(FAMILY, ways=5)
    conv = make_model(fam, TrainConfig(family="omniglot", ways=5))
    assert isinstance(conv, Conv4) and conv.out == 5 and conv.features == 64
    mlp = make_model(fam, TrainConfig(family="omniglot", ways=5, model="mlp", hidden=(40, 40)))
    assert isinstance(mlp, MLP) and mlp.sizes == (784, 256, 128, 64, 64, 5) and mlp.batch_norm
    assert head_names(conv, conv.init(gen())) == ("w4", "b4")
    assert head_names(mlp, mlp.init(gen())) == ("w4", "b4")
    assert build_model(conv.spec()) == conv and build_model(mlp.spec()) == mlp
    # the MLP's closed-form meta-gradient does not cover batch norm: autograd serves it
    assert not analytic.applicable(mlp, LOSSES["cross_entropy"])
    n_params = sum(v.numel() for v in conv.init(gen()).values())
    assert n_params == 4 * 2 * 64 + 64 * 9 + 3 * 64 * 64 * 9 + 64 * 5 + 5  # kernels, norms, head


# -- the command line -----------------------------------------------------------------------------------


def run_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "leo_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow  # 50 conv-net meta-iterations: ~30-60 s on a busy 2-core machine
def test_train_and_evaluate_from_a_fresh_clone(tmp_path):
    out = tmp_path / "omniglot"
    proc = run_cli("train", "--family", "omniglot", "--ways", "5", "--shots", "1", "--iterations", "50",
                   "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("evaluate", str(out), "--tasks", "20", "--steps", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["family"] == "omniglot" and result["ways"] == 5 and len(result["accuracy_by_step"]) == 4
    # 50 iterations already learn something about adapting: better than chance after the steps
    assert result["accuracy_by_step"][3] > 0.3


@pytest.mark.slow  # 200 held-out 5-way tasks through the conv net: ~30 s
def test_shipped_5_way_checkpoint_adapts_to_held_out_characters():
    proc = run_cli("evaluate", str(PRESET_5), "--tasks", "200", "--steps", "3", "--seed", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["split"] == "test" and result["ways"] == 5
    assert result["accuracy_by_step"][0] < 0.3  # θ₀ alone guesses
    assert result["accuracy_by_step"][3] >= 0.95


@pytest.mark.slow
def test_one_shot_runs_json_contract():
    proc = run_cli("evaluate", str(PRESET_20), "--one-shot-runs", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert len(result["runs"]) == 20 and [r["run"] for r in result["runs"]] == list(range(1, 21))
    assert result["error_rate"] == pytest.approx(np.mean([r["error_rate"] for r in result["runs"]]))
    assert result["error_rate_by_step"][-1] == result["error_rate"]
    assert result["error_rate"] < 0.5  # far from chance (95% error)


def one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--family", "omniglot", "--ways", "1000", "--out", "x"], "at most 968 classes"),
    (["train", "--family", "omniglot", "--shots", "15", "--query", "10", "--out", "x"], "20 drawers"),
    (["train", "--family", "sinusoid", "--model", "conv4", "--out", "x"], "unknown model 'conv4' for sinusoid"),
    (["evaluate", str(PRESET_5), "--family", "digits"], "trained on family 'omniglot'"),
    (["evaluate", str(PRESET_5), "--one-shot-runs"], "20-way"),
    (["evaluate", str(ROOT / "presets" / "maml-sinusoid.pt"), "--one-shot-runs"], "needs an omniglot checkpoint"),
    (["evaluate", str(PRESET_5), "--shots", "10", "--query", "15"], "20 drawers"),
])
def test_bad_input_is_one_clear_line(capsys, argv, fragment):
    assert fragment in one_line_error(capsys, argv)


def test_unknown_model_flag_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--model", "resnet", "--out", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'resnet'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_conv_meta_gradient_on_cuda_equals_cpu_and_its_captured_graph():
    from leo_core.train import Trainer

    cfg = TrainConfig(family="omniglot", ways=5, shots=1, query=1, alpha=0.4, k=1, meta_batch=8, dtype="float64",
                      iterations=10)
    cpu, gpu = Trainer(replace(cfg, device="cpu")), Trainer(replace(cfg, device="cuda"))
    batch = FAMILY.sample(8, 1, 1, gen(3), "cpu", torch.float64)
    g_cpu = cpu.algorithm.meta_step(cpu.model, cpu.family, cpu.meta_params, batch, cpu.cfg).grads
    g_gpu = gpu.algorithm.meta_step(gpu.model, gpu.family, gpu.meta_params, batch.to("cuda"), gpu.cfg).grads
    for name in g_cpu:
        torch.testing.assert_close(g_gpu[name].cpu(), g_cpu[name], rtol=1e-9, atol=1e-9)
    eager, captured = Trainer(replace(cfg, device="cuda", dtype="float32")), \
        Trainer(replace(cfg, device="cuda", dtype="float32", cuda_graph=True))
    for _ in range(3):
        a, b = eager.step(), captured.step()
    assert captured.fallback_reason is None
    assert abs(a.meta_loss - b.meta_loss) < 1e-4
