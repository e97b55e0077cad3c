"""The lecture's "You try" quiz: the room against the meta-learned model on held-out Omniglot characters.

- ``quiz_task(round_)``: a 5-way 1-shot task of real characters from the alphabets never seen in
  meta-training (the ``omniglot`` family's test split), reproducible per round: one stored drawing of
  each of five characters (the support set) and another drawer's drawing of one of them (the query).
- ``answer(checkpoint, task)``: the model's class probabilities for the query from θ₀ alone and after
  each adaptation step on the support set, with the checkpoint's own α and algorithm.
- ``drawing_to_image(rgba)``: a canvas drawing turned into the data set's image format (28×28 uint8,
  255 = ink, the strokes' bounding box scaled and centred as the stored characters sit in their frame).
- ``adapt_to_drawings(checkpoint, support, query)``: ``answer`` for five drawn symbols and a drawn query.

The conv net normalises every batch with its own statistics (per-task batch norm, as Finn et al.'s code):
meta-training saw query batches of one image per class. One query image alone would be normalised by its
own statistics (about 65% right after one step, where a batch like training's gives 98%), so the query is
passed together with the support images, as one batch of six, and its own row is read. No Streamlit here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import Tensor

from ..i18n import N_, _

if TYPE_CHECKING:
    from ..checkpoint import Checkpoint

__all__ = ["QuizTask", "Answer", "quiz_task", "answer", "adapt_to_drawings", "drawing_to_image", "alphabet_title",
           "SIDE", "WAYS", "BOX", "INK_THRESHOLD", "QUIZ_SEED"]

SIDE = 28  # the data set's images are SIDE × SIDE
WAYS = 5
QUIZ_SEED = 20170309  # rounds are drawn from [QUIZ_SEED, round]: the same round shows the same task everywhere
# Where a drawing lands in the 28×28 frame: its bounding box's longer side becomes BOX pixels, centred. The
# stored characters' boxes (pixels of ink > INK_THRESHOLD) have a median longer side of 19 px (quartiles 16
# and 21) and sit centred within a pixel and a half.
BOX = 19
INK_THRESHOLD = 0.2  # a pixel with more ink than this (0 … 1) is part of a stroke
# The held-out alphabets' names as the data set spells them, for the reader's language.
ALPHABETS = {
    "Balinese": N_("Balinese"),
    "Early_Aramaic": N_("Early Aramaic"),
    "Greek": N_("Greek"),
    "Japanese_(katakana)": N_("Japanese (katakana)"),
    "Korean": N_("Korean"),
    "Latin": N_("Latin"),
    "Sanskrit": N_("Sanskrit"),
    "Tagalog": N_("Tagalog"),
}


@dataclass(frozen=True)
class QuizTask:
    """One round: ``ways`` held-out characters, one stored drawing each, and a query drawing of one of them."""

    round: int
    support: Tensor  # [ways, 28, 28] uint8, 255 = ink: the stored images, one drawer per character
    query: Tensor  # [28, 28] uint8: another drawer's drawing of character ``answer``
    answer: int  # the query's class: its index in ``support``
    characters: tuple[int, ...]  # each class's character: 0-based index into the data set's ``images``
    drawers: tuple[int, ...]  # each support image's drawer (0 … 19)
    query_drawer: int  # differs from ``drawers[answer]``
    alphabets: tuple[str | None, ...]  # each character's alphabet as the data names it (None where unnamed)

    @property
    def ways(self) -> int:
        return int(self.support.shape[0])


@dataclass(frozen=True)
class Answer:
    """The model's answer for one query: class probabilities from θ₀ alone and after each adaptation step."""

    probabilities: tuple[tuple[float, ...], ...]  # [steps + 1][ways]: θ₀, then after step 1, 2, …
    seconds: float = 0.0  # how long adapting and answering took

    @property
    def steps(self) -> int:
        return len(self.probabilities) - 1

    @property
    def before(self) -> tuple[float, ...]:
        """Probabilities from θ₀ alone (before adaptation)."""
        return self.probabilities[0]

    @property
    def after(self) -> tuple[float, ...]:
        """Probabilities after the last adaptation step."""
        return self.probabilities[-1]

    @property
    def prediction(self) -> int:
        """The predicted class after adaptation (an index into the support set)."""
        return int(np.argmax(self.after))

    @property
    def confidence(self) -> float:
        """The probability of the predicted class after adaptation."""
        return float(max(self.after))

    @property
    def prediction_before(self) -> int:
        return int(np.argmax(self.before))

    @property
    def confidence_before(self) -> float:
        return float(max(self.before))


