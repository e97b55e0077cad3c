"""Figures of one task's adaptation: the animated fit, loss per step, the path in parameter space.

Data in (plain lists from ``leo_core.views.adaptation``), plotly figure out. The fit animation carries
one plotly frame per inner step and its own slider and play button, so stepping through it runs
in the browser without a rerun of the page.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import plotly.graph_objects as go

from leo_core.i18n import _

from .style import COLORS, FONT_SIZE, LINE_WIDTH, base_layout, log_axis, step_animation_controls

__all__ = ["START_COLORS", "fit_animation_figure", "step_loss_figure", "parameter_path_figure"]

START_COLORS = {"meta": "#1f77b4", "pretrained": "#2ca02c", "random": "#9467bd"}
_TICK = {"size": FONT_SIZE - 2}
_TITLE = {"size": FONT_SIZE}
_FRAME_MS = 600


def _panels(n: int, gap: float = 0.05) -> list[tuple[float, float]]:
    width = (1 - gap * (n - 1)) / n
    return [(round(i * (width + gap), 6), min(1.0, round(i * (width + gap) + width, 6))) for i in range(n)]


def _clean(values: Sequence[float]) -> list[float | None]:
    return [v if v is not None and math.isfinite(v) else None for v in values]


def fit_animation_figure(task: dict[str, Any], fits: list[dict[str, Any]], *, height: int = 520) -> go.Figure:
    """One panel per start; the fit after step j in frame j (0 … steps), a slider and a play button.

    Args:
        task: ``x`` (grid), ``y_true`` (or None), ``x_support``, ``y_support``, ``x_query``, ``y_query``.
        fits: per start ``key``, ``label``, ``predictions`` (``[steps + 1][len(x)]``), ``support_loss``.
    """
    if not fits:
        raise ValueError("nothing to animate: no starting point")
    steps = len(fits[0].predictions) - 1
    ys = list(task["y_support"]) + list(task.get("y_query") or []) + list(task.get("y_true") or [])
    lo, hi = min(ys), max(ys)
    pad = 0.3 * max(hi - lo, 1.0)
    y_range = [lo - pad, hi + pad]
    layout = base_layout(height=height, margin=dict(l=70, r=20, t=110, b=150), uirevision=None)
    traces: list[dict[str, Any]] = []
    fit_index = []
    for i, ((x0, x1), fit) in enumerate(zip(_panels(len(fits)), fits)):
        ax = "" if i == 0 else str(i + 1)
        xa, ya, first = f"x{ax}", f"y{ax}", i == 0
        if task.get("y_true") is not None:
            traces.append(dict(type="scatter", x=task["x"], y=task["y_true"], xaxis=xa, yaxis=ya, mode="lines",
                               name=_("true function"), legendgroup="true", showlegend=first,
                               line=dict(color=COLORS["true"], width=3, dash="dot")))
        if task.get("x_query"):
            traces.append(dict(type="scatter", x=task["x_query"], y=task["y_query"], xaxis=xa, yaxis=ya,
                               mode="markers", name=_("query points"), legendgroup="query", showlegend=first,
                               marker=dict(color="#7f7f7f", size=7, symbol="circle-open")))
        traces.append(dict(type="scatter", x=task["x_support"], y=task["y_support"], xaxis=xa, yaxis=ya,
                           mode="markers", name=_("support points"), legendgroup="support", showlegend=first,
                           marker=dict(color=COLORS["support"], size=13, line=dict(color="white", width=1.5))))
        traces.append(dict(type="scatter", x=task["x"], y=fit.predictions[0], xaxis=xa, yaxis=ya, mode="lines",
                           name=_("start (step 0)"), legendgroup="start", showlegend=first,
                           line=dict(color=COLORS["pre"], width=2, dash="dash")))
        fit_index.append(len(traces))
        traces.append(dict(type="scatter", x=task["x"], y=fit.predictions[0], xaxis=xa, yaxis=ya, mode="lines",
                           name=_("fit after the shown step"), legendgroup="fit", showlegend=first,
                           line=dict(color=START_COLORS.get(fit.key, COLORS["post"]), width=LINE_WIDTH + 1)))
        layout[f"xaxis{ax}"] = dict(domain=[x0, x1], anchor=ya, tickfont=_TICK,
                                    title=dict(text=_("x — from {start}").format(start=fit.label), font=_TITLE))
        layout[f"yaxis{ax}"] = dict(anchor=xa, range=y_range, tickfont=_TICK, showticklabels=first,
                                    title=dict(text="y" if first else "", font=_TITLE))

    def frame(j: int) -> dict[str, Any]:
        return dict(name=str(j), traces=fit_index,
                    data=[dict(type="scatter", x=task["x"], y=f.predictions[j]) for f in fits])

    frames = [frame(j) for j in range(steps + 1)]
    layout.update(step_animation_controls(steps, frame_ms=_FRAME_MS, redraw=False, y=-0.3))
    return go.Figure(data=traces, layout=layout, frames=frames, _validate=False)


def step_loss_figure(fits: list[dict[str, Any]], *, loss_name: str = "MSE", log_y: bool = True,
                     height: int = 460) -> go.Figure:
    """Query loss (solid) and support loss (dashed) after 0 … steps inner steps, one colour per start.

    ``log_y=False`` for a loss that spans less than a decade (a few-shot cross-entropy).
    """
    traces = []
    for fit in fits:
        color = START_COLORS.get(fit.key, COLORS["post"])
        steps = list(range(len(fit.support_loss)))
        query = _clean(fit.query_loss or [])
        has_query = any(v is not None for v in query)
        if has_query:
            traces.append(dict(type="scatter", x=steps, y=query, mode="lines+markers", name=fit.label,
                               legendgroup=fit.key, line=dict(color=color, width=LINE_WIDTH), marker=dict(size=8),
                               hovertemplate=_("query loss") + " %{y:.3g}<extra>" + fit.label + "</extra>"))
        traces.append(dict(type="scatter", x=steps, y=_clean(fit.support_loss), mode="lines+markers",
                           name=fit.label, legendgroup=fit.key, showlegend=not has_query,
                           line=dict(color=color, width=2, dash="dash"), marker=dict(size=6, symbol="square"),
                           hovertemplate=_("support loss") + " %{y:.3g}<extra>" + fit.label + "</extra>"))
    for name, dash in ((_("solid: query loss"), "solid"), (_("dashed: support loss"), "dash")):
        traces.append(dict(type="scatter", x=[None], y=[None], mode="lines", name=name,
                           line=dict(color="#555555", width=3, dash=dash)))
    n_steps = len(fits[0].support_loss) if fits else 0
    return go.Figure(data=traces, layout=base_layout(
        height=height, margin=dict(l=80, r=20, t=110, b=60), uirevision=None,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, font=dict(size=FONT_SIZE - 2)),
        xaxis=dict(title=dict(text=_("inner step"), font=_TITLE), tickfont=_TICK, dtick=1 if n_steps <= 12 else None),
        yaxis=dict(title=dict(text=_("loss ({loss}, log scale)").format(loss=loss_name), font=_TITLE), tickfont=_TICK,
                   **log_axis([v for f in fits for v in (*f.support_loss, *(f.query_loss or []))]))
        if log_y else dict(title=dict(text=_("loss ({loss})").format(loss=loss_name), font=_TITLE), tickfont=_TICK,
                           rangemode="tozero"),
    ), _validate=False)


def parameter_path_figure(paths: list[dict[str, Any]], *, axis_titles: tuple[str, str], title: str,
                          markers: list[dict[str, Any]] | None = None, height: int = 520) -> go.Figure:
    """Paths in a 2-D parameter plane: each ``{"key", "label", "coords": [[a, b], …]}``, start marked.

    ``markers``: extra points ``{"label", "a", "b", "symbol", "color"}`` (e.g. the task's optimum).
    """
    traces = []
    for p in paths:
        color = START_COLORS.get(p["key"], COLORS["post"])
        a = [c[0] for c in p["coords"]]
        b = [c[1] for c in p["coords"]]
        traces.append(dict(type="scatter", x=a, y=b, mode="lines+markers", name=p["label"],
                           text=[_("step {j}").format(j=j) for j in range(len(a))],
                           hovertemplate="%{text}<extra></extra>",
                           line=dict(color=color, width=LINE_WIDTH), marker=dict(size=8, color=color)))
        traces.append(dict(type="scatter", x=a[:1], y=b[:1], mode="markers", showlegend=False, hoverinfo="skip",
                           marker=dict(size=16, color=color, symbol="circle-open", line=dict(width=3))))
    for m in markers or []:
        traces.append(dict(type="scatter", x=[m["a"]], y=[m["b"]], mode="markers", name=m["label"],
                           marker=dict(size=18, symbol=m.get("symbol", "x"), color=m.get("color", "#000"),
                                       line=dict(width=2, color="white"))))
    return go.Figure(data=traces, layout=base_layout(
        height=height, margin=dict(l=80, r=20, t=50, b=150), uirevision=None,
        title=dict(text=title, font=dict(size=FONT_SIZE), x=0.5, xanchor="center", y=0.98, yanchor="top"),
        legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0, font=dict(size=FONT_SIZE - 2)),
        xaxis=dict(title=dict(text=axis_titles[0], font=_TITLE), tickfont=_TICK, zeroline=True),
        yaxis=dict(title=dict(text=axis_titles[1], font=_TITLE), tickfont=_TICK, zeroline=True),
    ), _validate=False)
