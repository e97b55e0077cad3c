"""Adaptation page: one task adapted step by step from the meta-learned θ₀ and from the baselines.

Widgets → task and settings → ``leo_core.views.adaptation`` (cached) → ``figures.adaptation``.
The fit animation carries one plotly frame per step, so its slider and play button run in the
browser. Classification families (``leo_core.adaptation_classification``): a meta-test task's decision
regions after every step (2-D points, animated the same way) or its query predictions at a few steps
(digits), with accuracy and cross-entropy per step. The pretrained baseline can be trained here
briefly, as a background job of the session (``leo_app.background``: progress, ETA, stop, queued
under the server's job slots; never in this script); it is kept in session state per settings
(``PRETRAINED_KEY``) and the Landscape page can use it too.
"""

from __future__ import annotations

import traceback
from dataclasses import replace

import streamlit as st
import torch

from leo_app import state as app_state
from leo_app.background import JobSnapshot, train_work
from leo_core.views import adaptation as ad
from leo_core.views import adaptation_classification as ac
from leo_core.views import comparison as cmp
from figures.adaptation_classification import regions_animation_figure, step_accuracy_figure
from figures.adaptation import fit_animation_figure, parameter_path_figure, step_loss_figure
from figures.classification import class_probabilities_figure, digit_predictions_figure
from leo_core.views.classification_preview import preview_kind
from leo_core.losses import LOSSES
from leo_core.config import TrainConfig
from leo_core.tasks import TASK_FAMILIES
from leo_core.train import make_family, make_model
from leo_app.url_state import ALPHAS, DEFAULT_POINTS, PRETRAIN_ITERATIONS, TASK_SOURCES, task_param_key

PRETRAINED_KEY = "_leo_pretrained"  # {the baseline's TrainConfig: its θ₀}
SOURCES = dict(zip(TASK_SOURCES, ("sample one (seed)", "set its parameters", "type support points")))
MAX_STEPS = 50
MAX_PRETRAINED = 8  # pretrained baselines kept per session (one per settings)


def pretrained_key(cfg: TrainConfig, iterations: int) -> TrainConfig:
    """The pretrained baseline's own config for this run's problem: what it trains with, so its cache key."""
    return cmp.baseline_config(cfg, "pretrained", iterations)


def context() -> tuple[TrainConfig, list[ad.Start], str | None]:
    """The session's run (config and meta-learned start), or a fresh config for a chosen family."""
    snap = st.session_state.get(app_state.RUN_KEY)
    if snap is not None and snap.meta_params is not None and snap.config is not None:
        cfg = snap.config
        label = {"pretrained": "pretrained θ₀ (this run)", "random": "random θ₀ (this run)"}.get(
            cfg.algorithm, f"meta-learned θ₀ ({cfg.algorithm})")
        return cfg, [ad.Start("meta", label, snap.algorithm, snap.meta_params)], None
    family = st.selectbox("Task family (no trained run yet)", list(TASK_FAMILIES), key="adapt_family",
                          index=list(TASK_FAMILIES).index(st.session_state.get("family", "sinusoid")),
                          format_func=lambda k: TASK_FAMILIES[k].title)
    note = ("No trained run in this session yet: train one on the **Train** page to see a meta-learned θ₀. "
            "Until then this page adapts from a random initialization, and from the pretrained baseline if you "
            "train it below.")
    return TrainConfig(family=family, device="cpu"), [], note


def _steps_and_alpha(cfg: TrainConfig, mid, right) -> tuple[int, float]:
    """The adaptation steps and α sliders (in the page's middle and right columns)."""
    steps = mid.slider("Adaptation steps", 0, MAX_STEPS, 10, key="adapt_steps",
                       help="Inner gradient steps to show (training used k = %d)." % cfg.k)
    alpha = right.select_slider(
        "Inner step size α", ALPHAS, value=cfg.alpha if cfg.alpha in ALPHAS else 0.01, key="adapt_alpha",
        format_func=lambda v: f"{v:g}",
        help="Step size of each adaptation step of the run's θ₀ (training used α = %g); a baseline beside it "
             "adapts with its own recommended α, shown in its legend." % cfg.alpha)
    return int(steps), float(alpha)


