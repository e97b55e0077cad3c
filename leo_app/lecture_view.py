"""The Lecture page's parts: the chapter navigation (buttons, ← and → keys, ``?ch=N``), a chapter's arrival (its
preset and settings), its text and prompts, and each chapter's live picture — drawn by the other pages' own
views (``landscape_view``, ``train_view``, ``adaptation_view``, ``compare_view``) and ``quiz_view``.
"""

from __future__ import annotations

import time
from typing import Callable

import streamlit as st
import torch

from figures.adaptation_classification import step_accuracy_figure
from figures.classification import digit_predictions_figure
from figures.landscape import linear_landscape_figure
from figures.lecture import gap_figure, measured_figure
from figures.meta_gradients import cosine_bar_figure
from leo_core.algorithms import get_algorithm
from leo_core.i18n import _, language
from leo_core.page_settings import PAGE_SETTINGS
from leo_core.settings import ALPHAS
from leo_core.train import make_family
from leo_core.views import adaptation as ad
from leo_core.views import meta_gradients as mg

from . import adaptation_view as av
from . import compare_view
from . import landscape_view as lview
from . import lecture_handout as lh
from . import state as app_state
from . import train_view
from .job import Status
from .lecture import CHAPTERS, Chapter, chapter
from .measured import LECTURE_COMMAND, TABLE_COMMAND, adapted, objective_errors
from .presets import load_preset
from .widgets import setting_widget

__all__ = ["CH_KEY", "current", "shown", "navigation", "arrive", "text", "picture", "train_controls",
           "handout_button", "PICTURES"]

CH_KEY = "ch"  # the chapter shown (and its URL key); set by code only
TOC_KEY = "lecture_toc"  # the sidebar's chapter list
ARRIVED_KEY = "_leo_lecture_arrived"  # the chapter whose opening settings were applied last
RUNS_KEY = "_leo_lecture_runs"  # preset → the run it became in this session (a return reopens it, trained on)
LAND = PAGE_SETTINGS["landscape"]
ADAPT = PAGE_SETTINGS["adaptation"]
NOTE_KEY = "_leo_lecture_note"  # a message from a button's callback, shown once


def current() -> int:
    """The chapter shown (1-based), clamped to the lecture."""
    n = st.session_state.get(CH_KEY, 1)
    return max(1, min(len(CHAPTERS), int(n) if isinstance(n, (int, float)) else 1))


def _chosen() -> None:
    st.session_state[CH_KEY] = st.session_state[TOC_KEY]


def _go(delta: int) -> None:
    st.session_state[CH_KEY] = max(1, min(len(CHAPTERS), current() + delta))


def shown() -> Chapter:
    """The chapter to show (the session's, clamped to the lecture)."""
    n = current()
    st.session_state[CH_KEY] = n
    return chapter(n)


def navigation(ch: Chapter) -> None:
    """← chapter title →, with the arrow keys as shortcuts; the chapter list and the link to the page with every
    control in the sidebar."""
    n = current()
    if ch.trains:  # the live training view's two controls in the title row: the picture stays above the fold
        left, mid, c1, c2, right = st.columns([1.2, 5.4, 1.4, 1.2, 1.2], vertical_alignment="center")
        train_controls(c1, c2)
    else:
        left, mid, right = st.columns([1.4, 7.2, 1.4], vertical_alignment="center")
    left.button(_("Previous"), key="lecture_prev", on_click=_go, args=(-1,), disabled=n == 1, shortcut="Left",
                help=_("Previous chapter (← key)"), width="stretch")
    right.button(_("Next"), key="lecture_next", on_click=_go, args=(1,), disabled=n == len(CHAPTERS), shortcut="Right",
                 help=_("Next chapter (→ key)"), width="stretch")
    mid.markdown(f"### {n} · {_(ch.title)}")
    labels = {i: f"{i} · {_(c.title)}" for i, c in enumerate(CHAPTERS, start=1)}  # in this run's language
    st.session_state[TOC_KEY] = n  # the list follows the buttons and keys; choosing in it sets the chapter
    st.sidebar.radio(_("Chapters"), list(labels), key=TOC_KEY, format_func=labels.get, on_change=_chosen)
    st.sidebar.page_link(_page_for(ch.page), label=_("Every control: open it on its page"),
                         icon=":material/open_in_new:", query_params=_query(ch.page))
    handout_button(st.sidebar)


