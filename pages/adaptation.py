"""Adaptation page: one task adapted step by step from the meta-learned θ₀ and from the baselines.

Widgets (made from ``leo_core.page_settings``) → task and settings → one cached call into
``leo_app.adaptation_view`` → figures (the fit animation's slider and play button run in the browser).
Classification: a meta-test task's decision regions after every step (2-D points) or its query predictions
(digits), with accuracy and cross-entropy per step. The pretrained baseline trains as a background job.
"""

from __future__ import annotations

import streamlit as st

from figures.adaptation import step_loss_figure
from figures.adaptation_classification import regions_animation_figure, step_accuracy_figure
from figures.classification import class_probabilities_figure, digit_predictions_figure
from leo_app import adaptation_view as av
from leo_app import state as app_state
from leo_app.url_state import task_param_key
from leo_app.widgets import setting_widget
from leo_core.config import TrainConfig
from leo_core.i18n import _
from leo_core.losses import LOSSES
from leo_core.models import Model
from leo_core.tasks import TaskFamily
from leo_core.train import make_family, make_model
from leo_core.views import adaptation as ad
from leo_core.views.classification_preview import preview_kind

S = av.S  # this page's settings (leo_core.page_settings)


def _steps_and_alpha(cfg: TrainConfig, mid, right) -> tuple[int, float]:
    """The adaptation steps and α sliders (in the page's middle and right columns)."""
    steps = setting_widget(mid, S["adapt_steps"],
                           help=_("Inner gradient steps to show (training used k = {k}).").format(k=cfg.k))
    alpha = setting_widget(
        right, S["adapt_alpha"], default=cfg.alpha if cfg.alpha in S["adapt_alpha"].stops else S["adapt_alpha"].default,
        help=_("Step size of each adaptation step of the run's θ₀ (training used α = {alpha}); a baseline beside "
               "it adapts with its own recommended α, shown in its legend.").format(alpha=f"{cfg.alpha:g}"))
    return int(steps), float(alpha)


def _pretrained_expander(cfg: TrainConfig) -> None:
    title = _("Pretrained baseline (joint training on all tasks)")
    with st.sidebar.expander(title, expanded=not av.has_pretrained(cfg)):
        iterations = setting_widget(st, S["pretrain_iterations"])
        st.caption(_(av.PRETRAIN_NOTE))
        if st.button(_("Train the pretrained baseline"), key="btn_pretrain", icon=":material/model_training:"):
            av.train_pretrained(cfg, int(iterations))
        av.pretrain_status()


def _task(family: TaskFamily, source: str, shots: int, seed: int) -> ad.RegressionTask:
    """The task ``source`` says: sampled with the seed, set by its parameters (sidebar sliders), or typed."""
    if source == "points":
        return ad.typed_task(family, setting_widget(st.sidebar, S["adapt_points"]))
    task, values = ad.sample_task(family, shots, family.eval_query, seed)
    if source == "sample":
        return task
    chosen = {**values, **{name: setting_widget(st.sidebar, S[task_param_key(family.name, name)],
                                                default=float(round(values[name], 2)))
                           for name in family.param_ranges}}
    return ad.task_from_params(family, chosen, shots, family.eval_query, seed + 1)


def _regression_view(cfg: TrainConfig, family: TaskFamily, model: Model, starts: list[ad.Start]) -> None:
    """One regression task: the fit after each step, the loss per step and the path in parameter space."""
    left, mid, right = st.columns(3)
    typed = st.session_state.get("adapt_source") == "points"  # then the typed points are the support set
    shots = int(setting_widget(left, S["adapt_shots"], default=min(cfg.shots, 50), disabled=typed))
    steps, alpha = _steps_and_alpha(cfg, mid, right)
    source = setting_widget(st.sidebar, S["adapt_source"], format_func=av.SOURCES.get)
    seed = int(setting_widget(st.sidebar, S["adapt_task_seed"]))
    task = _task(family, source, shots, seed)
    _pretrained_expander(cfg)
    starts = starts + av.baseline_starts(cfg, model, starts)
    fits = av.adapt_regression(cfg, model, family, starts, task, shots=shots, seed=seed, alpha=alpha, steps=steps)
    st.caption(_("Task: {task} · {n} support points").format(task=task.description, n=task.x_support.shape[0])
               + (_(" · {n} query points").format(n=task.x_query.shape[0]) if task.has_query else _(" · no query set")))
    app_state.chart(av.fit_figure(task, fits), "adaptation-fit", key="fit_anim")
    a, b = st.columns(2, gap="large")
    loss_name = _(LOSSES[family.loss].display)
    app_state.chart(step_loss_figure(fits, loss_name=loss_name), "loss-per-step", key="step_loss", where=a)
    app_state.chart(av.path_figure(fits, task, model.kind == "linear"), "parameter-path", key="param_path", where=b)
    if model.kind != "linear":
        b.caption(_("A network has hundreds of parameters; each path is drawn in the two directions along which it "
                    "moves most (PCA of θ_j − θ₀). The percentages say how much of its movement the picture shows."))


