"""What the Landscape page computes and keeps, so that the page itself only lays out widgets and figures.

``run_start``/``random_start`` pick θ₀ (the session's run or a random initialization), ``scene`` draws the
seeded tasks on the run's device and keys them; ``linear_grid`` and ``network_slice`` are the page's grids,
one batched computation each, kept in an LRU in ``st.cache_resource`` (keyed on plain values and a
fingerprint of θ₀) and computed under a progress bar. ``meta_gradients`` draws the meta-gradient section:
the arrows (refreshed every ``LIVE_POLL_S`` while a linear run trains) and the cosine sweep, which waits
below the fold until a reader has scrolled to it once (``SWEEP_SEEN_KEY``). ``chart`` draws a chart and
keeps it for the page's HTML handout (``handout_button``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

import streamlit as st
import torch

from figures.handout import page_html
from figures.meta_gradients import cosine_bar_figure, cosine_figure, meta_gradient_figure
from figures.style import empty_figure
from leo_core.algorithms import ALGORITHMS
from leo_core.config import TrainConfig
from leo_core.device import resolve_device
from leo_core.i18n import N_, _, language, use_language
from leo_core.losses import LOSSES
from leo_core.page_settings import PAGE_SETTINGS
from leo_core.models import Model, Params
from leo_core.tasks import TaskBatch, TaskFamily
from leo_core.train import make_family, make_model
from leo_core.views import adaptation as ad
from leo_core.views import landscape as lv
from leo_core.views import meta_gradients as mg
from . import state as app_state
from .lru import LRU
from .url_state import LANDSCAPE_ALPHAS as ALPHAS, LANDSCAPE_SCHEMA
from .widgets import follow_run

__all__ = ["Scene", "run_start", "random_start", "nearest_alpha", "scene", "classification_note", "clamp_shown",
           "linear_grid", "network_slice", "chart", "skipped_note", "meta_gradients", "handout_button", "grids",
           "HANDOUT_KEY", "RANDOM_NOTE", "LIVE_POLL_S", "LIVE_FRAMES", "CACHE_ENTRIES", "SWEEP_SEEN_KEY", "SWEEP_LATER", "MG_INTRO"]

HANDOUT_KEY = "_land_handout"  # {chart key: (heading, figure)} of this page's last draw, for the HTML handout
LIVE_POLL_S = 2.0  # the meta-gradient section's refresh period while a linear run trains
LIVE_FRAMES = 8  # animation frames while training (each frame: one meta_step per algorithm)
COSINE_KS = tuple(range(0, 11))
QUERY_POINTS = 50
CACHE_ENTRIES = 32  # grids kept (each a few hundred kB of floats at most)
SWEEP_SEEN_KEY = "_land_sweep_seen"  # the cosine sweep has been in view in this session: compute it at once
SWEEP_LATER = N_("The cosine sweep (each algorithm's meta-step at 21 settings of α and k) is computed when it comes "
                 "into view.")
SWEEP_HEIGHT = 440  # the sweep chart and its placeholder
RANDOM_NOTE = N_("No trained run in this session yet: the surfaces are drawn around a **random initialization** "
                 "(for the linear family, the origin). Train a run on the **Train** page to see the learned θ₀.")
MG_INTRO = N_("Every arrow is one algorithm's update of θ₀ (−its meta-gradient, before the step size β), computed "
              "by that algorithm's own meta-step on **the same meta-batch** (the tasks drawn above), with the page's "
              "α and k. All arrows are drawn at one length; the legend gives each norm. The axes share one scale, "
              "so leo's arrow — the true meta-gradient — is perpendicular to J's contours. The line under the chart "
              "says what to look at.")

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Scene:
    """θ₀, its model and the seeded tasks drawn around it; ``key`` identifies them in the grids' cache."""

    cfg: TrainConfig
    start: ad.Start
    family: TaskFamily
    model: Model
    batch: TaskBatch
    key: tuple
    device: torch.device
    sizes: str  # the tasks' sizes, for the page's caption

    @property
    def loss_name(self) -> str:
        return _(LOSSES[self.family.loss].display)

    @property
    def n_params(self) -> int:
        return sum(v.numel() for v in self.start.meta_params.values())