def arrive(ch: Chapter) -> None:
    """Apply the chapter's opening settings once per arrival: its preset becomes the session's run (or the run that
    preset became earlier in this session, trained on since), and its widget values."""
    if st.session_state.get(ARRIVED_KEY) == ch.key:
        return
    st.session_state[ARRIVED_KEY] = ch.key
    for name, value in ch.state.items():
        st.session_state[name] = list(value) if isinstance(value, (list, tuple)) else value
    runner = st.session_state.get(app_state.RUNNER_KEY)
    if ch.preset is None or runner is None:
        return
    runs = st.session_state.setdefault(RUNS_KEY, {})
    before = runs.get(ch.preset)
    if before is not None and runner.run_key == before:
        return
    reopened = False
    if before is not None:
        try:
            runner.open(before, device=st.session_state.get("device", "auto"))
            reopened = True
        except ValueError:
            reopened = False
    if not reopened:
        for note in app_state.apply_preset(ch.preset):
            st.warning(note)
    runs[ch.preset] = runner.run_key
    st.session_state[app_state.RUN_KEY] = runner.snapshot()


def text(ch: Chapter, words, prompts=None) -> None:
    """The chapter's text in ``words``, its prompts in ``prompts`` (below the text when None)."""
    prompts = prompts or words
    words.markdown(_(ch.text))
    try_this = _("Try this")
    prompts.markdown("\n".join(f"- **{try_this}:** {_(p)}" for p in ch.prompts))


def _page_for(path: str) -> str:
    page = path.split("?")[0].strip("/") or "train"
    return f"pages/{page}.py"


def _query(path: str) -> dict[str, str]:
    query = path.partition("?")[2]
    return dict(part.split("=", 1) for part in query.split("&") if "=" in part)


# -- the pictures --------------------------------------------------------------------------------------------------


def _quiz() -> None:
    from . import quiz_view

    mode = st.segmented_control(_("Mode"), ["quiz", "draw"], default="quiz", key="lecture_quiz_mode", required=True,
                                format_func=lambda m: _("The quiz") if m == "quiz" else _("Draw your own"),
                                label_visibility="collapsed")
    if mode == "draw":
        quiz_view.draw_your_own()
    else:
        quiz_view.quiz()


def _scene() -> lview.Scene:
    found = lview.run_start()
    cfg, start = found if found is not None else lview.random_start("linear")
    return lview.scene(cfg, start, 5, 0)


def _document() -> None:
    s = _scene()
    if s.model.kind != "linear":
        st.info(_("This chapter shows the two-parameter linear model: its preset could not be loaded."))
        return
    k = int(setting_widget(st.sidebar, LAND["land_k"], default=s.cfg.k))
    alpha = float(setting_widget(st.sidebar, LAND["land_alpha"], default=lview.nearest_alpha(s.cfg.alpha)))
    data = lview.linear_grid(s, alpha, k, 61, 0)
    app_state.chart(linear_landscape_figure(data, shown=0, loss_name=s.loss_name), "lecture-linear-landscape",
                    key="lecture_linear")
    st.caption(lview.linear_caption(s, data))
    lview.meta_gradients(s, alpha, k, list(mg.arrow_keys()), 30)


def _continue() -> None:
    try:
        train_view.runner().extend(int(st.session_state.get("iterations", 1000)))
    except (RuntimeError, ValueError) as exc:
        st.session_state[NOTE_KEY] = _("Cannot continue: {error}").format(error=exc)


def _sinusoid() -> None:
    """The Train page's live view, with the two controls a lecture needs (Continue, Pause) beside the prompts."""
    runner = train_view.runner()
    snap = runner.snapshot()
    note = st.session_state.pop(NOTE_KEY, None)
    if note:
        st.error(note)
    train_view.live_view(snap.active, stacked=True)


