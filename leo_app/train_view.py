"""The Train page's logic: its settings sidebar (from the declarations in ``leo_core.settings``), the button
callbacks, the live view (status, numbers, loss curve and fit preview, polled in fragments) and the
checkpoint section.

Training runs in this session's ``TrainingRunner`` thread (``st.session_state["leo_runner"]``, set up
by ``app.py``). Widgets only build the config of the *next* Start: a run keeps its own frozen config,
so moving a slider mid-run never restarts or stops it. A fragment polls the runner every ``POLL_S``
seconds while a run is active and redraws the live view (the fit preview every ``PREVIEW_POLL_S``),
both slower in a crowd (``leo_app.polling``).
"""

from __future__ import annotations

import json
from dataclasses import replace

import streamlit as st

from figures.classification import accuracy_curve_figure, classification_preview_figure
from figures.style import empty_figure
from figures.training import adaptation_preview_figure, loss_curve_figure
from leo_core.algorithms import ALGORITHMS
from leo_core.checkpoint import CheckpointError, load_checkpoint
from leo_core.config import TrainConfig
from leo_core.i18n import N_, _, ngettext, shown
from leo_core.losses import LOSSES
from leo_core.page_settings import PAGE_SETTINGS, PREVIEW_STEPS
from leo_core.settings import SETTINGS, TRAIN_SETTINGS, Setting, checked
from leo_core.tasks import TASK_FAMILIES
from leo_core.views.classification_preview import classification_preview, preview_kind
from leo_core.views.preview import preview_curves, preview_tasks

from . import state as app_state
from . import widgets
from .job import STATUS_TEXT
from .polling import period_stale, remember_crowd
from .presets import PRESETS
from .runner import RunSnapshot, RunStatus, TrainingRunner

__all__ = ["settings_sidebar", "show_flash", "buttons", "live_view", "checkpoints", "runner", "POLL_S",
           "PREVIEW_POLL_S", "MAX_UPLOAD_MB"]

VIEW = PAGE_SETTINGS["train"]

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
FLASH_KEY = "_leo_train_flash"  # (kind, message) to show once after a button callback
POLL_S = 0.4  # numbers and loss curve refresh period while training (≥ 2 refreshes per second)
# The fit preview changes slowly and costs more to draw; refreshing it less often leaves the
# training thread more of the GIL.
PREVIEW_POLL_S = 1.5
MAX_UPLOAD_MB = 20

def runner() -> TrainingRunner:
    return st.session_state[app_state.RUNNER_KEY]


def _flash(kind: str, message: str) -> None:
    st.session_state[FLASH_KEY] = (kind, message)


# -- widgets → config --------------------------------------------------------------------------------


# The families' short titles, marked for the catalog: any page's select box that shows one is translated.
SHORT_TITLES = (N_("Sinusoids"), N_("Lines"), N_("Sines or lines"), N_("Cubic polynomials"), N_("2-D point clouds"),
                N_("Handwritten digits, N-way K-shot"), N_("Omniglot characters"))


def short_title(title: str) -> str:
    """A title without its parenthesis ("Sinusoids (Finn et al. 2017)" → "Sinusoids"), in the reader's language:
    what fits a select box at projector size; the full titles are in the widget's help."""
    return _(title.split(" (")[0])


_OUTER_LOSS_SETS = {"query": N_("query set"), "support": N_("support set")}
_FORMATS = {
    "family": lambda k: short_title(TASK_FAMILIES[k].title),
    "algorithm": None,  # the registry's keys as they are, as the command line and the help below name them
    "outer_loss": _OUTER_LOSS_SETS.get,
}


def _label(setting: Setting) -> str:
    """A setting's label without its parenthesis, in the reader's language ("Inner steps k", "步数 k")."""
    return shown(setting.label).split(" (")[0].split("（")[0]


def _on_problem_change() -> None:
    """A new family or algorithm starts from its recommended settings (the user's changes reset)."""
    s = st.session_state
    widgets.apply_recommended(s["family"], s["algorithm"])


def _on_reset_recommended() -> None:
    _on_problem_change()


def _shown_settings(family: str, algorithm: str, advanced: bool) -> list[Setting]:
    return [s for s in TRAIN_SETTINGS if s.in_link and s.advanced == advanced and s.name not in ("family", "algorithm")
            and s.shown_for(algorithm, family)]