def run_start() -> tuple[TrainConfig, ad.Start] | None:
    """The session's trained (or training) run and its θ₀, or None when there is none yet."""
    snap = st.session_state.get(app_state.RUN_KEY)
    if snap is None or snap.meta_params is None or snap.config is None:
        return None
    follow_run("landscape", snap.run_id, ("land_k", "land_alpha", "land_k_net", "land_alpha_net"))
    return snap.config, ad.Start("meta", f"θ₀ ({snap.config.algorithm})", snap.algorithm, snap.meta_params)


def random_start(family: str) -> tuple[TrainConfig, ad.Start]:
    """A random initialization of ``family``'s model (on the CPU), what a run would start from."""
    cfg = TrainConfig(family=family, device="cpu")
    return cfg, ad.random_start(make_model(make_family(cfg), cfg), cfg.seed)


def nearest_alpha(alpha: float) -> float:
    """The page's α stop nearest to a run's α (the α sliders' default)."""
    return min(ALPHAS, key=lambda a: abs(a - alpha))


def _device(cfg: TrainConfig) -> torch.device:
    try:
        return resolve_device(cfg.device)
    except ValueError:
        return torch.device("cpu")


def scene(cfg: TrainConfig, start: ad.Start, n_tasks: int, seed: int) -> Scene:
    """``n_tasks`` tasks drawn with ``seed`` (a classification family's from its meta-test split); starts this draw's
    handout."""
    family = make_family(cfg)
    model = make_model(family, cfg)
    generator = torch.Generator().manual_seed(seed)
    if family.is_classification:  # N-way tasks; shots and query are per class
        query = family.eval_query
        batch = family.sample(n_tasks, cfg.shots, query, generator, split="test")
        sizes = _("{ways} classes × ({shots} support + {query} query) examples per task").format(
            ways=family.ways, shots=cfg.shots, query=query)
    else:
        batch = family.sample(n_tasks, cfg.shots, QUERY_POINTS, generator)
        sizes = _("{shots} support and {query} query points per task").format(shots=cfg.shots, query=QUERY_POINTS)
    key = (cfg.family, getattr(family, "ways", None), repr(model.spec()), start.algorithm.key,
           ad.fingerprint(start.meta_params), cfg.shots, n_tasks, seed)
    st.session_state[HANDOUT_KEY] = {}  # this draw's charts
    return Scene(cfg, start, family, model, batch, key, _device(cfg), sizes)


def classification_note(family: TaskFamily) -> str:
    return _("A classification family: the loss is the **cross-entropy** of {ways}-way tasks from the meta-test "
             "split. Labels are permuted per task, so any θ₀ alone is near chance on average (cross-entropy "
             "ln {ways} ≈ {chance}); the meta-objective J after k steps is where a meta-learned θ₀ shows its "
             "worth.").format(ways=family.ways, chance=f"{math.log(family.ways):.2f}")


def clamp_shown(n_tasks: int) -> None:
    """Bring the shown task within the ``n_tasks`` drawn (a link, or the last view, may have shown more), and say so."""
    if st.session_state.get("land_shown", 1) > n_tasks:
        st.caption(_("Task {shown} is not among the {n} tasks drawn: showing task {n}.").format(
            shown=st.session_state["land_shown"], n=n_tasks))
        st.session_state["land_shown"] = n_tasks


@st.cache_resource(show_spinner=False)
def grids() -> LRU:
    """The grids of every session. Not st.cache_data: a live progress bar drawn from inside a cached function is
    an element on a block created outside it, which st.cache_data refuses to replay (CacheReplayClosureError).
    The key holds only plain values and a fingerprint of θ₀, as a cache_data key would."""
    return LRU(CACHE_ENTRIES)


def _cached(key: Hashable, compute: Callable[[Progress], Any]) -> Any:
    """The grid for ``key`` from the cache, or computed now under a progress bar."""
    bar = st.empty()

    def update(fraction: float) -> None:
        text = _("evaluating the grid… {percent}%").format(percent=f"{100 * fraction:.0f}")
        bar.progress(min(1.0, fraction), text=text)

    try:
        return grids().get_or_compute(key, lambda: compute(update))
    finally:
        bar.empty()


