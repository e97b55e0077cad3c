"""The lecture's computations without Streamlit, and the whole lecture as one offline HTML file: every chapter's title, text, prompts and pictures (with their
animation frames), in the reader's language, plotly.js and the Chinese font inside.

No Streamlit call here: each chapter's pictures are computed from the chapter's shipped checkpoint with its opening
settings, by the same core functions and figure builders the live page uses (the live page may have been trained
on since; the handout shows what each chapter opens with). The race (chapter 6) cannot train in a file: it shows
the measured table's results of the same algorithms instead.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

import plotly.graph_objects as go
import plotly.io as pio
import torch

from figures.adaptation_classification import step_accuracy_figure
from figures.classification import digit_predictions_figure
from figures.landscape import linear_landscape_figure
from figures.lecture import gap_figure, measured_figure, objective_figure, quiz_figure
from figures.meta_gradients import cosine_bar_figure, meta_gradient_figure
from figures.training import adaptation_preview_figure, loss_curve_figure
from leo_core.algorithms import get_algorithm
from leo_core.checkpoint import Checkpoint
from leo_core.config import TrainConfig
from leo_core.i18n import N_, _, use_language
from leo_core.losses import LOSSES
from leo_core.tasks import TaskBatch, TaskFamily
from leo_core.train import make_family
from leo_core.views import adaptation as ad
from leo_core.views import adaptation_classification as ac
from leo_core.views import landscape as lv
from leo_core.views import meta_gradients as mg
from leo_core.views import quiz as qz
from leo_core.views.preview import preview_curves, preview_tasks

from .adaptation_view import fit_figure
from .lecture import CHAPTERS, Chapter
from .measured import LECTURE_COMMAND, TABLE_COMMAND, adapted, objective_errors
from .presets import load_preset

__all__ = ["lecture_html", "chapter_figures", "OBJECTIVES", "ORDER_KEYS", "ORDER_ALPHA", "ORDER_K", "initialization",
           "objective_starts", "order_problem", "order_directions"]

Figures = list[tuple[str, go.Figure]]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "LEO CJK", sans-serif; margin: 2rem auto;
       max-width: 1400px; padding: 0 1.5rem; color: #222; line-height: 1.5; }
h1 { font-size: 2.2rem; } h2 { font-size: 1.6rem; margin-top: 3rem; border-top: 1px solid #ddd; padding-top: 1.2rem; }
h3 { font-size: 1.15rem; color: #444; } p.note { color: #555; } ul.try li { margin: .2rem 0; }
nav a { margin-right: 1rem; } .figure { margin-bottom: 1rem; }
"""


# Chapter 4's two initializations (preset → legend label) and chapter 5's updates, opening α and k.
OBJECTIVES = {"query-matters": N_("J on support points"), "query-objective": N_("J on query points")}
ORDER_KEYS = ("leo", "leo-fo", "reptile", "imaml")
ORDER_ALPHA, ORDER_K = 0.01, 5


def initialization(ckpt: Checkpoint) -> dict[str, torch.Tensor]:
    """The checkpoint's θ₀ (detached)."""
    algorithm = get_algorithm(ckpt.config.algorithm, ckpt.config)
    return {n: v.detach() for n, v in algorithm.initialization(ckpt.meta_params).items()}


def objective_starts() -> tuple[TrainConfig, list[ad.Start]]:
    """Chapter 4: both presets' initializations as adaptation starts (labels in the reader's language), and the
    settings they share."""
    starts = []
    for key, label in OBJECTIVES.items():
        ckpt = load_preset(key)
        starts.append(ad.Start(key, _(label), get_algorithm(ckpt.config.algorithm, ckpt.config), ckpt.meta_params))
    return load_preset(next(iter(OBJECTIVES))).config, starts


