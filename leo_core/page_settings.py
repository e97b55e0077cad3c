"""Every page setting declared once: the Adaptation, Landscape, Compare and Theory pages' own settings.

As ``leo_core.settings`` does for training, each ``Setting`` here holds a setting's label, help, range
or options and default (``value``); the pages' widgets (``leo_app.widgets.setting_widget``), their URL
fields (``leo_app.url_state``) and, for the evaluation settings, the CLI's ``evaluate`` flags are made
from it. The name is the widget's key and the URL key. A page may draw a widget with a default that
depends on the run (Landscape's k starts at the run's k); the declared ``value`` is what a page without
a run uses.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from .algorithms import ALGORITHMS
from .i18n import N_, Message
from .config import EvalConfig, TrainConfig
from .settings import ALPHAS, Setting
from .tasks import TASK_FAMILIES
from .views.comparison import BASELINES
from .views.landscape import DIRECTIONS, SURFACES
from .views.meta_gradients import arrow_keys

__all__ = ["EVAL_SETTINGS", "RACE_SETTINGS", "COMPARE_SETTINGS", "LANDSCAPE_SETTINGS", "ADAPTATION_SETTINGS",
           "TRAIN_VIEW_SETTINGS", "THEORY_SETTINGS", "PAGE_SETTINGS", "LANDSCAPE_ALPHAS", "TASK_SOURCES", "START_KEYS",
           "RACE_X", "CURVES", "PREVIEW_STEPS", "DEFAULT_POINTS", "race_override", "task_param", "task_param_key", "RECOMMENDED_CHOICE"]

_T = TrainConfig()
_E = EvalConfig()
LANDSCAPE_ALPHAS = (1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
CURVES = ("accuracy", "loss")  # Train: what the left chart shows for a classification family
PREVIEW_STEPS = ("k", "1", "5", "10")  # Train: inner steps in the live fit preview
TASK_SOURCES = ("sample", "params", "points")  # Adaptation: where the task comes from
START_KEYS = ("meta", "pretrained", "random")  # Adaptation: the starts a task can adapt from
DEFAULT_POINTS = "-2, -1.5\n-1, -0.2\n0, 0.4\n1, 1.9\n2, 3.1"  # Adaptation: typed support points
RACE_X = ("iterations", "seconds")  # Compare: the race chart's x axis (figures.race.X_AXES)
RECOMMENDED_CHOICE = "recommended"  # a race entry's α or k left at its recommended value
_FAMILIES = tuple(TASK_FAMILIES)
_MAX_LINK_TEXT = 200

TRAIN_VIEW_SETTINGS: tuple[Setting, ...] = (
    Setting("curve_metric", N_("Curve"), N_("Query accuracy (chance is 1/N) or the cross-entropy loss being minimised."),
            choices=CURVES, value=CURVES[0]),
    Setting("preview_steps", N_("Adaptation steps shown"), N_("Inner steps taken from θ₀ on each task's support points in "
            "this panel: k as trained, or more (meta-test often uses more steps than training did)."),
            choices=PREVIEW_STEPS, value=PREVIEW_STEPS[0]),
)

# The evaluation of trained runs on seeded test tasks (Compare; ``evaluate``'s --steps and --seed).
EVAL_SETTINGS: tuple[Setting, ...] = (
    Setting("eval_tasks", N_("Test tasks"), N_("More tasks: narrower 95% intervals, slower."), stops=(50, 100, 200, 400, 600),
            value=100, field="tasks"),
    Setting("eval_steps", N_("Adaptation steps"), N_("Inner steps from each θ₀ on a test task's support set; losses after "
            "0…steps."), low=1, high=20, value=_E.steps, field="steps"),
    Setting("eval_shots", N_("Shots (second chart)"), N_("Support sizes the second chart adapts with."),
            choices=(1, 2, 5, 10, 20), value=(1, 5, 10), multi=True, field="shots"),
    Setting("eval_seed", N_("Test-task seed"), N_("Every run is evaluated on the tasks this seed draws (kept apart from "
            "training seeds so the test tasks are fresh)."), low=0, high=10**6, value=_E.seed, field="seed"),
)

RACE_SETTINGS: tuple[Setting, ...] = (
    Setting("race_family", N_("Task family"), N_("The family every entry meta-trains on."), choices=_FAMILIES,
            value=_T.family),
    Setting("race", N_("Entries (algorithms and baselines)"), N_("Each trains at its recommended settings for this family "
            "(change α or k below); all share the family, shots, meta-batch and seed, so they see the same tasks."),
            choices=tuple(ALGORITHMS), value=("leo", "reptile", "pretrained"), multi=True),
    Setting("race_iterations", N_("Meta-iterations"), N_("Meta-iterations of every entry."), low=10, high=20_000, value=1000,
            step=100),
    Setting("race_shots", N_("Shots"), N_("Support examples per task (per class for classification), shared."), low=1,
            high=50, value=_T.shots),
    Setting("race_meta_batch", N_("Meta-batch"), N_("Tasks per meta-iteration, shared."), low=1, high=200,
            value=_T.meta_batch),
    Setting("race_seed", N_("Seed (the task stream every entry sees)"), N_("Same seed: every entry sees the same "
            "meta-batches."), low=0, high=2**31 - 1, value=0),
    Setting("race_ways", N_("Ways (classification)"), N_("Classes per task, shared."), low=2, high=20, value=_T.ways),
    Setting("race_x", N_("x axis"), N_("Per-iteration costs differ (k, second order, iMAML's inner solve): against each "
            "entry's own training seconds the race shows which learns fastest per second."), choices=RACE_X,
            value=RACE_X[0]),
)
_RACE_ALPHAS = (RECOMMENDED_CHOICE, *(f"{a:g}" for a in ALPHAS))
_RACE_KS = (RECOMMENDED_CHOICE, *(str(k) for k in range(0, 11)))


def race_override(setting: str, algorithm: str) -> Setting:
    """One race entry's α or k override (its widget and link key ``race_alpha_leo_fo``)."""
    name = f"race_{setting}_{algorithm.replace('-', '_')}"
    label = f"{algorithm}: {'α' if setting == 'alpha' else 'k'}"
    return Setting(name, label, Message(N_("{algorithm}'s own {setting}; recommended: the table's value for the "
                                           "family."), algorithm=algorithm, setting=setting),
                   choices=_RACE_ALPHAS if setting == "alpha" else _RACE_KS, value=RECOMMENDED_CHOICE, words=True)