def linear_grid(s: Scene, alpha: float, k: int, resolution: int, shown: int) -> lv.LinearLandscape:
    """The exact (θ₀, θ₁) plane: task ``shown``'s losses, J after ``k`` steps of ``alpha``, the average loss."""
    alpha, k, resolution, shown = float(alpha), int(k), int(resolution), int(shown)
    return _cached(("linear", *s.key, alpha, k, resolution, shown, str(s.device)), lambda progress: lv.linear_landscape(
        s.model, s.family, s.start.algorithm, s.start.meta_params, s.batch, alpha, k, resolution, shown, s.device,
        progress))


REACHED = 0.1  # θ₀ this close to J's family minimum has reached it: SGD on 25-task meta-batches hovers about as far


def linear_caption(s: Scene, data: lv.LinearLandscape) -> str:
    """What the exact plane's marks are, and how far θ₀ is from J's minimum over the whole family (where
    meta-training with the page's α and k takes it; the J drawn averages only the tasks shown)."""
    t0 = data.theta0
    text = _("Star: θ₀ = ({a}, {b}). Diamond: pretrained optimum ({pa}, {pb}), the minimiser of the average "
             "loss. ").format(a=f"{t0[0]:.2f}", b=f"{t0[1]:.2f}", pa=f"{data.pretrained[0]:.2f}",
                              pb=f"{data.pretrained[1]:.2f}")
    opt = data.family_optimum
    if opt is not None:
        away = math.dist(t0, opt)
        same = (data.alpha, data.k) == (float(s.cfg.alpha), int(s.cfg.k)) and s.start.key == "meta"
        text += _("Circle: J's minimum over the whole family ({n} fresh tasks, exact), ({a}, {b}), {away} from "
                  "θ₀").format(n=f"{lv.FAMILY_TASKS:,}", a=f"{opt[0]:.2f}", b=f"{opt[1]:.2f}", away=f"{away:.2f}")
        if same:
            text += (_(" — the run's α and k: training walks the star there (Continue). ") if away > REACHED else
                     _(" — the run's α and k: training has taken θ₀ there; J drawn averages only the tasks shown, "
                       "so its lowest point lies elsewhere. "))
        else:
            text += _(" (α and k differ from the run's: training with these would take θ₀ there). ")
    return text + _("Crosses: each task's least-squares optimum; orange: its k-step path from θ₀. J uses plain "
                    "gradient steps with α (the paths use the run's own adaptation rule).")


def network_slice(s: Scene, alpha: float, steps: int, k: int, resolution: int, directions: str, surface: str,
                  span: float) -> lv.NetworkSlice:
    """A 2-D slice through θ₀ along ``directions``, with each task's ``steps``-step path projected onto it."""
    settings = (float(alpha), int(steps), int(k), int(resolution), directions, surface, float(span))
    return _cached(("slice", *s.key, *settings, str(s.device)), lambda progress: lv.network_slice(
        s.model, s.family, s.start.algorithm, s.start.meta_params, s.batch, *settings, seed=0, device=s.device,
        progress=progress))


def chart(fig, name: str, heading: str, *, key: str, where=None) -> None:
    """Draw a chart and keep it for the page's HTML handout."""
    st.session_state.setdefault(HANDOUT_KEY, {})[key] = (heading, fig)
    app_state.chart(fig, name, key=key, where=where)


def skipped_note() -> str:
    """Why the registered algorithms without an arrow are not drawn (the algorithms menu's help)."""
    return " ".join(_("{algorithm} is not drawn: {why}.").format(algorithm=k, why=_(why))
                    for k, why in mg.SKIPPED.items() if k in ALGORITHMS)


def meta_gradients(s: Scene, alpha: float, k: int, chosen: Sequence[str], frames: int) -> None:
    """The arrows of the ``chosen`` algorithms (leo's always), live while a linear run trains, and the sweep below."""
    keys = [mg.REFERENCE, *(a for a in chosen if a != mg.REFERENCE)]
    alpha, k, frames = float(alpha), int(k), int(frames)
    batch = s.batch
    if s.family.is_classification:  # updates are taken on meta-training tasks, as in training
        batch = s.family.sample(batch.n_tasks, s.cfg.shots, s.cfg.query, torch.Generator().manual_seed(0), "cpu",
                                batch.x_support.dtype, split="train")
    snap = st.session_state.get(app_state.RUN_KEY)
    live = (s.model.kind == "linear" and snap is not None and snap.active
            and app_state.RUNNER_KEY in st.session_state)

    def section() -> None:
        run = st.session_state[app_state.RUNNER_KEY].snapshot() if live else snap
        meta_params, path = s.start.meta_params, None
        if run is not None and run.meta_params is not None and run.config is not None and s.start.key == "meta":
            meta_params, path = run.meta_params, run.theta_path
        theta0 = {n: v.detach() for n, v in s.start.algorithm.initialization(meta_params).items()}
        training = live and run.active
        _arrows(s, theta0, path, batch, alpha, k, keys, min(frames, LIVE_FRAMES) if training else frames, training)

    if live:
        st.fragment(app_state.guarded(section), run_every=LIVE_POLL_S)()
    else:
        section()
    _cosine_sweep(s, batch, alpha, k, keys, live)


