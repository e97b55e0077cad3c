"""Omniglot (Lake et al. 2015): N-way K-shot classification of handwritten characters.

The data is the background set of Omniglot (964 characters of 30 alphabets, 20 drawers each),
reduced to 28×28 and shipped inside the project (``leo_core/data/omniglot.npz``, MIT licence; see
``leo_core/data/README.md`` for its provenance and ``build_omniglot.py`` to rebuild it). No network
is needed.

Classes are characters × the four 90° rotations (Santoro et al. 2016, Finn et al. 2017): 3,856
classes. The split is by whole alphabets and fixed: the 8 alphabets whose characters the data names
(Balinese, Early Aramaic, Greek, Japanese katakana, Korean, Latin, Sanskrit, Tagalog: 242 characters,
968 classes) are the meta-test split, never seen in meta-training; the other 722 characters (2,888
classes, 22 alphabets) are meta-training. All four rotations of a character are in the same split.
The papers' split differs (1,200 characters of background and evaluation alphabets for training,
423 for testing): the evaluation set is not part of the data here.

A task picks N classes of its split, K + Q drawers of each at random (support and query), and
shuffles the labels per task. ``task_params["classes"] [T, N]`` holds each label's class id
(``4 · character + rotation``); ``class_info`` turns one into its character, rotation and alphabet.

Lake et al.'s 20 one-shot runs (20-way, within one evaluation alphabet each) are kept as they are:
``one_shot_runs`` returns them as a batch of 20 tasks (support: the 20 training images, one per
class; query: the 20 test items).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..i18n import N_, _
from ..models import MLP, Conv4, Model
from .base import TaskBatch, check_split
from .classification import ClassificationFamily

__all__ = ["OmniglotFamily", "OMNIGLOT", "omniglot_data", "class_info", "one_shot_runs", "DATA_FILE", "SIDE",
           "ROTATIONS"]

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "omniglot.npz"
SIDE = 28
ROTATIONS = (0, 90, 180, 270)
DRAWERS = 20
FC_HIDDEN = (256, 128, 64, 64)  # Finn et al.'s Omniglot network without convolutions


@dataclass(frozen=True)
class _Raw:
    images: np.ndarray  # [964, 20, 28, 28] uint8 ink
    alphabet: np.ndarray  # [964] index into alphabet_names, -1 where unnamed
    alphabet_names: tuple[str, ...]
    runs_train: np.ndarray
    runs_test: np.ndarray
    runs_answer: np.ndarray


@functools.lru_cache(maxsize=1)
def _raw() -> _Raw:
    if not DATA_FILE.exists():
        raise ValueError(f"the Omniglot data file {DATA_FILE} is missing (rebuild it with "
                         "python -m leo_core.data.build_omniglot; see leo_core/data/README.md)")
    with np.load(DATA_FILE) as d:
        return _Raw(d["images"], d["alphabet"], tuple(json.loads(str(d["alphabet_names"]))), d["runs_train"],
                    d["runs_test"], d["runs_answer"])


@functools.lru_cache(maxsize=1)
def _rotated_cpu() -> Tensor:
    """``[964 · 4, 20, 784]`` uint8: class ``4c + r`` is character c turned by ``ROTATIONS[r]`` (anticlockwise)."""
    images = torch.from_numpy(_raw().images)  # [C, 20, 28, 28]
    turned = torch.stack([torch.rot90(images, r, dims=(2, 3)) for r in range(len(ROTATIONS))], dim=1)
    return turned.reshape(-1, DRAWERS, SIDE * SIDE).contiguous()


@functools.lru_cache(maxsize=4)
def omniglot_data(device: torch.device) -> Tensor:
    """The rotated classes on ``device`` (uint8, one copy per device): 60 MB."""
    return _rotated_cpu().to(device)


def class_info(class_id: int) -> dict[str, Any]:
    """What a class id means: its character's number in the background set (1-964), the rotation in
    degrees, and the alphabet's name (None where the data does not name it)."""
    raw = _raw()
    character, rotation = divmod(int(class_id), len(ROTATIONS))
    a = int(raw.alphabet[character])
    return {"character": character + 1, "rotation": ROTATIONS[rotation],
            "alphabet": raw.alphabet_names[a] if a >= 0 else None}


@functools.lru_cache(maxsize=1)
def _split_classes() -> dict[str, Tensor]:
    named = torch.from_numpy(_raw().alphabet.astype(np.int64)) >= 0  # [964]: the held-out alphabets
    per_class = named.repeat_interleave(len(ROTATIONS))
    ids = torch.arange(per_class.numel())
    return {"train": ids[~per_class], "test": ids[per_class]}