def baseline_starts(cfg: TrainConfig, model, have: list[ad.Start]) -> list[ad.Start]:
    """The pretrained baseline (if trained for these settings) and a random init, unless the run is one.

    Beside a run, each baseline adapts with its own recommended α for the family (as in the table and on Compare):
    at the meta-learner's α, Chen et al.'s Baseline on digits reaches 0.61 instead of 0.80 after 10 steps.
    """
    starts = []
    iterations = int(st.session_state.get("pretrain_iterations", PRETRAIN_ITERATIONS))
    key = pretrained_key(cfg, iterations)
    cached = st.session_state.get(PRETRAINED_KEY, {}).get(key)
    if cached is not None and cfg.algorithm != "pretrained":
        from leo_core.algorithms import get_algorithm

        alpha = key.alpha
        starts.append(ad.Start("pretrained", f"pretrained ({iterations} it, α {alpha:g})",
                               get_algorithm("pretrained"), cached, alpha))
    if not have:  # no run: the random init is the page's subject, adapted with the page's α
        starts.append(ad.random_start(model, cfg.seed))
    elif cfg.algorithm != "random":
        starts.append(ad.random_start(model, cfg.seed, cmp.baseline_config(cfg, "random", 0).alpha))
    return starts


PRETRAIN_JOB = "pretrain"  # the session's background job training the pretrained baseline


def _train_pretrained(cfg: TrainConfig, iterations: int) -> None:
    """Start the pretrained baseline as a background job; ``_pretrain_status`` keeps it when it ends."""
    job_cfg = pretrained_key(cfg, iterations)  # the baseline Compare and the table train
    jobs = st.session_state[app_state.JOBS_KEY]
    jobs.start(PRETRAIN_JOB, f"pretrained baseline ({iterations} it)", iterations, train_work(job_cfg, root=jobs.root))
    st.session_state["_leo_pretrain_for"] = job_cfg


def _keep_pretrained(key: TrainConfig, snap: JobSnapshot) -> None:
    if snap.result is None or not snap.result.complete:
        return  # a stopped pretraining is not the baseline of these settings: nothing kept
    kept = st.session_state.setdefault(PRETRAINED_KEY, {})
    kept[key] = snap.result.meta_params
    while len(kept) > MAX_PRETRAINED:  # bounded per session: drop the oldest (dicts keep insertion order)
        kept.pop(next(iter(kept)))


def _pretrain_status() -> None:
    """Progress, ETA and a stop button while the pretraining job runs; its θ₀ is kept when it finishes."""
    jobs = st.session_state[app_state.JOBS_KEY]
    first = jobs.snapshot(PRETRAIN_JOB)
    if first is None:
        return
    taken = st.session_state.setdefault("_leo_jobs_taken", set())

    def view() -> None:
        snap = jobs.snapshot(PRETRAIN_JOB)
        text = {"queued": "queued: the server is busy; it starts when a training slot frees up",
                "stopped": "stopped (not kept)"}.get(snap.status, snap.status)
        eta = f" · ETA {snap.eta:.0f} s" if snap.active and snap.eta is not None else ""
        st.progress(snap.progress, text=f"{snap.label}: {text} · {snap.done:,} of {snap.total:,}{eta}")
        if snap.error:
            st.error(snap.error)
        if snap.active and st.button("Stop", key="btn_pretrain_stop", icon=":material/stop:"):
            jobs.stop(PRETRAIN_JOB)
            st.rerun()
        if not snap.active and snap.job_id not in taken:
            taken.add(snap.job_id)
            _keep_pretrained(st.session_state.get("_leo_pretrain_for"), snap)
            st.rerun()

    st.fragment(view, run_every=1.0 if first.active else None)()