def train_controls(first, second) -> None:
    """Continue (train the chapter's run on) and Pause/Resume, for chapters drawing the live training view."""
    runner = train_view.runner()
    snap = runner.snapshot()
    first.button(_("Continue"), key="lecture_continue", on_click=_continue, icon=":material/fast_forward:",
                 type="primary", disabled=snap.active or snap.theta0 is None, width="stretch")
    if snap.status == Status.PAUSED:
        second.button(_("Resume"), key="lecture_resume", on_click=runner.resume, icon=":material/resume:",
                      width="stretch")
    else:
        second.button(_("Pause"), key="lecture_pause", on_click=runner.pause, icon=":material/pause:",
                      disabled=snap.status != Status.RUNNING, width="stretch")


def _objective() -> None:
    cfg, starts = lh.objective_starts()
    family, model = make_family(cfg), load_preset(starts[0].key).model
    seed = int(st.sidebar.number_input(_("Task seed"), 0, 10_000, 1, key="lecture_task_seed"))
    task, _params = ad.sample_task(family, cfg.shots, 50, seed)
    fits = av.adapt_regression(cfg, model, family, starts, task, shots=cfg.shots, seed=seed, alpha=cfg.alpha,
                               steps=cfg.k)
    app_state.chart(av.fit_figure(task, fits), "lecture-objective", key="lecture_objective")
    st.markdown(_objective_table({s.key: s.label for s in starts}, cfg.k))


def _objective_table(labels: dict[str, str], k: int) -> str:
    """Both initializations' mean query error before and after their k steps, from the measured record."""
    record = objective_errors()
    if not all(key in record for key in labels):
        return _("The measured record is missing: run {command} to make it.").format(command=f"`{LECTURE_COMMAND}`")
    rows = "\n".join(
        "| {label} | {before:.3f} | **{after:.3f}** ± {ci:.3f} |".format(
            label=label, before=record[key]["loss_by_step"][0], after=record[key]["loss_by_step"][-1],
            ci=record[key]["ci95_by_step"][-1]) for key, label in labels.items())
    return (_("Mean query error (MSE) on 600 fresh tasks, before adaptation and after its {k} steps (95% interval; "
              "measured by {command}):").format(k=k, command=f"`{LECTURE_COMMAND}`")
            + "\n\n| | θ₀ | " + _("after {k} steps").format(k=k) + " |\n|---|---|---|\n" + rows)


