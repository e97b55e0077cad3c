"""Landscape page: the loss surface around θ₀ and the adaptation paths drawn on it.

Linear family: the exact (θ₀, θ₁) plane — one task's support and query loss, the meta-objective J
after k steps and the plain average loss, with θ₀, the pretrained optimum, task optima and paths.
Networks: a 2-D slice through θ₀ along filter-normalised random or PCA directions, as contours (and
a 3-D surface on request: it needs plotly.js's full bundle and WebGL), and how far the projected path
is from the true one. Classification families use the same views with the cross-entropy loss, on tasks
from the meta-test split.

Grids are one batched computation on the run's device, cached per settings (an LRU in ``st.cache_resource`` keyed
on plain values and a fingerprint of θ₀), with a progress bar while a grid is computed.
"""

from __future__ import annotations

import math
import traceback

import streamlit as st
import torch

from leo_app import state as app_state
from leo_app.lru import LRU
from leo_core.views import adaptation as ad
from leo_core.views import landscape as lv
from leo_core.losses import LOSSES
from leo_core.views import meta_gradients as mg
from leo_core.config import TrainConfig
from leo_core.device import resolve_device
from figures.landscape import (linear_landscape_figure, projection_check_figure, slice_contour_figure,
                                        slice_surface_figure)
from figures.handout import page_html
from figures.meta_gradients import cosine_bar_figure, cosine_figure, meta_gradient_figure
from figures.style import empty_figure
from leo_core.tasks import TASK_FAMILIES
from leo_core.train import make_family, make_model
from leo_app.url_state import LANDSCAPE_ALPHAS as ALPHAS, LANDSCAPE_SCHEMA

HANDOUT_KEY = "_land_handout"  # {chart key: (heading, figure)} of this page's last draw, for the HTML handout
LIVE_POLL_S = 2.0  # the meta-gradient section's refresh period while a linear run trains
LIVE_FRAMES = 8  # animation frames while training (each frame: one meta_step per algorithm)
COSINE_KS = tuple(range(0, 11))
QUERY_POINTS = 50
CACHE_ENTRIES = 32  # grids kept (each a few hundred kB of floats at most)
SWEEP_SEEN_KEY = "_land_sweep_seen"  # the cosine sweep has been in view in this session: compute it at once
SWEEP_LATER = "The cosine sweep (each algorithm's meta-step at 21 settings of α and k) is computed when it comes into view."
SWEEP_HEIGHT = 440  # the sweep chart and its placeholder


def _context() -> tuple[TrainConfig, ad.Start, str | None]:
    """The session's run, or a random initialization of a chosen family (said in a note)."""
    snap = st.session_state.get(app_state.RUN_KEY)
    if snap is not None and snap.meta_params is not None and snap.config is not None:
        return snap.config, ad.Start("meta", f"θ₀ ({snap.config.algorithm})", snap.algorithm, snap.meta_params), None
    family = st.selectbox("Task family (no trained run yet)", list(TASK_FAMILIES), key="land_family",
                          index=list(TASK_FAMILIES).index(st.session_state.get("family", "sinusoid")),
                          format_func=lambda k: TASK_FAMILIES[k].title)
    cfg = TrainConfig(family=family, device="cpu")
    model = make_model(make_family(cfg), cfg)
    note = ("No trained run in this session yet: the surfaces are drawn around a **random initialization** "
            "(for the linear family, the origin). Train a run on the **Train** page to see the learned θ₀.")
    return cfg, ad.random_start(model, cfg.seed), note


def _device(cfg: TrainConfig) -> torch.device:
    try:
        return resolve_device(cfg.device)
    except ValueError:
        return torch.device("cpu")


@st.cache_resource(show_spinner=False)
def _grids() -> LRU:
    # Not st.cache_data: a live progress bar drawn from inside a cached function is an element on a
    # block created outside it, which st.cache_data refuses to replay (CacheReplayClosureError).
    # The key holds only plain values and a fingerprint of θ₀, as a cache_data key would.
    return LRU(CACHE_ENTRIES)


def _cached(key: tuple, compute):
    """The grid for ``key`` from the cache, or computed now under a progress bar."""
    bar = st.empty()

    def update(fraction: float) -> None:
        bar.progress(min(1.0, fraction), text=f"evaluating the grid… {100 * fraction:.0f}%")

    try:
        return _grids().get_or_compute(key, lambda: compute(update))
    finally:
        bar.empty()


