"""The Adaptation page's logic: the run it adapts from, the baselines beside it, the pretrained baseline's
background job, and the cached adaptations and figures the page lays out.

``pages/adaptation.py`` draws the widgets and the charts; everything it computes comes from here:
``context`` (the session's run, or a fresh config for a chosen family), ``baseline_starts``,
``adapt_regression`` and ``adapt_classification`` (cached on the settings and the starts' parameter
fingerprints). The pretrained baseline trains as a background job of the session (``leo_app.background``:
progress, ETA, stop, queued under the server's job slots; never in the page script); its θ₀ is kept in
``st.session_state[PRETRAINED_KEY]``, one per settings (at most ``MAX_PRETRAINED``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import plotly.graph_objects as go
import streamlit as st
import torch

from figures.adaptation import fit_animation_figure, parameter_path_figure
from leo_core.algorithms import get_algorithm
from leo_core.config import TrainConfig
from leo_core.i18n import N_, _, language
from leo_core.models import Model
from leo_core.page_settings import PAGE_SETTINGS, TASK_SOURCES
from leo_core.tasks import TASK_FAMILIES, TaskBatch, TaskFamily
from leo_core.views import adaptation as ad
from leo_core.views import adaptation_classification as ac
from leo_core.views import comparison as cmp
from leo_core.views.classification_preview import preview_kind

from . import state as app_state
from .background import JobSnapshot, train_work
from .measured import TABLE_COMMAND, adapted
from .widgets import follow_run, setting_widget

__all__ = ["PRETRAINED_KEY", "PRETRAIN_JOB", "MAX_PRETRAINED", "SOURCES", "PRETRAIN_NOTE", "pretrained_key",
           "has_pretrained", "context", "baseline_starts", "train_pretrained", "pretrain_status", "classification_note",
           "adapt_regression", "adapt_classification", "fit_figure", "path_figure"]

S = PAGE_SETTINGS["adaptation"]
PRETRAINED_KEY = "_leo_pretrained"  # {the baseline's TrainConfig: its θ₀}
PRETRAIN_JOB = "pretrain"  # the session's background job training the pretrained baseline
PRETRAIN_FOR_KEY = "_leo_pretrain_for"  # the TrainConfig the running pretraining job trains
TAKEN_KEY = "_leo_jobs_taken"  # ids of finished jobs whose result was already kept
MAX_PRETRAINED = 8  # pretrained baselines kept per session (one per settings)
SOURCES = dict(zip(TASK_SOURCES, (N_("sample one (seed)"), N_("set its parameters"), N_("type support points"))))
PRETRAIN_NOTE = N_("Trains the baseline at its recommended settings, with this run's family, model and data sizes: "
                   "for regression one θ₀ that minimises the plain average loss over tasks (no adaptation during "
                   "training); for classification Chen et al.'s classifier over all meta-training classes, whose "
                   "head is fine-tuned per task. Kept for this session.")
_CLASSIFICATION_NOTES = {
    "*": N_("Labels are **permuted per task** (class *c* is label 2 in one task, label 0 in the next), so no θ₀ "
            "can know which label is which before it adapts: every start begins at chance. What differs is how far "
            "a few steps on a few examples per class take it."),
    "omniglot": N_("Every character here comes from an alphabet **never seen in meta-training** (Greek, Latin, "
                   "Korean, Sanskrit, …), turned by 0°, 90°, 180° or 270°. θ₀ alone guesses (labels are permuted per "
                   "task); one step of α on one drawing per class turns the MAML paper's conv net into a classifier "
                   "of these new characters."),
}
# The pretraining job's states on its progress line that say more than the status word (``leo_app.job``).
_STATUS_TEXT = {
    "queued": N_("queued: the server is busy; it starts when a training slot frees up"),
    "stopped": N_("stopped (not kept)"),
}


def pretrained_key(cfg: TrainConfig, iterations: int) -> TrainConfig:
    """The pretrained baseline's own config for this run's problem: what it trains with, so its cache key."""
    return cmp.baseline_config(cfg, "pretrained", iterations)


def has_pretrained(cfg: TrainConfig) -> bool:
    """Whether the session keeps a pretrained baseline for this run's problem (at any number of iterations)."""
    wanted = pretrained_key(cfg, 0)
    return any(replace(k, iterations=0) == wanted for k in st.session_state.get(PRETRAINED_KEY, {}))


def context() -> tuple[TrainConfig, list[ad.Start], str | None]:
    """The session's run (config and meta-learned start), or a fresh config for a chosen family and a note."""
    snap = st.session_state.get(app_state.RUN_KEY)
    if snap is not None and snap.meta_params is not None and snap.config is not None:
        follow_run("adaptation", snap.run_id, ("adapt_alpha", "adapt_shots", "adapt_cls_shots"))
        cfg = snap.config
        label = {"pretrained": _("pretrained θ₀ (this run)"), "random": _("random θ₀ (this run)")}.get(
            cfg.algorithm) or _("meta-learned θ₀ ({algorithm})").format(algorithm=cfg.algorithm)
        return cfg, [ad.Start("meta", label, snap.algorithm, snap.meta_params)], None
    family = setting_widget(st, S["adapt_family"], format_func=lambda k: TASK_FAMILIES[k].title,
                            default=st.session_state.get("family", S["adapt_family"].default))
    note = _("No trained run in this session yet: train one on the **Train** page to see a meta-learned θ₀. "
             "Until then this page adapts from a random initialization, and from the pretrained baseline if you "
             "train it below.")
    return TrainConfig(family=family, device="cpu"), [], note