def _recommended_note(where, family: str, algorithm: str) -> None:
    """Say whether the settings are the recommended ones for this family and algorithm; one click resets."""
    drawn = {s.name for adv in (False, True) for s in _shown_settings(family, algorithm, adv)}
    changed = widgets.changed_from_recommended(family, algorithm, drawn)
    if not changed:
        where.caption(":material/verified: " + _("Recommended settings for {family} × {algorithm}.").format(
            family=family, algorithm=algorithm))
        return
    diffs = _(", ").join(_("{setting} {value} (rec. {recommended})").format(
        setting=_label(s), value=_fmt(cur), recommended=_fmt(rec)) for s, cur, rec in changed)
    where.caption(":material/tune: " + _("Changed from the recommended: {changes}.").format(changes=diffs))
    where.button(_("Reset to recommended"), key="btn_reset_recommended", on_click=_on_reset_recommended,
                 icon=":material/restart_alt:")


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def settings_sidebar() -> None:
    """The next run's settings (sidebar), made from their declarations in ``leo_core.settings``.
    Values persist across pages for the session; a new family or algorithm starts from its
    recommended settings."""
    sb = st.sidebar
    sb.header(_("Run settings"))
    sb.selectbox(_("Lecture preset"), list(PRESETS), index=None, key="preset_choice", on_change=_on_preset,
                 placeholder=_("Choose a preset…"), format_func=widgets.in_language(lambda k: _(PRESETS[k].title)),
                 help=_("Sets every setting below at once and loads a small pretrained checkpoint, so the pictures "
                        "appear at once; press Continue to train on, or Start to train from scratch."))
    sb.caption(_("Applied at the next Start; a running run keeps its own settings."))
    for name, titles in (("family", {k: f.title for k, f in TASK_FAMILIES.items()}),
                         ("algorithm", {k: a.title for k, a in ALGORITHMS.items()})):
        listed = " ".join(_("**{key}**: {title}.").format(key=k, title=_(t)) for k, t in titles.items())
        widgets.setting_widget(sb, SETTINGS[name], format_func=_FORMATS[name], on_change=_on_problem_change,
                               help=f"{shown(SETTINGS[name].help)}\n\n{listed}")
    family, algorithm = st.session_state["family"], st.session_state["algorithm"]
    widgets.start_from_recommended(family, algorithm)
    _recommended_note(sb, family, algorithm)
    for setting in _shown_settings(family, algorithm, advanced=False):
        widgets.setting_widget(sb, setting, format_func=_FORMATS.get(setting.name))
    # Presentation mode folds these away (fewer controls on the projector).
    more = sb.expander(_("Advanced settings"), expanded=not app_state.presenting())
    for setting in _shown_settings(family, algorithm, advanced=True):
        widgets.setting_widget(more, setting, format_func=_FORMATS.get(setting.name))


def _config_from_widgets() -> TrainConfig:
    s = st.session_state
    values = {setting.name: setting.kind(s[setting.name]) for setting in TRAIN_SETTINGS
              if setting.in_link and setting.name in s}
    return checked(TrainConfig(**values))


# -- button callbacks (run before the script, so the page shows the new state at once) --------------


def _attempt(what: str, action) -> None:
    """Run a button's action; a refused one leaves its one-line reason for the page."""
    try:
        action()
    except (ValueError, RuntimeError) as exc:
        reason = shown(exc.args[0]) if len(exc.args) == 1 else exc  # a Message raised in leo_core, in the reader's words
        _flash("error", _("{action}: {reason}").format(action=what, reason=reason))


def _on_start() -> None:
    _attempt(_("Cannot start"), lambda: runner().start(_config_from_widgets()))


def _on_preset() -> None:
    key = st.session_state.get("preset_choice")
    if key is None:
        return
    notes = app_state.apply_preset(key)
    st.session_state["preset_choice"] = None  # a menu, not a setting: the settings themselves are in the URL
    if notes:
        _flash("error", _("{preset}: {notes}").format(preset=_(PRESETS[key].title), notes=_("; ").join(notes)))
    else:
        _flash("success", f"**{_(PRESETS[key].title)}** — {_(PRESETS[key].summary)}")


def _on_continue() -> None:
    _attempt(_("Cannot continue"), lambda: runner().extend(int(st.session_state["iterations"])))


