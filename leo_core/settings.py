"""Every training setting declared once: its range, default, label, help, CLI flag and link membership.

The Train page's widgets (``leo_app.widgets``), the URL schema (``leo_app.url_state``) and the
command line (``leo_core.cli``) are all generated from ``TRAIN_SETTINGS``; ``TrainConfig`` still
validates the values. The default of each setting is ``TrainConfig``'s; the CLI and the app then
start from the recommended settings of the chosen family and algorithm (``leo_core.recommended``).

A setting's range (``low``/``high``/``stops``) is what a slider and a link may hold; the CLI checks
only what ``TrainConfig`` checks, so a script may go beyond a slider's range.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .algorithms import ALGORITHMS, get_algorithm
from .config import (BETA_SCHEDULES, IMAML_ADAPT, META_SGD_INITS, MODEL_CHOICES, OUTER_LOSSES, OUTER_OPTIMIZERS,
                     TrainConfig)
from .device import DEVICE_CHOICES
from .i18n import N_
from .tasks import TASK_FAMILIES, get_family

__all__ = ["Setting", "TRAIN_SETTINGS", "SETTINGS", "ALPHAS", "BETAS", "checked"]

# Log-scale slider stops for the step sizes (every recommended value lies on one; a test checks it).
ALPHAS = (1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0)
BETAS = (1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
_DEFAULTS = TrainConfig()


_TRAIN_FIELD = object()  # a Setting's ``value`` when its default is TrainConfig's


@dataclass(frozen=True)
class Setting:
    """One setting as a user sets it: a ``TrainConfig`` field (the Train page, ``train``'s flags), or a page's
    own setting with its default in ``value`` (``leo_core.page_settings``).

    The kind of widget follows from the declaration: ``choices`` → a select box (``radio`` for a
    few short ones, ``multi`` for several at once), ``stops`` → a log-scale select slider, a bool →
    a toggle, ``text`` → a text box, a number with a small range → a slider, else a number input.
    """

    name: str  # the URL key and the widget key (for a TrainConfig setting, also its field)
    label: str
    help: str
    low: float | None = None
    high: float | None = None
    stops: tuple[float, ...] | None = None
    choices: tuple[Any, ...] | None = None
    radio: bool = False  # show choices as a horizontal radio (few, short options)
    words: bool = False  # the choices are words, shown in the reader's language (their link values stay as they are)
    advanced: bool = False  # folded into the page's "Advanced settings"
    algorithms: tuple[str, ...] = ()  # shown only for these algorithms (their own knobs); () = always
    not_for: tuple[str, ...] = ()  # hidden for these algorithms (they do not use it)
    classification_only: bool = False  # shown only for classification families
    families: tuple[str, ...] = ()  # shown only for these families (a choice only they offer); () = all
    in_link: bool = True  # part of the page's URL
    on_cli: bool = True
    parse: Callable[[str], Any] | None = None  # the CLI's parser when not the default's type
    cli_aliases: tuple[str, ...] = ()  # older flag names that scripts still use
    value: Any = _TRAIN_FIELD  # a page setting's default (a TrainConfig setting's is TrainConfig's)
    multi: bool = False  # several of ``choices`` (a multiselect; comma-separated in a link)
    text: int = 0  # free text of at most this many characters (a text box)
    lines: bool = False  # text over several lines (a text area)
    step: float | None = None  # a slider's or number box's step
    field: str | None = None  # the config field or CLI flag it sets, when not its name (eval_steps → steps)

    @property
    def default(self) -> Any:
        return getattr(_DEFAULTS, self.name) if self.value is _TRAIN_FIELD else self.value

    @property
    def kind(self) -> type:
        return type(self.default)

    @property
    def flag(self) -> str:
        return "--" + (self.field or self.name).replace("_", "-")

    def shown_for(self, algorithm: str, family: str) -> bool:
        classification = TASK_FAMILIES[family].is_classification
        return ((not self.algorithms or algorithm in self.algorithms) and algorithm not in self.not_for
                and (classification or not self.classification_only)
                and (not self.families or family in self.families))

    def allows(self, value: Any) -> bool:
        """Whether a slider or a link can hold ``value`` (the recommended table is checked with it)."""
        if self.multi:
            return all(v in self.choices for v in value)
        if self.text:
            return isinstance(value, str) and len(value) <= self.text
        if self.choices is not None:
            return value in self.choices
        if self.stops is not None:
            return any(abs(value - s) <= 1e-9 * max(abs(s), 1.0) for s in self.stops)
        if self.kind is bool:
            return isinstance(value, bool)
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


def _hidden(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(h) for h in text.split(","))
    except ValueError:
        raise ValueError(f"expected comma-separated widths like 40,40, got {text!r}") from None


TRAIN_SETTINGS: tuple[Setting, ...] = (
    Setting("family", N_("Task family"), N_("The distribution of tasks to meta-learn over: small regression problems, "
            "or N-way K-shot classification (2-D points, handwritten digits, Omniglot characters)."),
            choices=tuple(TASK_FAMILIES)),
    Setting("algorithm", N_("Algorithm"), N_("leo: the source document's algorithm (MAML), differentiating through the "
            "inner steps; leo-fo: its first-order approximation; the others for comparison, and two baselines."),
            choices=tuple(ALGORITHMS)),
    Setting("ways", N_("Ways (classes per task)"), N_("N in N-way K-shot classification: classes per task; shots are per "
            "class. Regression ignores it."), low=2, high=20, classification_only=True),
    Setting("alpha", N_("Inner step size α"), N_("Step size of the k adaptation steps θ ← θ − α∇L. Too large and "
            "adaptation overshoots or diverges."), stops=ALPHAS),
    Setting("beta", N_("Outer step size β"), N_("Step size of the meta-update of θ₀ (Adam's learning rate, or plain "
            "SGD's)."), stops=BETAS),
    Setting("k", N_("Inner steps k"), N_("Gradient steps each task takes from θ₀ during meta-training. Cost grows "
            "linearly with k."), low=0, high=10, not_for=("imaml",)),
    Setting("shots", N_("Shots (support examples per task)"), N_("How many labelled examples a task gives for "
            "adaptation; per class for classification."), low=1, high=50),
    Setting("outer_loss", N_("Outer loss on"), N_("query: J_i scores the adapted model on held-out data (standard). "
            "support: the source document's literal variant, scored on the data it adapted on — it rewards "
            "memorising."), choices=OUTER_LOSSES, radio=True),
    Setting("first_order", N_("First-order approximation"), N_("Drop the second-order (Hessian) terms of the "
            "meta-gradient: cheaper, usually close."), not_for=("imaml",)),
    Setting("iterations", N_("Iterations"), N_("Meta-iterations (outer updates) of the run."), low=1, high=1_000_000,
            step=500),
    Setting("query", N_("Query examples per task"), N_("Held-out examples per task on which the adapted model is "
            "scored (the outer loss); per class for classification."), low=1, high=100, advanced=True),
    Setting("meta_batch", N_("Meta-batch (tasks per iteration)"), N_("Tasks averaged in each meta-gradient: more is "
            "smoother but slower per iteration."), low=1, high=100, advanced=True),
    Setting("seed", N_("Seed"), N_("Same seed and device give the same run, curve for curve."), low=0, high=2**31 - 1,
            advanced=True),
    Setting("device", N_("Device"), N_("auto picks a CUDA GPU, then Apple MPS, then the CPU."), choices=DEVICE_CHOICES,
            words=True, advanced=True),
    Setting("outer_optimizer", N_("Outer optimizer"), N_("adam: the standard choice (MAML's default), step β. sgd: the "
            "document's plain θ₀ ← θ₀ − β∇J."), choices=OUTER_OPTIMIZERS, radio=True, advanced=True,
            cli_aliases=("--optimizer",)),
    Setting("beta_schedule", N_("Outer step schedule"), N_("constant: β throughout. linear: β annealed linearly to 0 over "
            "the iterations (Reptile's ε in Nichol et al.)."), choices=BETA_SCHEDULES, radio=True, words=True,
            advanced=True),
    Setting("meta_sgd_init", N_("Meta-SGD: initial steps"), N_("random: each parameter's step uniform in [0.005, 0.1] "
            "(Li et al.); alpha: all equal to α, so Meta-SGD starts out as LEO."), choices=META_SGD_INITS, radio=True,
            words=True, algorithms=("meta-sgd",), advanced=True),
    Setting("meta_sgd_step_lr", N_("Meta-SGD: steps' learning rate (× β)"), N_("How fast the learned steps move "
            "compared with θ₀ (under Adam). 1: the paper's one learning rate; smaller keeps the steps from "
            "growing past what many inner steps tolerate."), stops=(0.03, 0.1, 0.3, 1.0), algorithms=("meta-sgd",),
            advanced=True),
    Setting("imaml_lambda", N_("iMAML: proximal strength λ"), N_("How strongly the inner problem keeps φ near θ₀: "
            "large → φ stays close (≈ first order)."), low=0.01, high=100.0, algorithms=("imaml",), advanced=True),
    Setting("cg_steps", N_("iMAML: conjugate-gradient steps"), N_("Iterations of conjugate gradient for "
            "(I + H/λ)⁻¹v; one Hessian-vector product each."), low=1, high=50, algorithms=("imaml",), advanced=True),
    Setting("imaml_tol", N_("iMAML: inner tolerance"), N_("The proximal solve of each task stops at "
            "‖∇G(φ)‖/‖∇G(θ₀)‖ ≤ this (or after the step cap)."), low=1e-6, high=1.0, algorithms=("imaml",),
            advanced=True),
    Setting("imaml_max_steps", N_("iMAML: inner step cap"), N_("At most this many gradient steps on the proximal "
            "problem per meta-iteration (each no larger than 1/(λ_max + λ))."), low=1, high=200,
            algorithms=("imaml",), advanced=True),
    Setting("imaml_adapt", N_("iMAML: adaptation at meta-test"), N_("proximal: the proximal solve iMAML trains through "
            "(its iterates are the steps); sgd: plain SGD with α like the others."), choices=IMAML_ADAPT, radio=True,
            words=True, algorithms=("imaml",), advanced=True),
    Setting("latent_lr", N_("leo-latent: initial latent step"), N_("Starting size of the learned per-dimension step "
            "in the latent space: too small and the latent steps do nothing, too large and they overshoot."),
            low=1e-3, high=10.0, algorithms=("leo-latent",), advanced=True),
    Setting("latent_kl", N_("leo-latent: KL weight β"), N_("Weight of KL(q(z|D) ‖ N(0, I)) in the outer loss: larger "
            "gives a smoother, less informative latent space."), low=0.0, high=1.0, algorithms=("leo-latent",),
            advanced=True),
    Setting("latent_encoder_penalty", N_("leo-latent: encoder penalty γ"), N_("Weight of ‖stopgrad(z′) − z‖², which pulls "
            "the encoder's code towards the adapted one."), low=0.0, high=1.0, algorithms=("leo-latent",),
            advanced=True),
    Setting("latent_orthogonality", N_("leo-latent: decoder orthogonality λ"), N_("Weight of ‖C − I‖² on the decoder's "
            "correlation matrix: keeps its latent directions uncorrelated."), low=0.0, high=1.0,
            algorithms=("leo-latent",), advanced=True),
    Setting("model", N_("Network"), N_("auto: the family's own network (an MLP; the linear model; Omniglot's conv net). "
            "Omniglot offers conv4 (the MAML paper's four conv blocks) and mlp (its network without convolutions)."),
            choices=MODEL_CHOICES, words=True, advanced=True, families=("omniglot",)),
    Setting("hidden", N_("MLP hidden widths"), N_("Hidden layer widths of the MLP, e.g. 40,40 (ignored by the linear "
            "model and by Omniglot's networks, which are the MAML paper's)."), in_link=False, parse=_hidden),
    Setting("cuda_graph", N_("CUDA graph"), N_("CUDA only: replay each meta-iteration as one captured CUDA graph (the "
            "eager path is the fallback and the reference)."), in_link=False),
    Setting("dtype", N_("Floating point"), N_("float32, or float64 for exact comparisons."), choices=("float32", "float64"),
            in_link=False),
)

SETTINGS: Mapping[str, Setting] = MappingProxyType({s.name: s for s in TRAIN_SETTINGS})

_unknown = [s.name for s in TRAIN_SETTINGS if s.name not in {f.name for f in fields(TrainConfig)}]
if _unknown:  # a declaration that names no TrainConfig field is a bug, caught at import
    raise RuntimeError(f"settings without a TrainConfig field: {_unknown}")


def checked(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` once its family and algorithm are registered and the family accepts it (the number of
    ways against the family's classes, the model, shots and query against its examples per class); a
    clear ``ValueError`` otherwise."""
    family = get_family(cfg.family).configure(cfg)
    family.model(cfg.model)
    family.check_sizes(cfg.shots, cfg.query)
    get_algorithm(cfg.algorithm)
    return cfg