def _task_widgets(family, cfg: TrainConfig, shots: int, query: int) -> ad.RegressionTask:
    """The task's widgets, in the sidebar (the picture first in the main area)."""
    sb = st.sidebar
    source = sb.radio("Task", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="adapt_source",
                      help="Draw a task at random, set its parameters with sliders, or type its support points.")
    seed = sb.number_input("Task seed", 0, 2**31 - 1, 0, key="adapt_task_seed",
                           help="Seeds the task (when sampled) and where its support and query points fall.")
    if source == "points":
        text = sb.text_area("Support points, one 'x, y' pair per line", DEFAULT_POINTS, key="adapt_points",
                            help="No true function and no query set: the page shows the fit and the support loss.")
        return ad.typed_task(family, text)
    task, values = ad.sample_task(family, shots, query, int(seed))
    if source == "sample":
        return task
    chosen = dict(values)
    for name, (lo, hi) in family.param_ranges.items():
        chosen[name] = sb.slider(name, float(lo), float(hi), float(round(values[name], 2)), step=0.01,
                                  key=task_param_key(family.name, name))
    return ad.task_from_params(family, chosen, shots, query, int(seed) + 1)


def _pretrained_expander(cfg: TrainConfig) -> None:
    with st.sidebar.expander("Pretrained baseline (joint training on all tasks)", expanded=not any(
            replace(k, iterations=0) == pretrained_key(cfg, 0) for k in st.session_state.get(PRETRAINED_KEY, {}))):
        iterations = st.number_input("Iterations", 50, 5000, PRETRAIN_ITERATIONS, step=50, key="pretrain_iterations")
        st.caption("Trains the baseline at its recommended settings, with this run's family, model and data sizes: "
                   "for regression one θ₀ that minimises the plain average loss over tasks (no adaptation during "
                   "training); for classification Chen et al.'s classifier over all meta-training classes, whose "
                   "head is fine-tuned per task. Kept for this session.")
        if st.button("Train the pretrained baseline", key="btn_pretrain", icon=":material/model_training:"):
            _train_pretrained(cfg, int(iterations))
        _pretrain_status()


@st.cache_data(max_entries=32, show_spinner=False)
def _classification_data(_model, _family, _starts: list[ad.Start], _task, key: tuple, alpha: float, steps: int,
                         stages: tuple[int, ...]) -> tuple[list[ac.StepMetrics], list[dict]]:
    """Metrics per step and the pictures (regions after every step, or predictions at ``stages``) per start."""
    metrics = [ac.step_metrics(_model, _family, s, _task, alpha, steps) for s in _starts]
    if preview_kind(_family) == "regions":
        pictures = [ac.regions_by_step(_model, _family, s, _task, alpha, steps) for s in _starts]
    else:
        pictures = [ac.predictions_at(_model, _family, s, _task, alpha, steps, list(stages)) for s in _starts]
    return metrics, pictures


_CLASSIFICATION_NOTES = {
    "*": "Labels are **permuted per task** (class *c* is label 2 in one task, label 0 in the next), so a θ₀ "
         "trained jointly on all tasks (the pretrained baseline) cannot know which label is which: it sits near "
         "chance and a few steps on one or five examples per class do not rescue it. The meta-learned θ₀ is "
         "trained to *adapt* instead — on 5-way 1-shot digits, `bench/classification.py` measured 73.8% for leo "
         "against 24.6% for the pretrained baseline after adaptation (chance: 20%).",
    "omniglot": "Every character here comes from an alphabet **never seen in meta-training** (Greek, Latin, Korean, "
                "Sanskrit, …), turned by 0°, 90°, 180° or 270°. θ₀ alone guesses (labels are permuted per task); "
                "one step of α on one drawing per class turns the MAML paper's conv net into a classifier of these "
                "new characters.",
}