def _chart(fig, name: str, heading: str, *, key: str, where=None) -> None:
    """Draw a chart and keep it for the page's HTML handout."""
    st.session_state.setdefault(HANDOUT_KEY, {})[key] = (heading, fig)
    app_state.chart(fig, name, key=key, where=where)


def _linear_view(cfg, model, family, start, batch, key, device) -> tuple[float, int]:
    c1, c2, c3, c4 = st.columns(4)
    k = c1.slider("Inner steps k in J", 0, 20, cfg.k, key="land_k",
                  help="J(θ) = mean over tasks of the query loss after k steps from θ. k = 0 is the plain average "
                       "loss; watch J's minimum move away from the pretrained optimum as k grows.")
    alpha = c2.select_slider("Inner step size α", ALPHAS, value=min(ALPHAS, key=lambda a: abs(a - cfg.alpha)),
                             key="land_alpha", format_func=lambda v: f"{v:g}",
                             help="Step size of the k steps in J and in the drawn paths.")
    resolution = c3.slider("Grid resolution", 11, 101, 61, step=2, key="land_res_linear",
                           help="Points per axis; the exact plane is cheap (a few ms per 1,000 points).")
    if st.session_state.get("land_shown", 1) > batch.n_tasks:  # fewer tasks than a link (or the last view) showed
        st.caption(f"Task {st.session_state['land_shown']} is not among the {batch.n_tasks} tasks drawn: "
                   f"showing task {batch.n_tasks}.")
        st.session_state["land_shown"] = batch.n_tasks
    shown = c4.slider("Task shown in the top panels", 1, batch.n_tasks, 1, key="land_shown") - 1
    data = _cached(("linear", *key, float(alpha), int(k), int(resolution), int(shown), str(device)), lambda progress:
                   lv.linear_landscape(model, family, start.algorithm, start.meta_params, batch, float(alpha), int(k),
                                       int(resolution), int(shown), device, progress))
    _chart(linear_landscape_figure(data, shown=shown, loss_name=LOSSES[family.loss].display),
           "linear-landscape", "The exact loss plane", key="linear_landscape")
    best = min(((v, i, j) for j, row in enumerate(data.meta) for i, v in enumerate(row)))
    st.caption(f"Star: θ₀ = ({data.theta0[0]:.2f}, {data.theta0[1]:.2f}). Diamond: pretrained optimum "
               f"({data.pretrained[0]:.2f}, {data.pretrained[1]:.2f}), the minimiser of the average loss. "
               f"J's lowest grid point for k = {k}: ({data.a[best[1]]:.2f}, {data.b[best[2]]:.2f}). "
               "Crosses: each task's least-squares optimum; orange: its k-step path from θ₀. "
               "J uses plain gradient steps with α (the paths use the run's own adaptation rule).")
    return float(alpha), int(k)