def alphabet_title(name: str | None) -> str:
    """An alphabet's name in the reader's language ("" where the data does not name it)."""
    if not name:
        return ""
    return _(ALPHABETS[name]) if name in ALPHABETS else name.replace("_", " ")


def _held_out_characters() -> np.ndarray:
    """The test split's characters (0-based), ascending: the alphabets never seen in meta-training. A class is a
    character turned by 0°, 90°, 180° or 270°; the quiz shows them upright, as the data set stores them."""
    from ..tasks.omniglot import OMNIGLOT, ROTATIONS

    classes = OMNIGLOT.split_classes("test").numpy()
    return classes[classes % len(ROTATIONS) == 0] // len(ROTATIONS)


def quiz_task(round_: int, ways: int = WAYS) -> QuizTask:
    """Round ``round_``'s task: ``ways`` distinct held-out characters, one stored drawing each, and a different
    drawer's drawing of one of them (the same round gives the same task)."""
    from ..tasks.omniglot import DRAWERS, _raw

    if int(round_) != round_ or round_ < 0:
        raise ValueError(_("The round must be a whole number >= 0, got {round}.").format(round=round_))
    characters = _held_out_characters()
    if not 2 <= ways <= len(characters):
        raise ValueError(_("A quiz needs 2 to {most} classes, got {ways}.").format(most=len(characters), ways=ways))
    raw = _raw()
    rng = np.random.default_rng([QUIZ_SEED, int(round_)])
    chosen = rng.choice(characters, size=ways, replace=False)
    drawers = rng.integers(0, DRAWERS, size=ways)
    correct = int(rng.integers(ways))
    query_drawer = int((drawers[correct] + rng.integers(1, DRAWERS)) % DRAWERS)  # any drawer but the support's
    support = torch.from_numpy(raw.images[chosen, drawers].copy())
    query = torch.from_numpy(raw.images[chosen[correct], query_drawer].copy())
    names = tuple(raw.alphabet_names[a] if a >= 0 else None for a in raw.alphabet[chosen].tolist())
    return QuizTask(int(round_), support, query, correct, tuple(int(c) for c in chosen),
                    tuple(int(d) for d in drawers), query_drawer, names)


def _as_input(images: Tensor) -> Tensor:
    """Images in the data set's format (uint8, 255 = ink) → the model's input rows in [0, 1], float32."""
    images = torch.as_tensor(images)
    if images.dtype == torch.uint8:
        images = images.to(torch.float32) / 255.0
    return images.to(torch.float32).reshape(images.shape[0], -1)


def _adapt(checkpoint: "Checkpoint", x_support: Tensor, query: Tensor, steps: int | None) -> Answer:
    """The checkpoint's θ₀ adapted on ``x_support`` (one image per class, labels 0 … N−1) with its own α and
    algorithm for ``steps`` steps (default: its training k); the query's probabilities at every step."""
    from ..algorithms import get_algorithm
    from ..tasks import get_family

    started = time.perf_counter()
    cfg = checkpoint.config
    steps = cfg.k if steps is None else int(steps)
    if steps < 0:
        raise ValueError(_("Adaptation steps must be >= 0, got {steps}.").format(steps=steps))
    if cfg.family != "omniglot":
        raise ValueError(_("The quiz needs an Omniglot checkpoint, got one of {family}.").format(family=cfg.family))
    model = checkpoint.model
    ways = x_support.shape[0]
    if ways != cfg.ways:
        raise ValueError(_("The model was meta-trained for {trained}-way tasks; this task has {ways} classes.")
                         .format(trained=cfg.ways, ways=ways))
    family = get_family(cfg.family).configure(cfg)
    algorithm = get_algorithm(cfg.algorithm, cfg)
    meta = {k: v.detach().to("cpu", torch.float32) for k, v in checkpoint.meta_params.items()}
    labels = torch.arange(ways)
    batch = torch.cat([x_support, query.reshape(1, -1)])  # the query is normalised with the support (docstring)
    probabilities = []
    for params in algorithm.adapt_path(model, family, meta, x_support, labels, cfg.alpha, steps):
        with torch.no_grad():
            probs = model.forward(params, batch)[-1].softmax(dim=-1)
        probabilities.append(tuple(float(p) for p in probs))
    return Answer(tuple(probabilities), time.perf_counter() - started)