def _classification_view(cfg: TrainConfig, family, model, starts: list[ad.Start]) -> None:
    """One N-way K-shot meta-test task: decision regions (2-D) or query predictions (digits), metrics per step."""
    st.info(_CLASSIFICATION_NOTES.get(family.name, _CLASSIFICATION_NOTES["*"]), icon=":material/info:")
    left, mid, right = st.columns(3)
    shots = left.slider("Shots (examples per class)", 1, 20, min(cfg.shots, 20), key="adapt_cls_shots",
                        help=f"K in {family.ways}-way K-shot: support examples per class the task adapts on.")
    steps, alpha = _steps_and_alpha(cfg, mid, right)
    seed = int(st.number_input("Task seed", 0, 2**31 - 1, 0, key="adapt_task_seed",
                               help="Seeds the task drawn from the meta-test split (its classes and examples)."))
    _pretrained_expander(cfg)
    starts = starts + baseline_starts(cfg, model, starts)
    kind = preview_kind(family)
    task = ac.sample_task(family, int(shots), seed)
    stages = tuple(ac.shown_stages(int(steps), cfg.k))
    key = (cfg.family, family.ways, repr(model.spec()), int(shots), seed,
           tuple((s.key, s.label, s.algorithm.key, ad.fingerprint(s.meta_params)) for s in starts))
    with st.spinner("Adapting the task from each start…"):
        metrics, pictures = _classification_data(model, family, starts, task, key, float(alpha), int(steps), stages)
    query = task.x_query.shape[1] // family.ways
    st.caption(f"A {family.ways}-way {shots}-shot task from the meta-test split (classes never trained on) · "
               f"{query} query examples per class · task seed {seed}")
    if kind == "regions":
        app_state.chart(regions_animation_figure(pictures), "decision-regions", key="regions_anim")
        st.caption("Colour: the class the model predicts at each point of the plane after the shown step; dots: the "
                   "support points in their class's colour. Panel titles: query accuracy after that step.")
    else:
        names = {s.key: s.label for s in starts}
        if st.session_state.get("adapt_cls_start") not in names:  # e.g. a link asked for a start not built here
            st.session_state.pop("adapt_cls_start", None)
        shown = st.radio("Predictions from", list(names), format_func=names.get, horizontal=True,
                         key="adapt_cls_start")
        data = next(p for p in pictures if p["key"] == shown)
        app_state.chart(digit_predictions_figure(data, max_shots=3), "digit-predictions", key="digit_preds")
        st.caption("Left: the support images, one row per label (the label's colour). Then the query images after "
                   "each shown step: green frame = predicted correctly, red = wrong. Hover a tile for its label and "
                   "the model's confidence.")
        n_query = len(data["query"])
        if not 0 <= st.session_state.get("adapt_cls_query", 0) < n_query:  # a link's, or fewer images now
            st.session_state["adapt_cls_query"] = 0
        picked = st.select_slider("Query image", list(range(n_query)), value=0, key="adapt_cls_query",
                                  format_func=lambda i: f"{i + 1} (label {data['y_query'][i]})",
                                  help="The query image whose per-label probabilities are drawn below, "
                                       "counted row by row in the pictures above.")
        app_state.chart(class_probabilities_figure(data, int(picked)), "class-probabilities", key="class_probs")
    a, b = st.columns(2, gap="large")
    app_state.chart(step_accuracy_figure(metrics, ways=family.ways), "accuracy-per-step", key="step_accuracy", where=a)
    app_state.chart(step_loss_figure(metrics, loss_name="cross-entropy", log_y=False), "loss-per-step",
                    key="step_loss", where=b)


@st.cache_data(max_entries=64, show_spinner=False)
def _fits(_model, _family, _starts: list[ad.Start], _task: ad.RegressionTask, key: tuple, alpha: float,
          steps: int) -> list[ad.PlottedFit]:
    """Fits per start (cached on the settings and the parameters' fingerprints in ``key``)."""
    return [ad.plotted_fit(ad.fit_path(_model, _family, s, _task, alpha, steps)) for s in _starts]