def baseline_starts(cfg: TrainConfig, model: Model, have: list[ad.Start]) -> list[ad.Start]:
    """The pretrained baseline (if trained for these settings) and a random init, unless the run is one.

    Beside a run, each baseline adapts with its own recommended α for the family (as in the table and on Compare):
    at the meta-learner's α, Chen et al.'s Baseline on digits reaches 0.61 instead of 0.80 after 10 steps.
    """
    starts = []
    iterations = int(st.session_state.get("pretrain_iterations", S["pretrain_iterations"].default))
    key = pretrained_key(cfg, iterations)
    cached = st.session_state.get(PRETRAINED_KEY, {}).get(key)
    if cached is not None and cfg.algorithm != "pretrained":
        starts.append(ad.Start("pretrained", _("pretrained ({iterations} it, α {alpha})").format(
                                   iterations=iterations, alpha=f"{key.alpha:g}"),
                               get_algorithm("pretrained"), cached, key.alpha))
    if not have:  # no run: the random init is the page's subject, adapted with the page's α
        starts.append(ad.random_start(model, cfg.seed))
    elif cfg.algorithm != "random":
        starts.append(ad.random_start(model, cfg.seed, cmp.baseline_config(cfg, "random", 0).alpha))
    return starts


def train_pretrained(cfg: TrainConfig, iterations: int) -> None:
    """Start the pretrained baseline as a background job; ``pretrain_status`` keeps it when it ends."""
    job_cfg = pretrained_key(cfg, iterations)  # the baseline Compare and the table train
    jobs = st.session_state[app_state.JOBS_KEY]
    jobs.start(PRETRAIN_JOB, _("pretrained baseline ({iterations} it)").format(iterations=iterations), iterations,
               train_work(job_cfg, root=jobs.root))
    st.session_state[PRETRAIN_FOR_KEY] = job_cfg


def _keep_pretrained(key: TrainConfig | None, snap: JobSnapshot) -> None:
    """Keep a completed pretraining's θ₀ under its config (the oldest drops out past ``MAX_PRETRAINED``)."""
    if key is None or snap.result is None or not snap.result.complete:
        return  # a stopped pretraining is not the baseline of these settings: nothing kept
    kept = st.session_state.setdefault(PRETRAINED_KEY, {})
    kept[key] = snap.result.meta_params
    while len(kept) > MAX_PRETRAINED:  # dicts keep insertion order
        kept.pop(next(iter(kept)))


def _pretrain_view(jobs: Any, taken: set) -> None:
    """One refresh of the pretraining's progress line, error and stop button; keeps its θ₀ once it ends."""
    snap = jobs.snapshot(PRETRAIN_JOB)
    text = _(_STATUS_TEXT.get(snap.status, snap.status))  # else the word, marked in leo_app.job.STATUS_WORDS
    eta = _(" · ETA {seconds} s").format(seconds=f"{snap.eta:.0f}") if snap.active and snap.eta is not None else ""
    st.progress(snap.progress, text=_("{label}: {status} · {done} of {total}{eta}").format(
        label=snap.label, status=text, done=f"{snap.done:,}", total=f"{snap.total:,}", eta=eta))
    if snap.error:
        st.error(snap.error)
    if snap.active and st.button(_("Stop"), key="btn_pretrain_stop", icon=":material/stop:"):
        jobs.stop(PRETRAIN_JOB)
        st.rerun()
    if not snap.active and snap.job_id not in taken:
        taken.add(snap.job_id)
        _keep_pretrained(st.session_state.get(PRETRAIN_FOR_KEY), snap)
        st.rerun()


def pretrain_status() -> None:
    """Progress, ETA and a stop button while the pretraining job runs (a fragment polling every second)."""
    jobs = st.session_state[app_state.JOBS_KEY]
    first = jobs.snapshot(PRETRAIN_JOB)
    if first is None:
        return
    taken = st.session_state.setdefault(TAKEN_KEY, set())
    st.fragment(lambda: _pretrain_view(jobs, taken), run_every=1.0 if first.active else None)()


def classification_note(family: TaskFamily) -> str:
    """What to look for on this classification family, with its measured accuracies (read from the table that
    ``bench/table.py`` wrote, never typed)."""
    note = _(_CLASSIFICATION_NOTES.get(family.name, _CLASSIFICATION_NOTES["*"]))
    rows = adapted(family.name)
    starts = (("leo", "leo"), ("pretrained", _("the pretrained baseline")), ("random", _("a random start")))
    shown = [(label, rows[key]) for key, label in starts if key in rows and rows[key].after_10 is not None]
    if not shown:
        return note
    results = ", ".join(f"{label} {100 * r.after_10:.1f}%" for label, r in shown)
    return note + _(" Measured after 10 steps on 5-way 1-shot test tasks (`{command}`): {results}; chance 1 in 5."
                    ).format(command=TABLE_COMMAND, results=results)


