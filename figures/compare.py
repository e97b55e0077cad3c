"""Figure builders for the Compare page: data in, plotly figure out (no Streamlit, no training).

Curves show a mean with its 95% interval as a shaded band; a non-finite value (an adaptation that
overshot) becomes a gap in the line, never a broken axis. Fonts, widths and layout come from
``figures`` so every chart reads the same on a projector.
"""

from __future__ import annotations

import math
from typing import Sequence

import plotly.graph_objects as go

from leo_core.evaluate import EvalResult
from leo_core.i18n import _, ngettext
from .style import FONT_SIZE, LINE_WIDTH, base_layout, empty_figure, log_axis
from leo_core.sweep import SweepResult

__all__ = ["PALETTE", "steps_figure", "shots_figure", "sweep_heatmap_figure"]

# One colour per compared run, distinguishable and colour-blind friendly (Okabe–Ito).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
TICK_FONT = {"size": FONT_SIZE - 2}
TITLE_FONT = {"size": FONT_SIZE}


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _band_traces(x: Sequence[float], mean: Sequence[float], ci: Sequence[float], name: str, color: str
                 ) -> list[dict]:
    """A line with markers and a shaded ±ci band; non-finite points are dropped from both."""
    pts = [(xi, m, c) for xi, m, c in zip(x, mean, ci) if _finite(m) is not None and _finite(c) is not None]
    xs = [p[0] for p in pts]
    upper = [p[1] + p[2] for p in pts]
    lower = [p[1] - p[2] for p in pts]
    band = dict(type="scatter", x=xs + xs[::-1], y=upper + lower[::-1], fill="toself", mode="lines",
                line=dict(width=0), fillcolor=_rgba(color, 0.18), hoverinfo="skip", showlegend=False,
                legendgroup=name)
    line = dict(type="scatter", x=list(x), y=[_finite(m) for m in mean], mode="lines+markers", name=name,
                line=dict(color=color, width=LINE_WIDTH), marker=dict(size=8), legendgroup=name,
                customdata=list(ci), hovertemplate="%{y:.3f} ± %{customdata:.3f}<extra>" + name + "</extra>")
    return [band, line]


def _metric(result: EvalResult, accuracy: bool) -> tuple[list[float], list[float]]:
    if accuracy:
        return list(result.accuracy_by_step or []), list(result.accuracy_ci95_by_step or [])
    return list(result.loss_by_step), list(result.ci95_by_step)


def _axes(x_title: str, y_title: str, log_y: bool, x_extra: dict | None = None,
          values: Sequence[float] = ()) -> dict:
    """The x and y axes; a log y axis labelled from ``values`` (every mean and band edge drawn)."""
    return dict(
        xaxis=dict(title=dict(text=x_title, font=TITLE_FONT), tickfont=TICK_FONT, **(x_extra or {})),
        yaxis=dict(title=dict(text=y_title, font=TITLE_FONT), tickfont=TICK_FONT,
                   **(log_axis(values) if log_y else {"type": "linear"})),
    )


def _drawn(traces: list[dict]) -> list[float]:
    return [v for t in traces for v in t.get("y", ()) if v is not None]


def steps_figure(labels: Sequence[str], results: Sequence[EvalResult], *, accuracy: bool = False,
                 loss_name: str = "MSE", log_y: bool = True, height: int = 460) -> go.Figure:
    """Meta-test query loss (or accuracy) vs adaptation steps, one line and 95% band per run."""
    if not results:
        return empty_figure(_("Add two or more runs to compare them here."), height)
    traces: list[dict] = []
    for i, (label, r) in enumerate(zip(labels, results)):
        mean, ci = _metric(r, accuracy)
        traces += _band_traces(list(range(len(mean))), mean, ci, label, PALETTE[i % len(PALETTE)])
    y_title = _("query accuracy") if accuracy else _("query loss ({loss})").format(loss=loss_name)
    tasks = results[0].tasks
    layout = base_layout(height=height, **_axes(_("adaptation steps on the support set"), y_title,
                                                 log_y and not accuracy, dict(dtick=1 if results[0].steps <= 12 else None),
                                                 _drawn(traces)))
    layout["title"] = dict(text=_("After each step: mean over {tasks} test tasks, 95% band").format(tasks=tasks),
                           font=TITLE_FONT,
                           y=0.99, yanchor="top")
    layout["margin"] = dict(l=80, r=20, t=130, b=60)
    return go.Figure(data=traces, layout=layout)