COMPARE_SETTINGS: tuple[Setting, ...] = (
    *EVAL_SETTINGS,
    *RACE_SETTINGS,
    *(race_override(s, a) for s in ("alpha", "k") for a in ALGORITHMS),
    Setting("baseline_kind", N_("Baseline"), N_("pretrained: one model trained jointly on all tasks (classification: Chen "
            "et al.'s Baseline, a classifier over all meta-training classes with a new head per task); random: no "
            "training at all. Each adapts with its own recommended α."), choices=BASELINES, value=BASELINES[0],
            radio=True, words=True),
    Setting("baseline_iterations", N_("Baseline meta-iterations"), N_("random needs none: its meta-gradient is zero."),
            low=10, high=20_000, value=300, step=50),
    Setting("sweep_alphas", N_("α values"), N_("Comma-separated inner step sizes."), text=100, value="0.003, 0.01, 0.03"),
    Setting("sweep_ks", N_("k values"), N_("Comma-separated inner step counts."), text=100, value="1, 3, 5"),
    Setting("sweep_iterations", N_("Meta-iterations per cell"), N_("Each cell meta-trains this long."), low=10, high=5000,
            value=100, step=10),
)


def task_param_key(family: str, name: str) -> str:
    """The Adaptation page's slider (and query key) for one parameter of a regression family's task."""
    return f"adapt_param_{family}_{name}"


def task_param(family: str, name: str, lo: float, hi: float) -> Setting:
    """The Adaptation page's slider for one parameter of a regression family's task."""
    return Setting(task_param_key(family, name), Message(name), Message(N_("The task's {name}."), name=Message(name)),
                   low=float(lo), high=float(hi), value=round((lo + hi) / 2, 2), step=0.01)


# The regression families' task parameters, as their sliders name them (translated where shown).
TASK_PARAM_NAMES = (N_("amplitude"), N_("phase"), N_("intercept"), N_("slope"))
# The option values of the settings declared with ``words`` (and the Train page's curve choice), as the pages show
# them (their link values stay as they are).
OPTION_WORDS = (N_("recommended"), N_("pretrained"), N_("random"), N_("constant"), N_("linear"), N_("proximal"),
                N_("auto"), N_("accuracy"), N_("loss"))


ADAPTATION_SETTINGS: tuple[Setting, ...] = (
    Setting("adapt_family", N_("Task family (no trained run yet)"), N_("The family whose tasks adapt from a random "
            "initialization until a run is trained."), choices=_FAMILIES, value=_T.family),
    Setting("adapt_shots", N_("Shots (support points)"), N_("Support points the task adapts on (typed points: as many as "
            "typed)."), low=1, high=50, value=10),
    Setting("adapt_steps", N_("Adaptation steps"), N_("Inner gradient steps to show."), low=0, high=50, value=10),
    Setting("adapt_alpha", N_("Inner step size α"), N_("Step size of each adaptation step of the run's θ₀; a baseline "
            "beside it adapts with its own recommended α, shown in its legend."), stops=ALPHAS, value=0.01),
    Setting("adapt_source", N_("Task"), N_("Draw a task at random, set its parameters with sliders, or type its support "
            "points."), choices=TASK_SOURCES, value=TASK_SOURCES[0], radio=True),
    Setting("adapt_task_seed", N_("Task seed"), N_("Seeds the task (its parameters or classes) and where its support and "
            "query examples fall."), low=0, high=2**31 - 1, value=0),
    Setting("adapt_points", N_("Support points, one 'x, y' pair per line"), N_("No true function and no query set: the "
            "page shows the fit and the support loss."), text=_MAX_LINK_TEXT, lines=True, value=DEFAULT_POINTS),
    Setting("pretrain_iterations", N_("Iterations"), N_("Meta-iterations of the pretrained baseline."), low=50, high=5000,
            value=300, step=50),
    Setting("adapt_cls_shots", N_("Shots (examples per class)"), N_("K in N-way K-shot: support examples per class the "
            "task adapts on."), low=1, high=20, value=_T.shots),
    Setting("adapt_cls_start", N_("Predictions from"), N_("Which start's predictions the pictures show."),
            choices=START_KEYS, value=START_KEYS[0], radio=True),
    Setting("adapt_cls_query", N_("Query image"), N_("The query image whose per-label probabilities are drawn below, "
            "counted row by row in the pictures above."), low=0, high=20 * 19 - 1, value=0),
    *(task_param(name, p, lo, hi) for name, fam in TASK_FAMILIES.items()
      for p, (lo, hi) in getattr(fam, "param_ranges", {}).items()),
)