def _on_upload() -> None:
    upload = st.session_state.get("upload")
    if upload is None:
        return
    if runner().status in (RunStatus.RUNNING, RunStatus.QUEUED):  # loading would throw the live run away
        _flash("error", _("Not loaded: {file} would replace the run that is training now. Stop it first "
                          "(and download its checkpoint to keep it), then load the file again.").format(file=upload.name))
        return
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_MB * 2**20:
        _flash("error", _("{file} is larger than {mb} MB; that is not a LEO Explorer checkpoint.").format(
            file=upload.name, mb=MAX_UPLOAD_MB))
        return
    try:
        ckpt = load_checkpoint(data)
        cfg = replace(ckpt.config, device=st.session_state.get("device", "auto"))
        runner().load(cfg, ckpt.state, ckpt.metrics)
    except (CheckpointError, ValueError) as exc:
        _flash("error", _("Cannot load {file}: {reason}").format(file=upload.name, reason=exc))
    else:
        selected = st.session_state.get("family")
        other = (_(" It is a {loaded} checkpoint, not {selected}: the pages now show {loaded} tasks; Continue trains "
                   "it further, Start begins a new {selected} run.").format(loaded=ckpt.config.family, selected=selected)
                 if selected and selected != ckpt.config.family else "")
        _flash("success", _("Loaded {file}: {family} / {algorithm}, {n} iterations trained.{other}").format(
            file=upload.name, family=ckpt.config.family, algorithm=ckpt.config.algorithm, n=ckpt.iteration,
            other=other))


def buttons(snap: RunSnapshot) -> None:
    status = snap.status
    cols = st.columns(6)
    cols[0].button(_("Start"), key="btn_start", type="primary", on_click=_on_start, icon=":material/play_arrow:",
                   width="stretch", help=_("Start a new run with the settings in the sidebar."))
    cols[1].button(_("Pause"), key="btn_pause", on_click=lambda: runner().pause(), icon=":material/pause:",
                   disabled=status != RunStatus.RUNNING, width="stretch",
                   help=_("Pause the run; the thread waits without using the CPU."))
    cols[2].button(_("Resume"), key="btn_resume", on_click=lambda: runner().resume(), icon=":material/resume:",
                   disabled=status != RunStatus.PAUSED, width="stretch", help=_("Resume a paused run."))
    cols[3].button(_("Stop"), key="btn_stop", on_click=lambda: runner().stop(), icon=":material/stop:",
                   disabled=status not in RunStatus.ACTIVE, width="stretch",
                   help=_("End the run now; the θ₀ learned so far is kept."))
    cols[4].button(_("Reset"), key="btn_reset", on_click=lambda: runner().reset(), icon=":material/restart_alt:",
                   disabled=snap.active or status == RunStatus.IDLE, width="stretch",
                   help=_("Forget the run: θ₀, curves and errors."))
    cols[5].button(_("Continue"), key="btn_continue", on_click=_on_continue, icon=":material/fast_forward:",
                   disabled=snap.active or snap.theta0 is None or status == RunStatus.DIVERGED,
                   width="stretch",
                   help=_("Train the current θ₀ (e.g. a loaded checkpoint) for 'Iterations' more, with its own "
                          "settings."))


# -- the live view --------------------------------------------------------------------------------------