def _arrows(s: Scene, theta0: Params, path: list | None, batch: TaskBatch, alpha: float, k: int, keys: list[str],
            frames: int, live: bool) -> None:
    """Each algorithm's step at θ₀: arrows on J's contours along θ₀'s path (linear), else cosine bars."""
    pcfg = mg.direction_config(s.cfg, alpha, k)
    b = batch.to(s.device)
    theta0 = {n: v.to(s.device) for n, v in theta0.items()}
    fp = ad.fingerprint(theta0)
    if s.model.kind != "linear":
        dirs = _cached(("mg-net", *s.key, fp, alpha, k, tuple(keys), str(s.device)),
                       lambda progress: mg.directions(s.model, s.family, theta0, b, pcfg, keys))
        n_params = sum(v.numel() for v in theta0.values())
        chart(cosine_bar_figure(dirs, n_params=n_params), "meta-gradient-cosines",
              _("Each algorithm's step against the true meta-gradient"), key="meta_gradients_chart")
        st.caption(_("Arrows in {n} dimensions cannot be drawn; the bars give each direction's cosine with leo's "
                     "meta-gradient at θ₀ (α = {alpha}, k = {k}, the slice's settings above).").format(
            n=f"{n_params:,}", alpha=f"{alpha:g}", k=k))
        st.markdown(look_at(dirs, alpha, k))
        return
    path_key = (len(path), tuple(path[-1])) if path else None
    data = _cached(("mg-linear", *s.key, fp, path_key, alpha, k, frames, tuple(keys), str(s.device)),
                   lambda progress: mg.linear_meta_gradients(s.model, s.family, theta0, path, b, pcfg, alpha, k, 61,
                                                             frames, keys, progress))
    chart(meta_gradient_figure(data, loss_name=s.loss_name), "meta-gradients",
          _("θ₀'s path and each algorithm's step"), key="meta_gradients_chart")
    cosines = ", ".join(f"{d.key} cos = {d.cosine:.3f}" for d in data.frames[-1].directions
                        if d.key != mg.REFERENCE and d.cosine is not None)
    st.caption(
        (_("θ₀'s path: {n} recorded points up to iteration {iteration}").format(n=f"{len(path):,}",
                                                                              iteration=f"{path[-1][0]:,}")
         if path else
         _("No recorded path (a random start, or a run or checkpoint from before paths were recorded): θ₀ alone"))
        + (_(" · updating every {seconds} s while the run trains ({frames} frames)").format(
            seconds=f"{LIVE_POLL_S:g}", frames=frames) if live else "")
        + _(". At θ₀ now: {cosines}.").format(cosines=cosines))
    st.markdown(look_at(data.frames[-1].directions, alpha, k))


def look_at(directions: Sequence[Any], alpha: float, k: int) -> str:
    """One line on what the arrows show at θ₀: the update furthest from leo's, or that they all coincide here."""
    others = [d for d in directions if d.key != mg.REFERENCE and d.cosine is not None]
    if not others:
        return ""
    far = min(others, key=lambda d: d.cosine)
    if far.cosine >= 0.99:
        return _("**What to look at:** at α = {alpha} and k = {k} every update points where leo's does (all "
                 "cosines ≥ 0.99): the algorithms differ by terms of order αk‖H‖, so raise k (to 3 or more) or α in "
                 "the sidebar and watch the arrows part.").format(alpha=f"{alpha:g}", k=k)
    angle = math.degrees(math.acos(max(-1.0, min(1.0, far.cosine))))
    return _("**What to look at:** {algorithm}'s update is the furthest from the true meta-gradient here, {angle}° "
             "away (cos = {cosine}); change α or k in the sidebar and watch how that angle moves.").format(
        algorithm=far.key, angle=f"{angle:.0f}", cosine=f"{far.cosine:.2f}")