def shots_figure(labels: Sequence[str], shots: Sequence[int], results: Sequence[Sequence[EvalResult]], *,
                 accuracy: bool = False, loss_name: str = "MSE", log_y: bool = True, height: int = 460) -> go.Figure:
    """Meta-test query loss (or accuracy) after a fixed number of steps vs support-set size."""
    if not results or not shots:
        return empty_figure(_("Add two or more runs to compare them here."), height)
    traces: list[dict] = []
    for i, (label, per_shot) in enumerate(zip(labels, results)):
        final = [_metric(r, accuracy) for r in per_shot]
        traces += _band_traces(list(shots), [m[-1] if m else math.nan for m, _ in final],
                               [c[-1] if c else math.nan for _, c in final], label, PALETTE[i % len(PALETTE)])
    steps = results[0][0].steps
    y_title = _("query accuracy") if accuracy else _("query loss ({loss})").format(loss=loss_name)
    x_title = _("shots (support examples per task per class)") if accuracy else _("shots (support examples per task)")
    layout = base_layout(height=height, **_axes(x_title,
                                                 y_title, log_y and not accuracy, dict(tickvals=list(shots)),
                                                 _drawn(traces)))
    title = ngettext("After {steps} step, by support-set size (95% band)",
                     "After {steps} steps, by support-set size (95% band)", steps).format(steps=steps)
    layout["title"] = dict(text=title,
                           font=TITLE_FONT, y=0.99, yanchor="top")
    layout["margin"] = dict(l=80, r=20, t=130, b=60)
    return go.Figure(data=traces, layout=layout)


def sweep_heatmap_figure(result: SweepResult, *, height: int = 460) -> go.Figure:
    """Post-adaptation query loss for each (α, k) cell; diverged cells are blank and labelled."""
    z = [[_finite(v) for v in row] for row in result.loss]
    text = [[_("diverged") if d else ("" if _finite(v) is None else f"{v:.3g}") for v, d in zip(row, div)]
            for row, div in zip(result.loss, result.diverged)]
    finite = [v for row in z for v in row if v is not None]
    log_colour = bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 20
    zc = [[(math.log10(v) if log_colour else v) if v is not None else None for v in row] for row in z]
    x = [f"{a:g}" for a in result.alphas]
    y = [str(k) for k in result.ks]
    bar_title = f"log₁₀ {_(result.loss_name)}" if log_colour else _(result.loss_name)
    trace = dict(type="heatmap", x=x, y=y, z=zc, text=text, texttemplate="%{text}",
                 textfont=dict(size=FONT_SIZE), colorscale="Viridis", reversescale=True, hoverongaps=False,
                 colorbar=dict(title=dict(text=bar_title, font=TITLE_FONT), tickfont=TICK_FONT),
                 hovertemplate="α=%{x}, k=%{y}: %{text}<extra></extra>")
    layout = base_layout(height=height, **_axes(_("α (inner step size)"), _("k (inner steps, train = test)"), False,
                                                 dict(type="category")))
    layout["yaxis"]["type"] = "category"
    title = _("Query {loss} after k steps with α (lower is better)").format(loss=_(result.loss_name))
    layout["title"] = dict(text=title, font=TITLE_FONT)
    layout["margin"] = dict(l=90, r=20, t=80, b=70)
    return go.Figure(data=[trace], layout=layout)