def answer(checkpoint: "Checkpoint", task: QuizTask, steps: int | None = None) -> Answer:
    """The meta-learned model's answer to ``task``'s query: probabilities from θ₀ alone and after each of
    ``steps`` adaptation steps on the support set (default: the checkpoint's k), float32 on the CPU."""
    return _adapt(checkpoint, _as_input(task.support), _as_input(task.query.unsqueeze(0)), steps)


def adapt_to_drawings(checkpoint: "Checkpoint", support_images: Sequence[Tensor], query_image: Tensor,
                      steps: int | None = None) -> Answer:
    """``answer`` for drawn symbols: ``support_images`` one per class and ``query_image``, each as
    ``drawing_to_image`` returns it (28×28 uint8, 255 = ink)."""
    images = [torch.as_tensor(im) for im in (*support_images, query_image)]
    for im in images:
        if tuple(im.shape) != (SIDE, SIDE):
            raise ValueError(_("Each drawing must be a {side}×{side} image, got shape {shape}.")
                             .format(side=SIDE, shape=tuple(im.shape)))
    stacked = _as_input(torch.stack(images))
    return _adapt(checkpoint, stacked[:-1], stacked[-1:], steps)


def drawing_to_image(rgba: np.ndarray | None) -> Tensor:
    """A canvas drawing (dark strokes on a white or transparent background; ``[H, W, 4]`` RGBA or ``[H, W, 3]``,
    uint8 or floats in [0, 1]) as a stored character: ``[28, 28]`` uint8, 255 = ink. The strokes' bounding box
    is cropped, padded to a square, scaled so that its side is ``BOX`` pixels and centred, by area averaging
    (as the data set's 105×105 drawings were reduced). A missing or blank drawing raises ``ValueError``."""
    if rgba is None:
        raise ValueError(_("Nothing is drawn yet: draw a symbol first."))
    a = np.asarray(rgba)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or min(a.shape[:2]) < 2:
        raise ValueError(_("A drawing must be an image of shape height × width × 4 (RGBA), got {shape}.")
                         .format(shape=a.shape))
    a = a.astype(np.float32) / (255.0 if np.issubdtype(a.dtype, np.integer) else 1.0)
    lightness = a[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    opacity = a[..., 3] if a.shape[2] == 4 else 1.0
    ink = np.clip(opacity * (1.0 - lightness), 0.0, 1.0)  # transparent or white: no ink; opaque black: 1
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    if rows.size == 0:
        raise ValueError(_("The drawing is blank: draw a symbol first."))
    ink = ink[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
    h, w = ink.shape
    side = max(h, w)
    frame = max(int(round(side * SIDE / BOX)), side + 2)  # the square the 28×28 image covers
    square = np.zeros((frame, frame), dtype=np.float32)
    top, left = (frame - h) // 2, (frame - w) // 2
    square[top: top + h, left: left + w] = ink
    x = torch.from_numpy(square)[None, None]
    if frame >= SIDE:
        x = torch.nn.functional.interpolate(x, size=(SIDE, SIDE), mode="area")
    else:  # a drawing smaller than the frame: enlarged smoothly
        x = torch.nn.functional.interpolate(x, size=(SIDE, SIDE), mode="bilinear", align_corners=False)
    return (x[0, 0] * 255.0).round().clamp(0, 255).to(torch.uint8)