LANDSCAPE_SETTINGS: tuple[Setting, ...] = (
    Setting("land_family", N_("Task family (no trained run yet)"), N_("The family drawn around a random initialization "
            "until a run is trained."), choices=_FAMILIES, value=_T.family),
    Setting("land_tasks", N_("Tasks (for J and the paths)"), N_("Tasks drawn for the meta-objective, the average loss and "
            "the drawn paths."), low=1, high=10, value=5),
    Setting("land_shown", N_("Task shown in the first two panels"), N_("One of the tasks drawn."), low=1, high=10, value=1),
    Setting("land_seed", N_("Task seed"), N_("Seeds the tasks drawn."), low=0, high=2**31 - 1, value=0),
    Setting("land_k", N_("Inner steps k in J"), N_("J(θ) = mean over tasks of the query loss after k steps from θ. k = 0 "
            "is the plain average loss; watch J's minimum move away from the pretrained optimum as k grows."),
            low=0, high=20, value=1),
    Setting("land_alpha", N_("Inner step size α"), N_("Step size of the k steps in J and in the drawn paths."),
            stops=LANDSCAPE_ALPHAS, value=0.01),
    Setting("land_res_linear", N_("Grid resolution"), N_("Points per axis; the exact plane is cheap (a few ms per 1,000 "
            "points)."), low=11, high=101, value=61, step=2),
    Setting("land_dirs", N_("Directions"), N_("Random directions, each filter rescaled to its weights' norm (Li et al. "
            "2018), or the two directions in which the tasks' adaptation paths move most (the default: the paths "
            "then lie in the picture)."), choices=tuple(DIRECTIONS), value="pca"),
    Setting("land_surface", N_("Surface"), N_("The loss drawn over the slice."), choices=tuple(SURFACES), value="support"),
    Setting("land_res_net", N_("Grid resolution"), N_("Points per axis. 41 × 41 on the default MLP takes about a second on "
            "one CPU core."), low=11, high=61, value=31, step=2),
    Setting("land_3d", N_("3-D surface"), N_("Draw the slice as a rotatable 3-D surface beside the contours. It loads a "
            "larger plotting library (about 3 MB more) and needs WebGL in the browser."), value=False),
    Setting("land_steps", N_("Adaptation steps on the path"), N_("Inner steps drawn from θ₀ on each task."), low=1, high=30,
            value=10),
    Setting("land_k_net", N_("k in J"), N_("Inner steps in the meta-objective surface."), low=0, high=10, value=1),
    Setting("land_alpha_net", N_("Inner step size α"), N_("Step size of the drawn steps and of J's."),
            stops=LANDSCAPE_ALPHAS, value=0.01),
    Setting("land_span", N_("Half-width (random directions)"), N_("In units of the filter-normalised directions; the grid "
            "grows to include the path."), low=0.1, high=3.0, value=1.0, step=0.1),
    Setting("land_mg_algos", N_("Algorithms drawn"), N_("leo (second order) is the reference every cosine is measured "
            "against."), choices=arrow_keys(), value=arrow_keys(), multi=True),
    Setting("land_mg_frames", N_("Animation frames"), N_("Points along θ₀'s path where the arrows are computed (the "
            "slider's stops)."), low=2, high=60, value=30),
)

LECTURE_CHAPTERS = 8  # leo_app/lecture.py's chapters (tests/test_lecture.py checks the two agree)
LECTURE_SETTINGS: tuple[Setting, ...] = (
    Setting("ch", N_("Chapter"), N_("The lecture's chapter; ← and → move between chapters."), low=1,
            high=LECTURE_CHAPTERS, value=1),
)

THEORY_SETTINGS: tuple[Setting, ...] = (
    Setting("theory_family", N_("Family"), N_("The measured table's family."), choices=_FAMILIES, value=_T.family),
)

PAGE_SETTINGS: Mapping[str, Mapping[str, Setting]] = MappingProxyType({
    page: MappingProxyType({s.name: s for s in settings}) for page, settings in (
        ("train", TRAIN_VIEW_SETTINGS), ("adaptation", ADAPTATION_SETTINGS), ("landscape", LANDSCAPE_SETTINGS),
        ("compare", COMPARE_SETTINGS), ("theory", THEORY_SETTINGS), ("lecture", LECTURE_SETTINGS))
})
