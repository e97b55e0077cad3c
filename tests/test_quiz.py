"""The lecture's quiz (``leo_core.views.quiz``): rounds of real held-out Omniglot characters, the meta-learned model's
answer checked against an independent computation and for accuracy, and drawings turned into the data set's format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from leo_core.checkpoint import load_checkpoint
from leo_core.tasks.omniglot import OMNIGLOT, ROTATIONS, _raw
from leo_core.views import quiz as qz

ROOT = Path(__file__).resolve().parent.parent
PRESET = ROOT / "presets" / "maml-omniglot.pt"
ROUNDS = range(1, 41)


@pytest.fixture(scope="module")
def checkpoint():
    return load_checkpoint(PRESET)


# -- the rounds ----------------------------------------------------------------------------------------------------


def test_rounds_are_held_out_characters_as_stored():
    raw = _raw()
    test_classes = set(OMNIGLOT.split_classes("test").tolist())
    train_classes = set(OMNIGLOT.split_classes("train").tolist())
    for r in range(1, 31):
        task = qz.quiz_task(r)
        assert task.round == r and task.ways == 5
        assert task.support.dtype == torch.uint8 and tuple(task.support.shape) == (5, 28, 28)
        assert task.query.dtype == torch.uint8 and tuple(task.query.shape) == (28, 28)
        assert len(set(task.characters)) == 5, "five different characters"
        for i, (c, d) in enumerate(zip(task.characters, task.drawers)):
            cls = c * len(ROTATIONS)  # upright, as stored
            assert cls in test_classes and cls not in train_classes, f"round {r}: character {c} is not held out"
            assert raw.alphabet[c] >= 0
            assert task.alphabets[i] == raw.alphabet_names[raw.alphabet[c]]
            assert np.array_equal(task.support[i].numpy(), raw.images[c, d]), f"round {r}: support {i} altered"
        assert 0 <= task.answer < 5
        assert task.query_drawer != task.drawers[task.answer], "the query is another drawing than the support's"
        assert np.array_equal(task.query.numpy(), raw.images[task.characters[task.answer], task.query_drawer])
        assert not torch.equal(task.query, task.support[task.answer])


def test_a_round_is_reproducible_and_rounds_differ():
    a, b = qz.quiz_task(7), qz.quiz_task(7)
    assert a.characters == b.characters and a.drawers == b.drawers and a.answer == b.answer
    assert torch.equal(a.support, b.support) and torch.equal(a.query, b.query)
    assert len({qz.quiz_task(r).characters for r in range(1, 21)}) == 20
    assert len({qz.quiz_task(r).answer for r in range(1, 21)}) > 1, "the answer is not always the same position"


def test_bad_rounds_are_refused():
    with pytest.raises(ValueError):
        qz.quiz_task(-1)
    with pytest.raises(ValueError):
        qz.quiz_task(1, ways=1)


# -- the model's answer --------------------------------------------------------------------------------------------


def _conv4(params: dict, x: torch.Tensor) -> torch.Tensor:
    """The MAML paper's conv net for one task, written out: 4 × (conv 3×3, batch norm on the batch, ReLU, pool 2)."""
    h = x.reshape(-1, 1, 28, 28)
    for i in range(4):
        h = F.conv2d(h, params[f"w{i}"], padding=1)
        h = F.batch_norm(h, None, None, params[f"s{i}"], params[f"b{i}"], training=True, eps=1e-5)
        h = F.max_pool2d(F.relu(h), 2)
    return h.flatten(1) @ params["w4"] + params["b4"]


def _independent(checkpoint, support: torch.Tensor, query: torch.Tensor, steps: int) -> torch.Tensor:
    """Probabilities of the query at θ₀ and after each plain SGD step of α on the support's cross-entropy (the
    query normalised in one batch with the support, as ``answer`` does): ``[steps + 1, 5]``."""
    assert checkpoint.config.algorithm == "leo", "θ₀ is the initialization and the step is α: plain MAML"
    alpha = checkpoint.config.alpha
    params = {k: v.detach().clone().float().requires_grad_(True) for k, v in checkpoint.meta_params.items()}
    x = support.float().reshape(5, -1) / 255
    xq = query.float().reshape(1, -1) / 255
    y = torch.arange(5)
    out = []
    for step in range(steps + 1):
        with torch.no_grad():
            out.append(_conv4(params, torch.cat([x, xq]))[-1].softmax(-1))
        if step == steps:
            break
        loss = F.cross_entropy(_conv4(params, x), y)
        grads = torch.autograd.grad(loss, list(params.values()))
        params = {k: (p - alpha * g).detach().requires_grad_(True) for (k, p), g in zip(params.items(), grads)}
    return torch.stack(out)


@pytest.mark.parametrize("steps", [None, 3])
def test_the_answer_matches_an_independent_computation(checkpoint, steps):
    for r in (1, 2, 3):
        task = qz.quiz_task(r)
        got = qz.answer(checkpoint, task, steps)
        want = _independent(checkpoint, task.support, task.query, checkpoint.config.k if steps is None else steps)
        assert got.steps == want.shape[0] - 1
        torch.testing.assert_close(torch.tensor(got.probabilities), want, atol=2e-5, rtol=1e-4)
        assert got.prediction == int(want[-1].argmax()) and got.confidence == pytest.approx(float(want[-1].max()))
        assert got.prediction_before == int(want[0].argmax())
        assert sum(got.after) == pytest.approx(1.0, abs=1e-5)


