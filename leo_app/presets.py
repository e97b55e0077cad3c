"""Lecture presets: named sets of Train-page settings, each with an optional small checkpoint.

A preset sets every training setting at once (the rest take ``TrainConfig``'s defaults), so a
lecturer can jump to a known scene. Where ``presets/<key>.pt`` exists (written by
``bench/make_presets.py``), the app loads it, so the first picture appears in seconds; press
Continue to train further, or Start to train from scratch with the same settings.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leo_core.checkpoint import Checkpoint, load_checkpoint
from leo_core.config import TrainConfig
from leo_core.i18n import N_, _

__all__ = ["Preset", "PRESETS", "PRESET_DIR", "preset_config", "preset_checkpoint", "load_preset"]

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"
# Iterations in Omniglot's checkpoints (command-line runs, packaged: see bench/make_presets.py).
OMNIGLOT_5WAY_ITERATIONS = 7638
OMNIGLOT_20WAY_ITERATIONS = 2441


@dataclass(frozen=True)
class Preset:
    title: str
    summary: str  # two lines for the lecturer: what to show and what to try next
    settings: dict[str, Any] = field(default_factory=dict)  # Train-page widget keys → values
    checkpoint_iterations: int = 0  # iterations trained into the shipped checkpoint (0: none shipped)
    # True: the checkpoint is a command-line run packaged by `bench/make_presets.py --from-run` (an hour or more
    # of training), not trained by make_presets.py itself.
    from_run: bool = False


PRESETS: dict[str, Preset] = {
    "maml-sinusoid": Preset(
        N_("MAML sinusoid (Finn et al. 2017)"),
        N_("Finn et al.'s regression setup: sinusoids A∈[0.1,5], φ∈[0,π]; 10 shots, one inner step of α = 0.01, "
        "meta-batch 25, Adam with β = 0.001. Watch θ₀ turn into a 'mean sine' that one step bends to each task."),
        dict(family="sinusoid", algorithm="leo", alpha=0.01, beta=0.001, k=1, shots=10, query=10, meta_batch=25,
             iterations=10_000),
        checkpoint_iterations=5000,
    ),
    "document-linear": Preset(
        N_("The source document's linear regression"),
        N_("f(x) = θ₀ + θ₁x with MSE and plain gradient descent on both levels, as the document writes it. "
        "Two parameters: open the Landscape page to see the whole loss plane, J's minimum and, with three inner "
        "steps of α = 0.2, where each algorithm's meta-step points as θ₀ walks there."),
        dict(family="linear", algorithm="leo", alpha=0.2, beta=0.01, k=3, shots=10, query=10, meta_batch=25,
             iterations=3000, outer_optimizer="sgd"),
        checkpoint_iterations=2000,
    ),
    "query-matters": Preset(
        N_("Why the query set matters"),
        N_("The document's literal variant: J is scored on the support points the task adapted on. With few shots "
        "this rewards memorising them. Train it, add it on Compare, then switch 'Outer loss on' to query set."),
        dict(family="sinusoid", algorithm="leo", alpha=0.01, beta=0.001, k=5, shots=5, query=10, meta_batch=25,
             iterations=8000, outer_loss="support"),
        checkpoint_iterations=6000,
    ),
    "query-objective": Preset(
        N_("Why the query set matters: the query objective"),
        N_("The same settings as 'Why the query set matters' with J scored on held-out query points, as the papers "
        "do: the Lecture's chapter on the objective sets the two side by side."),
        dict(family="sinusoid", algorithm="leo", alpha=0.01, beta=0.001, k=5, shots=5, query=10, meta_batch=25,
             iterations=8000, outer_loss="query"),
        checkpoint_iterations=6000,
    ),
    "first-vs-second-order": Preset(
        N_("First order vs second order"),
        N_("Five inner steps with the first-order approximation (no Hessian terms): cheaper per iteration. "
        "Note its it/s and curve, then turn the toggle off and press Start to see the exact meta-gradient."),
        dict(family="sinusoid", algorithm="leo", alpha=0.01, beta=0.001, k=5, shots=10, query=10, meta_batch=25,
             iterations=3000, first_order=True),
        checkpoint_iterations=800,
    ),
    "maml-omniglot": Preset(
        N_("MAML on Omniglot, 5-way 1-shot (Finn et al. 2017)"),
        N_("The field's benchmark: handwritten characters, the paper's conv net, one inner step of α = 0.4. The "
        "characters shown are from alphabets never seen in meta-training; open Adaptation to watch one task adapt."),
        dict(family="omniglot", algorithm="leo", alpha=0.4, beta=0.001, k=1, shots=1, query=1, meta_batch=16, ways=5,
             iterations=20_000),
        checkpoint_iterations=OMNIGLOT_5WAY_ITERATIONS, from_run=True,
    ),
    "maml-omniglot-20way": Preset(
        N_("MAML on Omniglot, 20-way 1-shot"),
        N_("Twenty new characters from one example each; meta-batch 8 to fit a CPU. Its checkpoint is the one the "
        "command line scores on Lake et al.'s 20 one-shot runs (evaluate --one-shot-runs)."),
        dict(family="omniglot", algorithm="leo", alpha=0.4, beta=0.001, k=1, shots=1, query=1, meta_batch=8, ways=20,
             iterations=20_000),
        checkpoint_iterations=OMNIGLOT_20WAY_ITERATIONS, from_run=True,
    ),
}


def preset_config(key: str, **overrides: Any) -> TrainConfig:
    """The ``TrainConfig`` a preset describes (``overrides`` e.g. the device or iterations)."""
    return TrainConfig(**{**PRESETS[key].settings, **overrides})


def preset_checkpoint(key: str) -> Path | None:
    """The shipped checkpoint of a preset, if there is one."""
    path = PRESET_DIR / f"{key}.pt"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=len(PRESETS))
def load_preset(key: str) -> Checkpoint:
    """Preset ``key``'s shipped checkpoint, loaded once per process and shared (read it, never change it);
    ValueError (in the reader's language) where none is shipped."""
    path = preset_checkpoint(key)
    if path is None:
        raise ValueError(_("The preset {key} has no checkpoint in this installation.").format(key=key))
    return load_checkpoint(path)