def _status_and_loss_view() -> None:
    """Status, numbers and the loss curve; asks for a full rerun when the run ends."""
    snap = runner().snapshot()
    st.session_state[app_state.RUN_KEY] = snap
    was_active = st.session_state.get("_leo_was_active", False)
    st.session_state["_leo_was_active"] = snap.active

    cfg = snap.config
    st.markdown(f"**{_(STATUS_TEXT.get(snap.status, snap.status))}**")
    st.progress(snap.progress, text=_("iteration {done} of {total}").format(done=f"{snap.iteration:,}",
                                                                          total=f"{snap.total:,}")
                if snap.total else None)
    if snap.error:
        st.error(shown(snap.error), icon=":material/error:")
    if snap.save_error:
        st.warning(shown(snap.save_error), icon=":material/save:")

    latest = snap.latest
    classify = snap.family is not None and snap.family.is_classification
    # θₖ, the parameters after the k inner steps (as θ₀ beside it): "after 5 steps" did not fit a fifth of the half page
    theta_k = "θ" + (str(cfg.k).translate(_SUBSCRIPTS) if cfg else "ₖ")
    m = st.container(key="train_metrics").columns(5)
    m[0].metric(_("it / s"), _rate(snap.its_per_sec) if latest else "—", help=_("meta-iterations per second, recent"))
    m[1].metric(_("elapsed"), app_state.fmt_seconds(snap.elapsed) if latest else "—",
                help=_("training time, pauses excluded"))
    m[2].metric(_("ETA"), app_state.fmt_seconds(snap.eta) if snap.active else "—")
    if classify:
        m[3].metric(_("accuracy θ₀"), _percent(latest.pre_accuracy) if latest else "—",
                    help=_("query accuracy of θ₀ alone, no adaptation (this meta-batch)"))
        m[4].metric(_("accuracy {theta}").format(theta=theta_k), _percent(latest.post_accuracy) if latest else "—",
                    help=_("query accuracy after the k inner steps (this meta-batch)"))
    else:
        m[3].metric(_("loss θ₀"), f"{latest.pre_loss:.3f}" if latest else "—",
                    help=_("query loss of θ₀ alone, no adaptation"))
        m[4].metric(_("loss {theta}").format(theta=theta_k), f"{latest.post_loss:.3f}" if latest else "—",
                    help=_("query loss after the k inner steps"))
    if latest is not None and latest.inner_residual is not None:
        st.caption(_("Inner solve: relative stationarity residual ‖∇G(φ)‖/‖∇G(θ₀)‖ = {residual} (stops at {tol} or "
                     "after {steps} steps).").format(residual=f"{latest.inner_residual:.3g}",
                                                     tol=f"{snap.config.imaml_tol:g}",
                                                     steps=snap.config.imaml_max_steps))
    app_state.chart(_curve_figure(snap, classify), "training-curve", key="loss_chart")
    if cfg is not None:  # below the curve: the picture first
        st.caption(_("{family} / {algorithm} · α = {alpha} · β = {beta} ({optimizer}) · k = {k} · {shots} shots · "
                     "meta-batch {meta_batch} · outer loss on {outer_loss}{first_order} · seed {seed}").format(
            family=cfg.family, algorithm=cfg.algorithm, alpha=f"{cfg.alpha:g}", beta=f"{cfg.beta:g}",
            optimizer=cfg.outer_optimizer, k=cfg.k, shots=cfg.shots, meta_batch=cfg.meta_batch,
            outer_loss=_(_OUTER_LOSS_SETS.get(cfg.outer_loss, cfg.outer_loss)),
            first_order=_(" · first-order") if cfg.first_order else "", seed=cfg.seed))
    if was_active and not snap.active:
        st.rerun()  # the run ended: refresh the buttons and stop polling
    if snap.active and period_stale():
        st.rerun()  # the crowd changed: rebuild the fragments with a new period


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _curve_figure(snap: RunSnapshot, classify: bool):
    """The loss curve; for a classification family the accuracy curve unless the loss is chosen."""
    cfg = snap.config
    k = cfg.k if cfg else None
    if classify:
        curve = VIEW["curve_metric"]
        metric = st.segmented_control(shown(curve.label), curve.choices, default=curve.default, key=curve.name,
                                      required=True, format_func=widgets.in_language(_), label_visibility="collapsed",
                                      help=shown(curve.help))
        if metric != "loss":
            return accuracy_curve_figure(snap.columns, k=k, ways=cfg.ways)
    loss_name = LOSSES[snap.family.loss].display if snap.family else LOSSES["mse"].display
    return loss_curve_figure(snap.columns, k=k, loss_name=loss_name)


def _rate(its_per_sec: float) -> str:
    """Iterations per second to two significant digits below 10 (a conv net on a CPU: 0.35), whole above."""
    return f"{its_per_sec:,.0f}" if its_per_sec >= 10 else f"{its_per_sec:.2g}"


_PREVIEW_TITLES = {
    "regions": N_("**Decision regions of θ₀ (top) and after adaptation (bottom) on three fixed tasks**"),
    "images": N_("**One fixed task of held-out {items}: its support images, and the query images judged before and "
                 "after adaptation**"),
}