def _network_view(cfg, model, family, start, batch, key, device) -> tuple[float, int]:
    c1, c2, c3, c4 = st.columns([3, 3, 3, 2])
    directions = c1.radio("Directions", list(lv.DIRECTIONS), format_func=lv.DIRECTIONS.get, key="land_dirs",
                          help="Random directions, each filter rescaled to its weights' norm (Li et al. 2018), or "
                               "the two directions in which the tasks' adaptation paths move most.")
    surface = c2.selectbox("Surface", list(lv.SURFACES), format_func=lv.SURFACES.get, key="land_surface")
    resolution = c3.slider("Grid resolution", 11, 61, 31, step=2, key="land_res_net",
                           help="Points per axis. 41 × 41 on the default MLP takes about a second on one CPU core.")
    show_3d = c4.toggle("3-D surface", key="land_3d",
                        help="Draw the slice as a rotatable 3-D surface beside the contours. It loads a larger "
                             "plotting library (about 3 MB more) and needs WebGL in the browser.")
    sb = st.sidebar  # the picture first: the path's and J's settings beside the tasks'
    steps = sb.slider("Adaptation steps on the path", 1, 30, 10, key="land_steps")
    k = sb.slider("k in J", 0, 10, cfg.k, key="land_k_net", disabled=surface != "meta")
    alpha = sb.select_slider("Inner step size α", ALPHAS, value=min(ALPHAS, key=lambda a: abs(a - cfg.alpha)),
                             key="land_alpha_net", format_func=lambda v: f"{v:g}")
    span = sb.slider("Half-width (random directions)", 0.1, 3.0, 1.0, step=0.1, key="land_span",
                     disabled=directions != "random",
                     help="In units of the filter-normalised directions; the grid grows to include the path.")
    settings = (float(alpha), int(steps), int(k), int(resolution), directions, surface, float(span))
    data = _cached(("slice", *key, *settings, str(device)), lambda progress: lv.network_slice(
        model, family, start.algorithm, start.meta_params, batch, *settings, seed=0, device=device, progress=progress))
    loss_name = LOSSES[family.loss].display
    label = lv.SURFACES[surface] + (f" (k = {k}, α = {alpha:g})" if surface == "meta" else "")
    left, right = st.columns(2, gap="large")
    _chart(slice_contour_figure(data, loss_name=loss_name, surface_label=label), "landscape-contour",
           "A slice through θ₀ (contours)", key="slice_contour", where=left)
    if show_3d:
        _chart(slice_surface_figure(data, loss_name=loss_name), "landscape-surface", "The same slice as a surface",
               key="slice_surface", where=right)
    st.subheader("How much does the projection lie?")
    worst = max(range(len(data.path_loss)), key=lambda j: abs(data.path_loss[j] - data.projected_loss[j]))
    st.markdown(
        f"The path lives in {sum(v.numel() for v in start.meta_params.values()):,} dimensions; the picture shows "
        f"two. After {steps} steps the adapted parameters are **{data.residual[-1]:.3g}** away from the plane "
        f"(they moved {data.step_norm[-1]:.3g} from θ₀). Worst step: j = {worst}, true support loss "
        f"**{data.path_loss[worst]:.3g}** vs **{data.projected_loss[worst]:.3g}** at its projection"
        + ("." if show_3d else " (the chart beside the contours)."))
    # Beside the contours unless the surface is there: a 2-D chart, so the page needs no 3-D plotting library.
    _chart(projection_check_figure(data, loss_name=loss_name), "projection-check", "How much the projection lies",
           key="projection_check", where=None if show_3d else right)
    return float(alpha), int(k)


_MG_INTRO = ("Every arrow is one algorithm's update of θ₀ (−its meta-gradient, before the step size β), computed by "
             "that algorithm's own meta-step on **the same meta-batch** (the tasks drawn above), with the page's α "
             "and k. All arrows are drawn at one length; the legend gives each norm. The axes share one scale, "
             "so leo's arrow — the true meta-gradient — is perpendicular to J's contours.")


def _mg_settings() -> tuple[list[str], int]:
    c1, c2 = st.columns([3, 1])
    options = list(mg.arrow_keys())
    keys = c1.multiselect("Algorithms drawn", options, None if "land_mg_algos" in st.session_state else options,
                          key="land_mg_algos",
                          help="leo (second order) is the reference every cosine is measured against. "
                               + " ".join(f"{k} is not drawn: {why}." for k, why in mg.SKIPPED.items()
                                          if k in _registered()))
    frames = c2.slider("Animation frames", 2, 60, 30, key="land_mg_frames",
                       help="Points along θ₀'s path where the arrows are computed (the slider's stops).")
    return [mg.REFERENCE, *(k for k in keys if k != mg.REFERENCE)], int(frames)


def _registered() -> list[str]:
    from leo_core.algorithms import ALGORITHMS

    return list(ALGORITHMS)


def _meta_gradients(cfg, model, family, start, batch, key, device, alpha: float, k: int) -> None:
    st.subheader("The meta-gradient: θ₀'s path and each algorithm's step")
    st.markdown(_MG_INTRO)
    keys, frames = _mg_settings()
    if family.is_classification:  # updates are taken on meta-training tasks, as in training
        batch = family.sample(batch.n_tasks, cfg.shots, cfg.query, torch.Generator().manual_seed(0), "cpu",
                              batch.x_support.dtype, split="train")
    snap = st.session_state.get(app_state.RUN_KEY)
    live = model.kind == "linear" and snap is not None and snap.active and app_state.RUNNER_KEY in st.session_state

    def section() -> None:
        run = st.session_state[app_state.RUNNER_KEY].snapshot() if live else snap
        meta_params, path, label = start.meta_params, None, start.label
        if run is not None and run.meta_params is not None and run.config is not None and start.key == "meta":
            meta_params, path = run.meta_params, run.theta_path
        theta0 = {n: v.detach() for n, v in start.algorithm.initialization(meta_params).items()}
        _meta_gradient_body(cfg, model, family, theta0, path, batch, key, device, alpha, k, keys,
                            min(frames, LIVE_FRAMES) if live and run.active else frames, live and run.active, label)

    if live:
        st.fragment(app_state.guarded(section), run_every=LIVE_POLL_S)()
    else:
        section()
    _cosine_sweep(cfg, model, family, start, batch, key, device, alpha, k, keys, live)