def test_drawn_symbols_are_answered_as_the_stored_ones(checkpoint):
    task = qz.quiz_task(4)
    np.testing.assert_allclose(qz.adapt_to_drawings(checkpoint, list(task.support), task.query).probabilities,
                               qz.answer(checkpoint, task).probabilities, atol=1e-6)
    with pytest.raises(ValueError):
        qz.adapt_to_drawings(checkpoint, list(task.support[:4]), task.query)  # four symbols for a 5-way model
    with pytest.raises(ValueError):
        qz.adapt_to_drawings(checkpoint, list(task.support), torch.zeros(14, 14, dtype=torch.uint8))


def test_one_step_makes_the_model_right_far_above_chance(checkpoint):
    """Accuracy only: how long an answer takes is measured by bench/quiz.py (never timed in the suite)."""
    before = after = 0
    for r in ROUNDS:
        task = qz.quiz_task(r)
        result = qz.answer(checkpoint, task)
        before += result.prediction_before == task.answer
        after += result.prediction == task.answer
    n = len(ROUNDS)
    # The checkpoint's 5-way 1-shot accuracy is well above 90% (README's Omniglot table); chance is 20%.
    assert after >= 0.8 * n, f"right {after}/{n} after adaptation"
    assert after >= before + 0.4 * n


# -- drawings ------------------------------------------------------------------------------------------------------


def _canvas(image: np.ndarray, scale: int = 5, transparent: bool = False) -> np.ndarray:
    """A stored character (255 = ink) as a canvas gives it: enlarged, black ink on white (or on transparent), RGBA."""
    ink = np.kron(image.astype(np.float32) / 255, np.ones((scale, scale), np.float32))
    if transparent:
        zeros = np.zeros(ink.shape, np.uint8)
        return np.dstack([zeros, zeros, zeros, (255 * ink).round().astype(np.uint8)])
    grey = (255 * (1 - ink)).round().astype(np.uint8)
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


def _box_side(image: np.ndarray) -> int:
    rows, cols = np.nonzero(image > qz.INK_THRESHOLD * 255)
    return int(max(np.ptp(rows), np.ptp(cols)) + 1)


def _blurred(image: np.ndarray) -> torch.Tensor:
    g = torch.exp(-torch.arange(-3, 4, dtype=torch.float64) ** 2 / 2)
    kernel = (g[:, None] * g[None, :] / g.sum() ** 2)[None, None]
    return F.conv2d(torch.as_tensor(image, dtype=torch.float64)[None, None], kernel, padding=3)[0, 0]


def _match(a: np.ndarray, b: np.ndarray, shift: int = 4) -> float:
    """The best correlation of the blurred images over shifts of up to ``shift`` pixels (a drawing is centred on its
    bounding box; a stored character sits wherever its drawer put it)."""
    target, blurred = _blurred(b).flatten(), _blurred(a)
    best = -1.0
    for dy in range(-shift, shift + 1):
        for dx in range(-shift, shift + 1):
            moved = torch.roll(blurred, (dy, dx), (0, 1)).flatten()
            best = max(best, float(torch.corrcoef(torch.stack([moved, target]))[0, 1]))
    return best


def test_a_drawing_becomes_a_stored_character():
    raw = _raw()
    characters = qz._held_out_characters()
    matches = []
    for c in characters:
        original = raw.images[c, 0]
        image = qz.drawing_to_image(_canvas(original))
        assert image.dtype == torch.uint8 and tuple(image.shape) == (28, 28)
        assert image[0].max() == 0 and image[:, 0].max() == 0, "the background is 0, as in the data set"
        assert abs(_box_side(image.numpy()) - qz.BOX) <= 1, "the strokes' box is scaled to BOX pixels"
        if abs(_box_side(original) - qz.BOX) <= 1:  # drawn at the size the conversion scales to: the same image
            on_clear = qz.drawing_to_image(_canvas(original, transparent=True))
            assert (image.int() - on_clear.int()).abs().max() <= 1, "white and transparent backgrounds agree"
            matches.append(_match(image.numpy(), original))
    assert len(matches) >= 40
    assert min(matches) > 0.9, sorted(matches)[:5]


def test_drawn_rounds_are_answered_as_well_as_stored_ones(checkpoint):
    """Support and query of 20 rounds rendered as canvases and converted back: the model stays right."""
    right = 0
    for r in range(1, 21):
        task = qz.quiz_task(r)
        support = [qz.drawing_to_image(_canvas(s.numpy())) for s in task.support]
        query = qz.drawing_to_image(_canvas(task.query.numpy()))
        right += qz.adapt_to_drawings(checkpoint, support, query).prediction == task.answer
    assert right >= 16, f"right {right}/20 on drawn rounds"


@pytest.mark.parametrize("blank", [
    None,
    np.full((140, 140, 4), 255, np.uint8),  # white, opaque
    np.zeros((140, 140, 4), np.uint8),  # transparent
    np.dstack([np.zeros((140, 140, 3), np.uint8), np.full((140, 140), 20, np.uint8)]),  # a faint smudge
])
def test_a_blank_drawing_is_refused(blank):
    with pytest.raises(ValueError, match="draw a symbol first"):
        qz.drawing_to_image(blank)


def test_a_drawing_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="RGBA"):
        qz.drawing_to_image(np.zeros((140, 140), np.uint8))


def test_a_small_drawing_is_enlarged_and_centred():
    canvas = np.full((140, 140, 4), 255, np.uint8)
    canvas[20:26, 100:112, :3] = 0  # a small dash near the corner
    image = qz.drawing_to_image(canvas).numpy()
    rows, cols = np.nonzero(image > qz.INK_THRESHOLD * 255)
    assert abs(np.ptp(cols) + 1 - qz.BOX) <= 1
    assert abs((rows.min() + rows.max()) / 2 - 13.5) <= 1 and abs((cols.min() + cols.max()) / 2 - 13.5) <= 1