def _preview_view() -> None:
    snap = runner().snapshot()
    kind = preview_kind(snap.family) if snap.family is not None and snap.family.is_classification else None
    title = _PREVIEW_TITLES.get(kind, N_("**θ₀ and its adaptation on three fixed tasks**"))
    st.markdown(_(title).format(items=_(getattr(snap.family, "items", N_("classes")))))
    steps = VIEW["preview_steps"]
    chosen = st.segmented_control(
        shown(steps.label), steps.choices, default=steps.default, key=steps.name, required=True,
        format_func=widgets.in_language(
            lambda v: _("k (as trained)") if v == "k" else ngettext("{n} step", "{n} steps", int(v)).format(n=v)),
        label_visibility="collapsed", help=shown(steps.help))
    app_state.chart(_preview_figure(snap, chosen), "adaptation-preview", key="preview_chart")


def _preview_figure(snap: RunSnapshot, chosen: str | None):
    if snap.theta0 is None or snap.config is None:
        return empty_figure(_("The learned initialization θ₀ and its fit after k steps appear here."))
    steps = snap.config.k if chosen in (None, PREVIEW_STEPS[0]) else int(chosen)
    if snap.family.is_classification:
        data = classification_preview(snap.model, snap.family, snap.algorithm, snap.meta_params, snap.config.shots,
                                      snap.config.alpha, steps)
        return classification_preview_figure(data)
    tasks = preview_tasks(snap.family, snap.config.shots)
    return adaptation_preview_figure(preview_curves(snap, tasks, steps))


def live_view(active: bool, *, stacked: bool = False) -> None:
    """Two fragments: status, numbers and loss curve every POLL_S; the fit preview every PREVIEW_POLL_S
    (both slower when many runs train at once, see ``_crowd_factor``). Side by side, or one above the other
    (``stacked``: the Lecture, where they share a column with the chapter's text beside it)."""
    crowd = remember_crowd(active)
    left, right = (st.container(), st.container()) if stacked else st.columns(2, gap="large")
    with left:
        st.fragment(app_state.guarded(_status_and_loss_view), run_every=POLL_S * crowd if active else None)()
    with right:
        st.fragment(app_state.guarded(_preview_view), run_every=PREVIEW_POLL_S * crowd if active else None)()


# -- checkpoints ----------------------------------------------------------------------------------------


def checkpoints(snap: RunSnapshot) -> None:
    st.subheader(_("Checkpoints"))
    run = runner()
    down, up = st.columns(2)
    with down:
        ready = snap.theta0 is not None and not snap.status == RunStatus.RUNNING
        name = f"leo-{snap.config.family}-{snap.iteration}it" if snap.config else "leo"
        st.download_button(_("Download checkpoint (.pt)"), data=lambda: run.checkpoint_bytes() or b"",
                           file_name=f"{name}.pt", mime="application/octet-stream", disabled=not ready,
                           key="dl_ckpt", icon=":material/download:", on_click="ignore",
                           help=_("θ₀, optimizer and random state, config and metrics; load it here or with the CLI "
                                  "(python -m leo_core evaluate FILE). Pause or stop the run first."))
        st.download_button(_("Download metrics (.csv)"), data=run.metrics_csv, file_name=f"{name}-metrics.csv",
                           mime="text/csv", disabled=snap.latest is None, key="dl_csv", on_click="ignore",
                           icon=":material/table:", help=_("One row per kept iteration (long runs are thinned)."))
        st.download_button(_("Download run config (.json)"), data=_config_json(snap),
                           file_name=f"{name}-config.json", mime="application/json", disabled=snap.config is None,
                           key="dl_config", on_click="ignore", icon=":material/data_object:",
                           help=_("Every setting of this run, as `python -m leo_core train` writes it to "
                                  "config.json."))
    with up:
        st.file_uploader(_("Load a checkpoint"), type=["pt"], key="upload", on_change=_on_upload,
                         max_upload_size=MAX_UPLOAD_MB,
                         help=_("A .pt file written by this app or `python -m leo_core train` (≤ {mb} MB). It is "
                                "read safely (weights only); press Continue to train it further.").format(
                             mb=MAX_UPLOAD_MB))


def _config_json(snap: RunSnapshot) -> str:
    if snap.config is None:
        return "{}"
    return json.dumps({**snap.config.to_dict(), "iterations_done": snap.iteration, "status": snap.status},
                      indent=2) + "\n"




def show_flash() -> None:
    """The note about the run a link opened, and the message a button callback left, once each."""
    run_note = st.session_state.pop(app_state.RUN_NOTE_KEY, None)
    if run_note:
        st.info(run_note, icon=":material/content_copy:")
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        (st.error if flash[0] == "error" else st.success)(flash[1])