def _sweep_seen() -> None:
    st.session_state[SWEEP_SEEN_KEY] = True


def _cosine_sweep(cfg, model, family, start, batch, key, device, alpha: float, k: int, keys, live: bool) -> None:
    """cos with leo's direction against α and k, at θ₀ as of this page run (not refreshed live: 21 × 5 meta-steps).

    At the bottom of the page, below the fold: until a reader has scrolled to it once in this session, a sweep
    not cached yet is computed only when its placeholder comes into view (the component asks for a rerun), so
    the page's first picture does not wait for it."""
    pcfg = mg.direction_config(cfg, alpha, k)
    b = batch.to(device)
    theta0 = {n: v.detach().to(device) for n, v in start.algorithm.initialization(start.meta_params).items()}
    sweep_key = ("mg-sweep", *key, ad.fingerprint(theta0), float(alpha), int(k), tuple(keys), str(device))
    if st.session_state.get(SWEEP_SEEN_KEY) or _grids().has(sweep_key):
        sweep = _cached(sweep_key, lambda progress: mg.cosine_sweep(model, family, theta0, b, pcfg, alpha, k, ALPHAS,
                                                                    COSINE_KS, keys, progress))
        _chart(cosine_figure(sweep, height=SWEEP_HEIGHT), "meta-gradient-cosine-sweep",
               "Cosine with the true meta-gradient as α and k change", key="meta_gradient_cosines")
    else:
        app_state.chart(empty_figure(SWEEP_LATER, height=SWEEP_HEIGHT), "meta-gradient-cosine-sweep",
                        key="meta_gradient_cosines", on_seen=_sweep_seen)
    st.caption("cos(direction, leo's) at θ₀ on the same meta-batch: against α at the page's k (left) and "
               "against k at the page's α (right); dotted lines mark the page's values. First order → 1 as α → 0; "
               "Reptile with k = 1 is the pretraining gradient, and has no direction with k = 0 (a gap)."
               + (" While the run trains this chart keeps θ₀ as of the page's last full run (change a setting to "
                  "refresh it); the arrows above update live." if live else ""))


def _meta_gradient_body(cfg, model, family, theta0, path, batch, key, device, alpha, k, keys, frames, live,
                        label) -> None:
    pcfg = mg.direction_config(cfg, alpha, k)
    b = batch.to(device)
    theta0 = {n: v.to(device) for n, v in theta0.items()}
    fp = ad.fingerprint(theta0)
    path_key = (len(path), tuple(path[-1])) if path else None
    loss_name = LOSSES[family.loss].display
    if model.kind == "linear":
        data = _cached(("mg-linear", *key, fp, path_key, float(alpha), int(k), int(frames), tuple(keys), str(device)),
                       lambda progress: mg.linear_meta_gradients(model, family, theta0, path, b, pcfg, alpha, k, 61,
                                                                 frames, keys, progress))
        _chart(meta_gradient_figure(data, loss_name=loss_name), "meta-gradients",
               "θ₀'s path and each algorithm's step", key="meta_gradients_chart")
        now = data.frames[-1]
        n_path = len(path) if path else 0
        st.caption(
            (f"θ₀'s path: {n_path:,} recorded points up to iteration {path[-1][0]:,}" if path else
             "No recorded path (a random start, or a run or checkpoint from before paths were recorded): θ₀ alone")
            + (f" · updating every {LIVE_POLL_S:g} s while the run trains ({frames} frames)" if live else "")
            + ". At θ₀ now: " + ", ".join(f"{d.key} cos = {d.cosine:.3f}" for d in now.directions
                                             if d.key != mg.REFERENCE and d.cosine is not None) + ".")
    else:
        dirs = _cached(("mg-net", *key, fp, float(alpha), int(k), tuple(keys), str(device)),
                       lambda progress: mg.directions(model, family, theta0, b, pcfg, keys))
        n_params = sum(v.numel() for v in theta0.values())
        _chart(cosine_bar_figure(dirs, n_params=n_params), "meta-gradient-cosines",
               "Each algorithm's step against the true meta-gradient", key="meta_gradients_chart")
        st.caption(f"Arrows in {n_params:,} dimensions cannot be drawn; the bars give each direction's cosine with "
                   f"leo's meta-gradient at θ₀ (α = {alpha:g}, k = {k}, the slice's settings above).")