@st.cache_data(max_entries=16, show_spinner=False)
def _order_data(alpha: float, k: int) -> tuple[tuple, dict[str, float]]:
    """Each update's direction at θ₀ (cosines with leo's) and its seconds per meta-iteration, measured now."""
    ckpt, family, batch = lh.order_problem()
    theta0 = lh.initialization(ckpt)
    pcfg = mg.direction_config(ckpt.config, alpha, k)
    seconds = {}
    for key in lh.ORDER_KEYS:
        algorithm = get_algorithm(key, pcfg)
        meta = {n: v.detach().clone().requires_grad_(True) for n, v in algorithm.init_meta_params(theta0, pcfg).items()}
        times = []
        for _repeat in range(5):
            t0 = time.perf_counter()
            with torch.enable_grad():
                algorithm.meta_step(ckpt.model, family, meta, batch, pcfg)
            times.append(time.perf_counter() - t0)
        seconds[key] = sorted(times)[len(times) // 2]
    return lh.order_directions(alpha, k), seconds


def _order_table(seconds: dict[str, float], cosines: dict[str, float | None]) -> str:
    """Seconds per meta-iteration (measured now) and the cosine with leo's meta-gradient, per update."""
    head = "| | {ms} | {cos} |\n|---|---|---|\n".format(ms=_("ms per meta-iteration"), cos=_("cos with leo"))
    return head + "\n".join(
        f"| {key} | {1000 * s:.1f} | {'—' if key == mg.REFERENCE or cosines.get(key) is None else f'{cosines[key]:.3f}'} |"
        for key, s in seconds.items()) + "\n\n" + _("Measured on this server just now (median of five meta-steps).")


def _order() -> None:
    sb = st.sidebar
    k = int(sb.slider(_("Inner steps k"), 1, 20, lh.ORDER_K, key="lecture_order_k"))
    alpha = float(sb.select_slider(_("Inner step size α"), list(ALPHAS), value=lh.ORDER_ALPHA,
                                   key="lecture_order_alpha"))
    dirs, seconds = _order_data(alpha, k)
    n_params = sum(len(d.vector) for d in dirs[:1])
    app_state.chart(cosine_bar_figure(dirs, n_params=n_params, height=380), "lecture-order", key="lecture_order")
    left, right = st.columns([1, 1], gap="large")
    left.markdown(_order_table(seconds, {d.key: d.cosine for d in dirs}))
    right.markdown(lview.look_at(dirs, alpha, k))


def _beyond() -> None:
    """The Compare page's race; until one has run in this session, the measured end of the same race below it."""
    compare_view.race_section()
    if compare_view.race_started():
        return
    rows = adapted("sinusoid")
    if rows:
        app_state.chart(measured_figure(rows, height=250), "lecture-measured-race", key="lecture_measured_race")
        st.caption(_("Until you race: where these algorithms end, each at its recommended settings, in the measured "
                     "table ({command}): query error after 10 steps on new sinusoids.").format(
            command=f"`{TABLE_COMMAND}`"))


def _baseline() -> None:
    rows = adapted("digits")
    if not rows:
        st.info(_("The measured table is missing: run {command} to make it.").format(command=f"`{TABLE_COMMAND}`"))
        return
    app_state.chart(gap_figure(rows), "lecture-baseline", key="lecture_baseline")
    st.caption(_("Handwritten digits: accuracy after 10 steps on 5-way tasks of new classes (solid) and of classes "
                 "seen in meta-training (pale), each method at its recommended settings; read from the measured "
                 "table ({command}).").format(
        command=f"`{TABLE_COMMAND}`"))


def _omniglot() -> None:
    snap = st.session_state.get(app_state.RUN_KEY)
    if snap is None or snap.config is None or snap.config.family != "omniglot":
        st.info(_("This chapter adapts the Omniglot checkpoint: it could not be loaded as the session's run."))
        return
    cfg, starts, _note = av.context()
    family, model = snap.family, snap.model
    starts = starts + av.baseline_starts(cfg, model, starts)
    seed = int(setting_widget(st.sidebar, ADAPT["adapt_task_seed"]))
    steps = 5
    with st.spinner(_("Adapting the task from each start…")):
        task, metrics, pictures = av.adapt_classification(cfg, model, family, starts, shots=1, seed=seed,
                                                          alpha=cfg.alpha, steps=steps)
    app_state.chart(digit_predictions_figure(pictures[0], max_shots=1), "lecture-omniglot", key="lecture_omniglot")
    st.caption(_("The support images (one per class), then each query image after the shown steps (green frame: "
                 "right, red: wrong) from the meta-learned θ₀. Task seed {seed}, alphabets never seen in "
                 "meta-training.").format(seed=seed))
    app_state.chart(step_accuracy_figure(metrics, ways=family.ways), "lecture-omniglot-accuracy",
                    key="lecture_omniglot_accuracy")


PICTURES: dict[str, Callable[[], None]] = {
    "quiz": _quiz, "document": _document, "sinusoid": _sinusoid, "objective": _objective, "order": _order,
    "beyond": _beyond, "baseline": _baseline, "omniglot": _omniglot,
}


@st.cache_data(max_entries=2, show_spinner=False)
def _lecture_file(lang: str) -> str:
    """The lecture's HTML in ``lang``, made once per language and server (its checkpoints are the shipped ones)."""
    return lh.lecture_html(lang)


def handout_button(where) -> None:
    """The whole lecture as one offline HTML file, in the page's language."""
    lang = language()

    def build() -> str:
        return _lecture_file(lang)

    where.download_button(_("Download the lecture (HTML)"), data=build, file_name=f"leo-lecture-{lang}.html",
                          mime="text/html", icon=":material/download:", on_click="ignore",
                          help=_("Every chapter's text and pictures, with their animations, in this language, as "
                                 "one file that opens offline (about 7 MB; it takes some seconds to make)."))


def picture(ch: Chapter) -> None:
    """The chapter's live picture(s)."""
    PICTURES[ch.key]()