def _classification_view(cfg: TrainConfig, family: TaskFamily, model: Model, starts: list[ad.Start]) -> None:
    """One N-way K-shot meta-test task: decision regions (2-D) or query predictions (digits), metrics per step."""
    sb = st.sidebar  # the picture first: the task's settings in the sidebar
    shots = int(setting_widget(sb, S["adapt_cls_shots"], default=min(cfg.shots, 20),
                               help=_("K in {ways}-way K-shot: support examples per class the task adapts on.").format(
                                   ways=family.ways)))
    steps, alpha = _steps_and_alpha(cfg, sb, sb)
    seed = int(setting_widget(sb, S["adapt_task_seed"]))
    _pretrained_expander(cfg)
    starts = starts + av.baseline_starts(cfg, model, starts)
    with st.spinner(_("Adapting the task from each start…")):
        task, metrics, pictures = av.adapt_classification(cfg, model, family, starts, shots=shots, seed=seed,
                                                          alpha=alpha, steps=steps)
    if preview_kind(family) == "regions":
        app_state.chart(regions_animation_figure(pictures), "decision-regions", key="regions_anim")
        st.caption(_("Colour: the class the model predicts at each point of the plane after the shown step; dots: "
                     "the support points in their class's colour. Panel titles: query accuracy after that step."))
    else:
        names = {s.key: s.label for s in starts}
        if st.session_state.get("adapt_cls_start") not in names:  # e.g. a link asked for a start not built here
            st.session_state.pop("adapt_cls_start", None)
        shown = st.radio(_(S["adapt_cls_start"].label), list(names), format_func=names.get, horizontal=True,
                         key="adapt_cls_start", help=_(S["adapt_cls_start"].help))
        data = next(p for p in pictures if p["key"] == shown)
        app_state.chart(digit_predictions_figure(data, max_shots=3), "digit-predictions", key="digit_preds")
        st.caption(_("Left: the support images, one row per label (the label's colour). Then the query images after "
                     "each shown step: green frame = predicted correctly, red = wrong. Hover a tile for its label and "
                     "the model's confidence."))
        n_query = len(data["query"])
        if not 0 <= st.session_state.get("adapt_cls_query", 0) < n_query:  # a link's, or fewer images now
            st.session_state["adapt_cls_query"] = 0
        picked = st.select_slider(_(S["adapt_cls_query"].label), list(range(n_query)), key="adapt_cls_query",
                                  format_func=lambda i: _("{n} (label {label})").format(n=i + 1,
                                                                                        label=data["y_query"][i]),
                                  help=_(S["adapt_cls_query"].help))
        app_state.chart(class_probabilities_figure(data, int(picked)), "class-probabilities", key="class_probs")
    st.caption(_("A {ways}-way {shots}-shot task from the meta-test split (classes never trained on) · "
                 "{query} query examples per class · task seed {seed}").format(
        ways=family.ways, shots=shots, query=task.x_query.shape[1] // family.ways, seed=seed))
    st.info(av.classification_note(family), icon=":material/info:")
    a, b = st.columns(2, gap="large")
    app_state.chart(step_accuracy_figure(metrics, ways=family.ways), "accuracy-per-step", key="step_accuracy", where=a)
    app_state.chart(step_loss_figure(metrics, loss_name=_("cross-entropy"), log_y=False), "loss-per-step",
                    key="step_loss", where=b)


def main() -> None:
    if app_state.run_inside_app():  # a link straight to this page on a fresh server
        return
    st.title(_("Adaptation"))
    intro = st.empty()  # above the family choice a page without a run draws
    cfg, starts, note = av.context()
    family = make_family(cfg)
    model = make_model(family, cfg)
    animated = not family.is_classification or preview_kind(family) == "regions"  # images: a few fixed steps
    intro.markdown(_("How **one task** adapts: the model after each inner step θ ← θ − α∇L(θ) on its support "
                     "examples, from the learned initialization θ₀ and, side by side, from the baselines.")
                   + (_(" Press ▶ or drag the step slider under the chart.") if animated else ""))
    if note:
        st.info(note, icon=":material/info:")
    view = _classification_view if family.is_classification else _regression_view
    view(cfg, family, model, starts)


app_state.show_errors(main)