def order_problem() -> tuple[Checkpoint, TaskFamily, TaskBatch]:
    """Chapter 5: the sinusoid preset, its family and the fixed meta-batch every update is computed on."""
    ckpt = load_preset("maml-sinusoid")
    cfg = ckpt.config
    family = make_family(cfg)
    return ckpt, family, family.sample(cfg.meta_batch, cfg.shots, cfg.query, torch.Generator().manual_seed(0), "cpu")


def order_directions(alpha: float, k: int) -> tuple:
    """Chapter 5: each update's direction at the sinusoid θ₀ with ``alpha`` and ``k`` (cosines with leo's)."""
    ckpt, family, batch = order_problem()
    return mg.directions(ckpt.model, family, initialization(ckpt), batch, mg.direction_config(ckpt.config, alpha, k),
                         ORDER_KEYS, strict=False)


def _quiz() -> Figures:
    ckpt = load_preset("maml-omniglot")
    task = qz.quiz_task(1)
    return [(_("Round 1: the five characters, the query and the model's answer"),
             quiz_figure(task, qz.answer(ckpt, task)))]


def _document() -> Figures:
    ckpt = load_preset("document-linear")
    cfg, model = ckpt.config, ckpt.model
    family = make_family(cfg)
    algorithm = get_algorithm(cfg.algorithm, cfg)
    batch = family.sample(5, cfg.shots, 50, torch.Generator().manual_seed(0))
    data = lv.linear_landscape(model, family, algorithm, ckpt.meta_params, batch, cfg.alpha, cfg.k, 61, 0)
    arrows = mg.linear_meta_gradients(model, family, initialization(ckpt), ckpt.theta_path, batch,
                                      mg.direction_config(cfg, cfg.alpha, cfg.k), cfg.alpha, cfg.k, 61, 30)
    return [(_("The exact loss plane"), linear_landscape_figure(data)),
            (_("θ₀'s path and each algorithm's step"), meta_gradient_figure(arrows))]


def _sinusoid() -> Figures:
    ckpt = load_preset("maml-sinusoid")
    cfg, family = ckpt.config, make_family(ckpt.config)
    run = SimpleNamespace(meta_params=ckpt.meta_params, model=ckpt.model, config=cfg,
                          algorithm=get_algorithm(cfg.algorithm, cfg), family=family)
    curves = preview_curves(run, preview_tasks(family, cfg.shots), cfg.k)
    return [(_("Query loss while meta-training"),
             loss_curve_figure(ckpt.metrics.columns(), k=cfg.k, loss_name=LOSSES[family.loss].display)),
            (_("θ₀ and its adaptation on three fixed tasks"), adaptation_preview_figure(curves))]


def _objective() -> Figures:
    cfg, starts = objective_starts()
    family, model = make_family(cfg), load_preset(next(iter(OBJECTIVES))).model
    task, _params = ad.sample_task(family, cfg.shots, 50, 1)
    fits = [ad.plotted_fit(ad.fit_path(model, family, start, task, cfg.alpha, cfg.k)) for start in starts]
    return [(_("One new task adapted from each initialization"), fit_figure(task, fits)),
            (_("Mean query error over new tasks (measured: {command})").format(command=LECTURE_COMMAND),
             objective_figure(objective_errors(), {key: _(label) for key, label in OBJECTIVES.items()}))]


def _order() -> Figures:
    theta0 = initialization(load_preset("maml-sinusoid"))
    return [(_("Each update's cosine with the true meta-gradient (k = {k}, α = {alpha})").format(k=ORDER_K,
                                                                                              alpha=ORDER_ALPHA),
             cosine_bar_figure(order_directions(ORDER_ALPHA, ORDER_K), n_params=sum(v.numel() for v in theta0.values())))]


def _beyond() -> Figures:
    rows = adapted("sinusoid")
    return [(_("Query error after 10 steps, each algorithm at its recommended settings (measured: {command})").format(
        command=TABLE_COMMAND), measured_figure(rows))] if rows else []


def _baseline() -> Figures:
    rows = adapted("digits")
    return [(_("Accuracy on new and on seen classes (measured: {command})").format(command=TABLE_COMMAND),
             gap_figure(rows))] if rows else []