@st.cache_data(max_entries=64, show_spinner=False)
def _fits(_model: Model, _family: TaskFamily, _starts: list[ad.Start], _task: ad.RegressionTask, key: tuple,
          alpha: float, steps: int) -> list[ad.PlottedFit]:
    """Fits per start (cached on the settings and the parameters' fingerprints in ``key``)."""
    return [ad.plotted_fit(ad.fit_path(_model, _family, s, _task, alpha, steps)) for s in _starts]


def adapt_regression(cfg: TrainConfig, model: Model, family: TaskFamily, starts: list[ad.Start],
                     task: ad.RegressionTask, *, shots: int, seed: int, alpha: float,
                     steps: int) -> list[ad.PlottedFit]:
    """The task adapted ``steps`` steps from each start: fits, losses and paths (cached)."""
    key = (language(), cfg.family, repr(model.spec()), task.description, shots, seed,
           ad.fingerprint({"x": task.x_support, "y": task.y_support, "xq": task.x_query}),
           tuple((s.key, s.label, s.algorithm.key, ad.fingerprint(s.meta_params)) for s in starts))
    return _fits(model, family, starts, task, key, float(alpha), int(steps))


@st.cache_data(max_entries=32, show_spinner=False)
def _classification_data(_model: Model, _family: TaskFamily, _starts: list[ad.Start], _task: TaskBatch, key: tuple,
                         alpha: float, steps: int, stages: tuple[int, ...]) -> tuple[list[ac.StepMetrics], list[dict]]:
    """Metrics per step and the pictures (regions after every step, or predictions at ``stages``) per start."""
    metrics = [ac.step_metrics(_model, _family, s, _task, alpha, steps) for s in _starts]
    if preview_kind(_family) == "regions":
        pictures = [ac.regions_by_step(_model, _family, s, _task, alpha, steps) for s in _starts]
    else:
        pictures = [ac.predictions_at(_model, _family, s, _task, alpha, steps, list(stages)) for s in _starts]
    return metrics, pictures


def adapt_classification(cfg: TrainConfig, model: Model, family: TaskFamily, starts: list[ad.Start], *, shots: int,
                         seed: int, alpha: float,
                         steps: int) -> tuple[TaskBatch, list[ac.StepMetrics], list[dict]]:
    """A meta-test task (``seed``) adapted from each start: the task, metrics per step and pictures (cached)."""
    task = ac.sample_task(family, shots, seed)
    stages = tuple(ac.shown_stages(steps, cfg.k))
    key = (language(), cfg.family, family.ways, repr(model.spec()), shots, seed,
           tuple((s.key, s.label, s.algorithm.key, ad.fingerprint(s.meta_params)) for s in starts))
    metrics, pictures = _classification_data(model, family, starts, task, key, float(alpha), int(steps), stages)
    return task, metrics, pictures


def _task_dict(task: ad.RegressionTask) -> dict[str, list[float] | None]:
    """The task's points and true function as rounded lists, for the fit animation."""
    def col(t: torch.Tensor) -> list[float]:
        return [round(v, 4) for v in t.reshape(-1).tolist()]

    return dict(x=col(task.x_grid), y_true=None if task.y_true is None else col(task.y_true),
                x_support=col(task.x_support), y_support=col(task.y_support),
                x_query=col(task.x_query), y_query=col(task.y_query))


def fit_figure(task: ad.RegressionTask, fits: list[ad.PlottedFit]) -> go.Figure:
    """The fit after each step from each start (one animation frame per step)."""
    return fit_animation_figure(_task_dict(task), fits)


def path_figure(fits: list[ad.PlottedFit], task: ad.RegressionTask, linear: bool) -> go.Figure:
    """Each start's path in parameter space: exact for the line (with the task's optimum), else in 2-D PCA."""
    if linear:
        opt = ad.least_squares_line(task.x_support, task.y_support)
        markers = [dict(label=_("task optimum (least squares)"), a=opt[0], b=opt[1], symbol="x", color="#d62728")]
        return parameter_path_figure([dict(key=f.key, label=f.label, coords=f.coords) for f in fits],
                                     axis_titles=(_("θ₀ (intercept)"), _("θ₁ (slope)")),
                                     title=_("Path in parameter space (exact)"), markers=markers)
    paths = [dict(key=f.key, coords=f.coords,
                  label=_("{label} (PC 1 {pc1}%, PC 2 {pc2}%)").format(label=f.label, pc1=f"{100 * f.explained[0]:.0f}",
                                                                       pc2=f"{100 * f.explained[1]:.0f}"))
             for f in fits]
    return parameter_path_figure(paths, axis_titles=(_("principal direction 1"), _("principal direction 2")),
                                 title=_("Each path in its own top-2 PCA plane"))