def _handout(cfg, start, family) -> None:
    figures = st.session_state.get(HANDOUT_KEY, {})  # the dict a live fragment keeps updating
    snap = st.session_state.get(app_state.RUN_KEY)
    run = (f"{cfg.family} / {cfg.algorithm}, α = {cfg.alpha:g}, β = {cfg.beta:g}, k = {cfg.k}, "
           f"{snap.iteration:,} meta-iterations ({snap.status})" if start.key == "meta" and snap is not None
           else f"{family.title}, random initialization")
    settings = [("run", run), *((name, st.session_state[name]) for name in LANDSCAPE_SCHEMA if name in st.session_state)]

    def build() -> str:
        return page_html("LEO Explorer — Landscape", list(figures.values()), settings,
                         intro="The loss surface around the initialization θ₀, θ₀'s meta-training path and each "
                               "algorithm's update at θ₀, as the app's Landscape page drew them.")

    st.download_button("Download this page as HTML", data=build, file_name="leo-landscape.html", mime="text/html",
                       icon=":material/download:", on_click="ignore",
                       help="One self-contained file: every chart of this page with its animation frames "
                            "(plotly.js inside, opens offline) and the page's settings. About 5 MB.")


def main() -> None:
    if app_state.run_inside_app():  # a link straight to this page on a fresh server
        return
    st.title("Landscape")
    st.markdown("The loss surface around the initialization θ₀, and the paths tasks take on it. For the two-parameter "
                "linear model the plane *is* the whole parameter space; for networks it is a 2-D slice.")
    cfg, start, note = _context()
    if note:
        st.info(note, icon=":material/info:")
    family = make_family(cfg)
    model = make_model(family, cfg)
    c1 = c2 = st.sidebar  # the picture first: the tasks' settings in the sidebar
    n_tasks = c1.slider("Tasks (for J and the paths)", 1, 10, 5, key="land_tasks",
                        help="Tasks drawn for the meta-objective, the average loss and the drawn paths.")
    seed = c2.number_input("Task seed", 0, 2**31 - 1, 0, key="land_seed")
    device = _device(cfg)
    if family.is_classification:  # N-way tasks from the meta-test split; shots and query are per class
        query = family.eval_query
        batch = family.sample(int(n_tasks), cfg.shots, query, torch.Generator().manual_seed(int(seed)), split="test")
        st.info(f"A classification family: the loss is the **cross-entropy** of {family.ways}-way tasks from the "
                f"meta-test split. Labels are permuted per task, so any θ₀ alone is near chance on average "
                f"(cross-entropy ln {family.ways} ≈ {math.log(family.ways):.2f}); the meta-objective J after k steps "
                "is where a meta-learned θ₀ shows its worth.", icon=":material/info:")
        sizes = f"{family.ways} classes × ({cfg.shots} support + {query} query) examples per task"
    else:
        query = QUERY_POINTS
        batch = family.sample(int(n_tasks), cfg.shots, query, torch.Generator().manual_seed(int(seed)))
        sizes = f"{cfg.shots} support and {query} query points per task"
    key = (cfg.family, getattr(family, "ways", None), repr(model.spec()), start.algorithm.key,
           ad.fingerprint(start.meta_params), cfg.shots, int(n_tasks), int(seed))
    st.caption(f"{family.title} · {sizes} · grid on {device}")
    st.session_state[HANDOUT_KEY] = {}
    if model.kind == "linear":
        alpha, k = _linear_view(cfg, model, family, start, batch, key, device)
    else:
        alpha, k = _network_view(cfg, model, family, start, batch, key, device)
    _meta_gradients(cfg, model, family, start, batch, key, device, alpha, k)
    _handout(cfg, start, family)


try:
    main()
except ValueError as exc:
    st.error(str(exc))
except Exception as exc:  # never a traceback on screen
    st.error(f"Something went wrong on this page: {type(exc).__name__}: {exc}")
    print(traceback.format_exc())