def _omniglot() -> Figures:
    ckpt = load_preset("maml-omniglot")
    cfg, family = ckpt.config, make_family(ckpt.config)
    start = ad.Start("meta", _("meta-learned θ₀ ({algorithm})").format(algorithm=cfg.algorithm),
                     get_algorithm(cfg.algorithm, cfg), ckpt.meta_params)
    task = ac.sample_task(family, 1, 0)
    metrics = [ac.step_metrics(ckpt.model, family, start, task, cfg.alpha, 5)]
    picture = ac.predictions_at(ckpt.model, family, start, task, cfg.alpha, 5, list(ac.shown_stages(5, cfg.k)))
    return [(_("One new 5-way 1-shot task, before and after adaptation"), digit_predictions_figure(picture, max_shots=1)),
            (_("Query accuracy per step"), step_accuracy_figure(metrics, ways=family.ways))]


FIGURES: dict[str, Callable[[], Figures]] = {
    "quiz": _quiz, "document": _document, "sinusoid": _sinusoid, "objective": _objective, "order": _order,
    "beyond": _beyond, "baseline": _baseline, "omniglot": _omniglot,
}


def chapter_figures(ch: Chapter) -> Figures:
    """The chapter's pictures as its opening settings draw them."""
    return FIGURES[ch.key]()


@dataclass(frozen=True)
class _Part:
    number: int
    chapter: Chapter
    figures: Figures


def _markdown(text: str) -> str:
    """The chapters' little Markdown (``**bold**``) as HTML, the rest escaped."""
    out, bold = [], False
    for i, piece in enumerate(html.escape(text).split("**")):
        out.append(piece if i == 0 else ("<b>" if not bold else "</b>") + piece)
        bold = not bold if i else bold
    return "".join(out)


def lecture_html(lang: str, progress: Callable[[float], None] | None = None) -> str:
    """The lecture in ``lang`` as one self-contained HTML document."""
    from .fonts import embedded_css

    with use_language(lang):
        parts: list[_Part] = []
        for i, ch in enumerate(CHAPTERS, start=1):
            parts.append(_Part(i, ch, chapter_figures(ch)))
            if progress:
                progress(i / len(CHAPTERS))
        title = _("LEO Explorer — the lecture")
        note = _("Every chapter with its pictures as it opens in the app. Opens offline: plotly.js and the font are "
                 "inside this file; charts are interactive (zoom, hover; ▶ play where a chart has frames).")
        body = [f"<h1>{html.escape(title)}</h1>", f"<p class='note'>{html.escape(note)}</p>",
                "<nav>" + "".join(f"<a href='#ch{p.number}'>{p.number} · {html.escape(_(p.chapter.title))}</a>"
                                  for p in parts) + "</nav>"]
        first = True
        try_this = html.escape(_("Try this"))
        for p in parts:
            body.append(f"<h2 id='ch{p.number}'>{p.number} · {html.escape(_(p.chapter.title))}</h2>")
            body.append(f"<p>{_markdown(_(p.chapter.text))}</p>")
            body.append("<ul class='try'>" + "".join(f"<li><b>{try_this}:</b> {_markdown(_(q))}</li>"
                                                    for q in p.chapter.prompts) + "</ul>")
            for j, (heading, fig) in enumerate(p.figures):
                div = pio.to_html(fig, include_plotlyjs=first, full_html=False, auto_play=False,
                                  config={"displaylogo": False, "responsive": True}, div_id=f"ch{p.number}-{j}")
                first = False
                body.append(f"<h3>{html.escape(heading)}</h3><div class='figure'>{div}</div>")
        html_lang = "zh-CN" if lang == "zh" else lang
        return (f"<!DOCTYPE html>\n<html lang='{html_lang}'><head><meta charset='utf-8'><title>{html.escape(title)}"
                f"</title><style>{embedded_css()}{_STYLE}</style></head><body>\n" + "\n".join(body)
                + "\n</body></html>\n")
