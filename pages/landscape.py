"""Landscape page: the loss surface around θ₀, the adaptation paths drawn on it and each algorithm's meta-gradient.

Linear family: the exact (θ₀, θ₁) plane. Networks: a 2-D slice through θ₀ (contours, a 3-D surface on request)
and how far the projected path is from the true one. Classification families: the cross-entropy, on tasks from
the meta-test split. This file lays out the widgets and figures; the tasks, the cached grids, the live
meta-gradient section and the handout are ``leo_app.landscape_view``'s.
"""

from __future__ import annotations

import streamlit as st

from figures.landscape import (linear_landscape_figure, projection_check_figure, slice_contour_figure,
                               slice_surface_figure)
from leo_app import landscape_view as view
from leo_app import state as app_state
from leo_app.widgets import setting_widget
from leo_core.i18n import _
from leo_core.page_settings import PAGE_SETTINGS
from leo_core.tasks import TASK_FAMILIES
from leo_core.views import landscape as lv

SETTINGS = PAGE_SETTINGS["landscape"]


def _widget(where, name: str, **overrides):
    return setting_widget(where, SETTINGS[name], **overrides)


def _linear_view(s: view.Scene) -> tuple[float, int]:
    sb = st.sidebar  # the picture first: its settings beside the tasks'
    k = _widget(sb, "land_k", default=s.cfg.k)
    alpha = _widget(sb, "land_alpha", default=view.nearest_alpha(s.cfg.alpha))
    resolution = _widget(sb, "land_res_linear")
    view.clamp_shown(s.batch.n_tasks)
    shown = _widget(sb, "land_shown", high=s.batch.n_tasks) - 1 if s.batch.n_tasks > 1 else 0
    data = view.linear_grid(s, alpha, k, resolution, shown)
    view.chart(linear_landscape_figure(data, shown=shown, loss_name=s.loss_name), "linear-landscape",
               _("The exact loss plane"), key="linear_landscape")
    st.caption(view.linear_caption(s, data))
    return float(alpha), int(k)


def _network_view(s: view.Scene) -> tuple[float, int]:
    sb = st.sidebar  # the picture first: the slice's, the path's and J's settings beside the tasks'
    directions = _widget(sb, "land_dirs", format_func=lv.DIRECTIONS.get)
    surface = _widget(sb, "land_surface", format_func=lv.SURFACES.get)
    resolution = _widget(sb, "land_res_net")
    show_3d = _widget(sb, "land_3d")
    steps = _widget(sb, "land_steps")
    k = _widget(sb, "land_k_net", default=s.cfg.k, disabled=surface != "meta")
    alpha = _widget(sb, "land_alpha_net", default=view.nearest_alpha(s.cfg.alpha))
    span = _widget(sb, "land_span", disabled=directions != "random")
    data = view.network_slice(s, alpha, steps, k, resolution, directions, surface, span)
    label = _(lv.SURFACES[surface]) + (f" (k = {k}, α = {alpha:g})" if surface == "meta" else "")
    left, right = st.columns(2, gap="large")
    view.chart(slice_contour_figure(data, loss_name=s.loss_name, surface_label=label), "landscape-contour",
               _("A slice through θ₀ (contours)"), key="slice_contour", where=left)
    if show_3d:
        view.chart(slice_surface_figure(data, loss_name=s.loss_name), "landscape-surface",
                   _("The same slice as a surface"), key="slice_surface", where=right)
    st.subheader(_("How much does the projection lie?"))
    worst = max(range(len(data.path_loss)), key=lambda j: abs(data.path_loss[j] - data.projected_loss[j]))
    st.markdown(
        _("The path lives in {dims} dimensions; the picture shows two. After {steps} steps the adapted "
          "parameters are **{residual}** away from the plane (they moved {moved} from θ₀). Worst step: j = {worst}, "
          "true support loss **{true_loss}** vs **{projected_loss}** at its projection{where}.").format(
            dims=f"{s.n_params:,}", steps=steps, residual=f"{data.residual[-1]:.3g}",
            moved=f"{data.step_norm[-1]:.3g}", worst=worst, true_loss=f"{data.path_loss[worst]:.3g}",
            projected_loss=f"{data.projected_loss[worst]:.3g}",
            where="" if show_3d else _(" (the chart beside the contours)")))
    # Beside the contours unless the surface is there: a 2-D chart, so the page needs no 3-D plotting library.
    view.chart(projection_check_figure(data, loss_name=s.loss_name), "projection-check",
               _("How much the projection lies"), key="projection_check", where=None if show_3d else right)
    return float(alpha), int(k)


def _meta_gradients(s: view.Scene, alpha: float, k: int) -> None:
    st.subheader(_("The meta-gradient: θ₀'s path and each algorithm's step"))
    st.markdown(_(view.MG_INTRO))
    c1, c2 = st.columns([3, 1])
    algos = SETTINGS["land_mg_algos"]
    chosen = _widget(c1, "land_mg_algos", help=f"{_(algos.help)} {view.skipped_note()}")
    frames = _widget(c2, "land_mg_frames")
    view.meta_gradients(s, alpha, k, chosen, frames)


def main() -> None:
    if app_state.run_inside_app():  # a link straight to this page on a fresh server
        return
    st.title(_("Landscape"))
    st.markdown(_("The loss surface around the initialization θ₀, and the paths tasks take on it. For the "
                  "two-parameter linear model the plane *is* the whole parameter space; for networks it is a 2-D "
                  "slice."))
    found = view.run_start()
    if found is None:
        family = _widget(st, "land_family", default=st.session_state.get("family", "sinusoid"),
                         format_func=lambda key: TASK_FAMILIES[key].title)
        found = view.random_start(family)
        st.info(_(view.RANDOM_NOTE), icon=":material/info:")
    cfg, start = found
    n_tasks = _widget(st.sidebar, "land_tasks")  # the picture first: the tasks' settings in the sidebar
    seed = _widget(st.sidebar, "land_seed")
    s = view.scene(cfg, start, int(n_tasks), int(seed))
    if s.family.is_classification:
        st.info(view.classification_note(s.family), icon=":material/info:")
    st.caption(_("{family} · {sizes} · grid on {device}").format(family=_(s.family.title), sizes=s.sizes,
                                                                   device=s.device))
    alpha, k = _linear_view(s) if s.model.kind == "linear" else _network_view(s)
    _meta_gradients(s, alpha, k)
    view.handout_button(s)


app_state.show_errors(main)