def _sweep_seen() -> None:
    st.session_state[SWEEP_SEEN_KEY] = True


def _cosine_sweep(s: Scene, batch: TaskBatch, alpha: float, k: int, keys: list[str], live: bool) -> None:
    """cos with leo's direction against α and k, at θ₀ as of this page run (not refreshed live: 21 × 5 meta-steps).

    At the bottom of the page, below the fold: until a reader has scrolled to it once in this session, a sweep
    not cached yet is computed only when its placeholder comes into view (the component asks for a rerun), so
    the page's first picture does not wait for it."""
    pcfg = mg.direction_config(s.cfg, alpha, k)
    b = batch.to(s.device)
    theta0 = {n: v.detach().to(s.device) for n, v in s.start.algorithm.initialization(s.start.meta_params).items()}
    sweep_key = ("mg-sweep", *s.key, ad.fingerprint(theta0), alpha, k, tuple(keys), str(s.device))
    if st.session_state.get(SWEEP_SEEN_KEY) or grids().has(sweep_key):
        sweep = _cached(sweep_key, lambda progress: mg.cosine_sweep(s.model, s.family, theta0, b, pcfg, alpha, k,
                                                                    ALPHAS, COSINE_KS, keys, progress))
        chart(cosine_figure(sweep, height=SWEEP_HEIGHT), "meta-gradient-cosine-sweep",
              _("Cosine with the true meta-gradient as α and k change"), key="meta_gradient_cosines")
    else:
        app_state.chart(empty_figure(_(SWEEP_LATER), height=SWEEP_HEIGHT), "meta-gradient-cosine-sweep",
                        key="meta_gradient_cosines", on_seen=_sweep_seen)
    st.caption(_("cos(direction, leo's) at θ₀ on the same meta-batch: against α at the page's k (left) and "
                 "against k at the page's α (right); dotted lines mark the page's values. First order → 1 as α → 0; "
                 "Reptile with k = 1 is the pretraining gradient, and has no direction with k = 0 (a gap).")
               + (_(" While the run trains this chart keeps θ₀ as of the page's last full run (change a setting to "
                    "refresh it); the arrows above update live.") if live else ""))


def handout_button(s: Scene) -> None:
    """The button that saves every chart of this draw (the live section's newest) and the settings as one HTML file."""
    figures = st.session_state.get(HANDOUT_KEY, {})  # the dict a live fragment keeps updating
    snap = st.session_state.get(app_state.RUN_KEY)
    cfg = s.cfg
    if s.start.key == "meta" and snap is not None:
        run = _("{family} / {algorithm}, α = {alpha}, β = {beta}, k = {k}, {iterations} meta-iterations "
                "({status})").format(family=cfg.family, algorithm=cfg.algorithm, alpha=f"{cfg.alpha:g}",
                                     beta=f"{cfg.beta:g}", k=cfg.k, iterations=f"{snap.iteration:,}",
                                     status=_(snap.status))  # the status words: leo_app.job.STATUS_WORDS
    else:
        run = _("{family}, random initialization").format(family=_(s.family.title))
    settings = [(_("run"), run), *((_(PAGE_SETTINGS["landscape"][name].label), st.session_state[name])
                                   for name in LANDSCAPE_SCHEMA if name in st.session_state)]
    lang = language()  # the download builds the file outside the page run: in the language the page was drawn in
    title = _("LEO Explorer — Landscape")
    intro = _("The loss surface around the initialization θ₀, θ₀'s meta-training path and each algorithm's update "
              "at θ₀, as the app's Landscape page drew them.")

    def build() -> str:
        from .fonts import embedded_css  # Chinese text in the file needs the app's font, inside it (offline)

        with use_language(lang):
            return page_html(title, list(figures.values()), settings, intro=intro,
                             css=embedded_css() if lang == "zh" else "")

    st.download_button(_("Download this page as HTML"), data=build, file_name="leo-landscape.html", mime="text/html",
                       icon=":material/download:", on_click="ignore",
                       help=_("One self-contained file: every chart of this page with its animation frames "
                              "(plotly.js inside, opens offline) and the page's settings. About 5 MB."))