def _as_input(pixels: Tensor, dtype: torch.dtype) -> Tensor:
    """uint8 ink → the model's input in [0, 1] (1 = ink)."""
    return pixels.to(dtype) / 255.0


@dataclass(frozen=True)
class OmniglotFamily(ClassificationFamily):
    """N-way K-shot Omniglot; the default model is the MAML paper's conv net (``Conv4``)."""

    input_dim: int = SIDE * SIDE
    side: int = SIDE  # images are side × side
    items: str = N_("characters")  # what one image shows, in the app's words
    eval_query: int = 15  # query images per class at meta-test; K + Q must leave room in 20 drawers
    eval_chunk: int = 25  # a conv net's activations: 25 tasks of 80 images stay under a few hundred MB

    def class_name(self, class_id: int) -> str:
        """E.g. "Greek character 0394, 90°" (a held-out alphabet) or "character 0017, 0°"."""
        info = class_info(class_id)
        where = f"{info['alphabet'].replace('_', ' ')} " if info["alphabet"] else ""
        return _("{alphabet}character {number}, {rotation}°").format(alphabet=where, number=f"{info['character']:04d}",
                                                                      rotation=info["rotation"])

    def max_ways(self) -> int:
        return min(len(self.split_classes("train")), len(self.split_classes("test")))

    def split_classes(self, split: str) -> Tensor:
        """The class ids of a split (``4 · character + rotation``), ascending."""
        check_split(split)
        return _split_classes()[split]

    def default_model(self) -> Model:
        return Conv4(out=self.ways, side=SIDE)

    def model(self, name: str) -> Model:
        """``conv4`` (the default) or ``mlp``: Finn et al.'s network without convolutions (784-256-128-64-64-N
        with batch norm)."""
        if name in ("auto", "conv4"):
            return self.default_model()
        if name == "mlp":
            return MLP(sizes=(self.input_dim, *FC_HIDDEN, self.ways), batch_norm=True)
        raise ValueError(f"unknown model {name!r} for omniglot; choose conv4 or mlp")

    def train_defaults(self) -> dict[str, object]:
        """One query image per class in meta-training, as Finn et al. (query = shots = 1 for 1-shot): a
        conv net's cost grows with every image, and ten query images per class cost ~5× as much."""
        return {"query": 1}

    def check_sizes(self, shots: int, query: int) -> None:
        if shots + query > DRAWERS:
            raise ValueError(_("shots + query per class must be <= {limit} for omniglot (each character has {limit} "
                               "drawers; got {shots} + {query})").format(limit=DRAWERS, shots=shots, query=query))

    def n_classes(self) -> int:
        return len(ROTATIONS) * len(_raw().images)

    def sample(
        self, n_tasks: int, shots: int, query: int, generator: torch.Generator,
        device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, split: str = "train",
    ) -> TaskBatch:
        self._check(n_tasks, shots, query, split)
        self.check_sizes(shots, query)
        device = torch.device(device)
        data = omniglot_data(device)
        pool = self.split_classes(split).to(device)
        # A random order of the split's classes per task: its first N are the task's classes and the
        # position is the label, so labels are permuted per task.
        order = torch.rand(n_tasks, pool.numel(), generator=generator, device=device).argsort(dim=-1)
        classes = pool[order[:, : self.ways]]  # [T, N]
        rows = torch.rand(n_tasks, self.ways, DRAWERS, generator=generator, device=device).argsort(dim=-1)
        x = _as_input(data[classes.unsqueeze(-1), rows[..., : shots + query]], dtype)  # [T, N, K+Q, 784]
        return self._batch(x, shots, {"classes": classes})


def one_shot_runs(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> TaskBatch:
    """Lake et al.'s 20 one-shot runs as 20 tasks of 20 ways: support = the run's 20 training images
    (label i for ``classNN``, NN = i + 1), query = its 20 test items with their answers."""
    raw = _raw()
    train = torch.from_numpy(raw.runs_train).reshape(20, 20, SIDE * SIDE)
    test = torch.from_numpy(raw.runs_test).reshape(20, 20, SIDE * SIDE)
    labels = torch.arange(20).expand(20, 20).contiguous()
    return TaskBatch(_as_input(train, dtype), labels, _as_input(test, dtype),
                     torch.from_numpy(raw.runs_answer.astype(np.int64)), {}).to(device)


OMNIGLOT = OmniglotFamily(
    name="omniglot",
    title=N_("Omniglot characters"),
    description=N_("Handwritten characters of 30 alphabets (Lake et al. 2015; 20 drawers each), 28×28, each of 4 "
    "rotations a class; "
    "8 whole alphabets (242 characters) are held out for meta-test. Labels are shuffled per task."),
)