def _task_dict(task: ad.RegressionTask) -> dict:
    def col(t: torch.Tensor) -> list[float]:
        return [round(v, 4) for v in t.reshape(-1).tolist()]

    return dict(x=col(task.x_grid), y_true=None if task.y_true is None else col(task.y_true),
                x_support=col(task.x_support), y_support=col(task.y_support),
                x_query=col(task.x_query), y_query=col(task.y_query))


def _path_figure(fits: list[ad.PlottedFit], task: ad.RegressionTask, linear: bool):
    if linear:
        opt = ad.least_squares_line(task.x_support, task.y_support)
        markers = [dict(label="task optimum (least squares)", a=opt[0], b=opt[1], symbol="x", color="#d62728")]
        return parameter_path_figure([dict(key=f.key, label=f.label, coords=f.coords) for f in fits],
                                     axis_titles=("θ₀ (intercept)", "θ₁ (slope)"),
                                     title="Path in parameter space (exact)", markers=markers)
    paths = [dict(key=f.key, coords=f.coords,
                  label=f"{f.label} (PC 1 {100 * f.explained[0]:.0f}%, PC 2 {100 * f.explained[1]:.0f}%)")
             for f in fits]
    return parameter_path_figure(paths, axis_titles=("principal direction 1", "principal direction 2"),
                                 title="Each path in its own top-2 PCA plane")


def main() -> None:
    if app_state.run_inside_app():  # a link straight to this page on a fresh server
        return
    st.title("Adaptation")
    st.markdown("How **one task** adapts: the fit after each inner step θ ← θ − α∇L(θ) on its support points, "
                "from the learned initialization θ₀ and, side by side, from the baselines. Press ▶ or drag the "
                "step slider under the chart.")
    cfg, starts, note = context()
    if note:
        st.info(note, icon=":material/info:")
    family = make_family(cfg)
    model = make_model(family, cfg)
    if family.is_classification:
        _classification_view(cfg, family, model, starts)
        return

    left, mid, right = st.columns(3)
    typed = st.session_state.get("adapt_source") == "points"  # then the typed points are the support set
    shots = left.slider("Shots (support points)", 1, 50, min(cfg.shots, 50), key="adapt_shots", disabled=typed,
                        help="Support points the task adapts on (typed points: as many as typed).")
    steps, alpha = _steps_and_alpha(cfg, mid, right)
    task = _task_widgets(family, cfg, shots, family.eval_query)

    _pretrained_expander(cfg)
    starts = starts + baseline_starts(cfg, model, starts)
    key = (cfg.family, repr(model.spec()), task.description, shots, int(st.session_state.get("adapt_task_seed", 0)),
           ad.fingerprint({"x": task.x_support, "y": task.y_support, "xq": task.x_query}),
           tuple((s.key, s.algorithm.key, ad.fingerprint(s.meta_params)) for s in starts))
    fits = _fits(model, family, starts, task, key, float(alpha), int(steps))
    st.caption(f"Task: {task.description} · {task.x_support.shape[0]} support points"
               + (f" · {task.x_query.shape[0]} query points" if task.has_query else " · no query set"))
    app_state.chart(fit_animation_figure(_task_dict(task), fits), "adaptation-fit", key="fit_anim")
    a, b = st.columns(2, gap="large")
    loss_name = LOSSES[family.loss].display
    app_state.chart(step_loss_figure(fits, loss_name=loss_name), "loss-per-step", key="step_loss", where=a)
    app_state.chart(_path_figure(fits, task, model.kind == "linear"), "parameter-path", key="param_path", where=b)
    if model.kind != "linear":
        b.caption("A network has hundreds of parameters; each path is drawn in the two directions along which it "
                  "moves most (PCA of θ_j − θ₀). The percentages say how much of its movement the picture shows.")


try:
    main()
except ValueError as exc:  # bad typed points, a family this view cannot draw, …
    st.error(str(exc))
except Exception as exc:  # never a traceback on screen
    st.error(f"Something went wrong on this page: {type(exc).__name__}: {exc}")
    print(traceback.format_exc())
