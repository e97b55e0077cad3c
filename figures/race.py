"""Figure builders for the race on the Compare page: the live curves and each entry's adapted fit.

Data in (``leo_core.views.race.RaceCurve``, ``leo_core.views.preview.PreviewCurves``), plotly figure
out. One colour per entry, in entry order, shared by both figures and the evaluation chart
(``figures.compare.PALETTE``); every trace is named by its algorithm key.
"""

from __future__ import annotations

import math
from typing import Sequence

import plotly.graph_objects as go

from leo_core.i18n import N_, _, ngettext
from leo_core.views.preview import PreviewCurves
from leo_core.views.race import RaceCurve
from .compare import PALETTE
from .style import (COLORS, FONT_SIZE, LINE_WIDTH, TICK_FONT, TITLE_FONT, base_layout, empty_figure, figure, log_axis, smooth,
                    thin)

__all__ = ["race_curve_figure", "race_fit_figure", "X_AXES"]

X_AXES = ("iterations", "seconds")  # the live chart's x: meta-iterations, or each entry's own training seconds


def _smoothed(values: Sequence[float | None], weight: float) -> list[float | None]:
    """Exponential smoothing over the finite values; a non-finite value stays a gap."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    out: list[float | None] = [None] * len(values)
    for (i, _value), s in zip(pts, smooth([v for _, v in pts], weight) if pts else []):
        out[i] = s
    return out


def race_curve_figure(curves: Sequence[RaceCurve], *, x: str = "iterations", accuracy: bool = False,
                      loss_name: str = "MSE", k_note: str = N_("after k steps"), smoothing: float = 0.8,
                      height: int = 460) -> go.Figure:
    """Query loss (accuracy) after each entry's k inner steps on every meta-batch, one line per entry.

    ``x`` is ``"iterations"`` or ``"seconds"`` (each entry's own training time: its steps only).
    """
    if x not in X_AXES:
        raise ValueError(f"x must be one of {X_AXES}, got {x!r}")
    if not curves:
        return empty_figure(_("Choose algorithms and press the race button: their curves grow here."), height)
    traces = []
    for i, c in enumerate(curves):
        xs = c.iterations if x == "iterations" else c.seconds
        ys = _smoothed(c.values, smoothing)
        keep = thin(len(xs))
        traces.append(dict(type="scatter", mode="lines", name=c.key, x=[xs[j] for j in keep],
                           y=[ys[j] for j in keep], line=dict(color=PALETTE[i % len(PALETTE)], width=LINE_WIDTH),
                           hovertemplate=f"{c.key}<br>%{{x}}<br>%{{y:.3g}}<extra></extra>"))
    y_title = (_("query accuracy {when}").format(when=_(k_note)) if accuracy
               else _("query loss {when} ({loss})").format(when=_(k_note), loss=loss_name))
    x_title = _("meta-iterations") if x == "iterations" else _("own training time (s)")
    layout = base_layout(height=height, margin=dict(l=80, r=20, t=70, b=60))
    layout["xaxis"] = dict(title=dict(text=x_title, font=TITLE_FONT), tickfont=TICK_FONT)
    layout["yaxis"] = dict(title=dict(text=y_title, font=TITLE_FONT), tickfont=TICK_FONT,
                           type="linear" if accuracy else "log", nticks=6)
    starts = [c.values[0] for c in curves if c.values and c.values[0] is not None and math.isfinite(c.values[0])]
    if not accuracy and starts:
        # A spike (one meta-batch whose adaptation overshoots) would stretch the log axis over decades and
        # flatten every curve; the autorange stops at 10× the highest starting loss. It depends only on
        # the first values, so it stays put while the race runs and a user's zoom is kept.
        clip = 10 * max(starts)
        layout["yaxis"]["autorangeoptions"] = dict(clipmax=clip)
        shown = [v for t in traces for v in t["y"] if v is not None and v <= clip]
        layout["yaxis"].update(log_axis(shown))  # ticks written in full ("20", not a second "2")
    elif not accuracy:  # no point drawn yet: labelled ticks all the same
        layout["yaxis"].update(log_axis([]))
    return figure(traces, layout)


PANELS_PER_ROW = 3
PANEL_TITLE_FONT = {"size": FONT_SIZE - 4}  # two short lines over a panel a third of a half-width column wide
_TOP, _BOTTOM, _ROW_GAP = 64, 110, 90  # pixels: the first titles, the legend, a row's x ticks and the next titles


def race_fit_figure(keys: Sequence[str], curves: Sequence[PreviewCurves | None], *, row_height: int = 290,
                    y_range: Sequence[float] | None = None) -> go.Figure:
    """One panel per entry: the same fixed tasks' true functions, support points and the entry's adapted fit.
    At most ``PANELS_PER_ROW`` panels side by side (more run into each other's titles in a half-width column);
    further entries start a new row."""
    shown = [(k, c) for k, c in zip(keys, curves) if c is not None]
    if not shown:
        return empty_figure(_("Each entry's fit on the same fixed tasks appears here once the race starts."),
                            row_height + _TOP + _BOTTOM)
    n = len(shown)
    columns, rows = min(n, PANELS_PER_ROW), math.ceil(n / PANELS_PER_ROW)
    plot = rows * row_height + (rows - 1) * _ROW_GAP  # the plotting area's height in pixels
    gap_x, gap_y = 0.04, _ROW_GAP / plot
    width, tall = (1 - gap_x * (columns - 1)) / columns, row_height / plot
    if y_range is None:
        ys = [v for row in shown[0][1].y_true + shown[0][1].y_support for v in row]
        lo, hi = min(ys), max(ys)
        pad = 0.25 * max(hi - lo, 1.0)
        y_range = (lo - pad, hi + pad)
    task_dash = ("solid", "dash", "dot", "dashdot")
    traces, layout = [], base_layout(height=plot + _TOP + _BOTTOM, margin=dict(l=50, r=10, t=_TOP, b=_BOTTOM))
    annotations = []
    for i, (key, c) in enumerate(shown):
        ax = "" if i == 0 else str(i + 1)
        xa, ya = f"x{ax}", f"y{ax}"
        color = PALETTE[keys.index(key) % len(PALETTE)]
        for t in range(len(c.x)):
            first = i == 0 and t == 0
            dash = task_dash[t % len(task_dash)]
            traces += [
                dict(type="scatter", x=c.x[t], y=c.y_true[t], xaxis=xa, yaxis=ya, mode="lines",
                     name=_("true function"), legendgroup="true", showlegend=first,
                     line=dict(color=COLORS["true"], width=2, dash="dot")),
                dict(type="scatter", x=c.x_support[t], y=c.y_support[t], xaxis=xa, yaxis=ya, mode="markers",
                     name=_("support points"), legendgroup="support", showlegend=first,
                     marker=dict(color=COLORS["support"], size=9, line=dict(color="white", width=1))),
                dict(type="scatter", x=c.x[t], y=c.after[t], xaxis=xa, yaxis=ya, mode="lines",
                     name=key, legendgroup=key, showlegend=False,
                     line=dict(color=color, width=LINE_WIDTH - 1, dash=dash)),
            ]
        left = (i % columns) * (width + gap_x)
        top = 1 - (i // columns) * (tall + gap_y)
        layout[f"xaxis{ax}"] = dict(domain=[left, left + width], anchor=ya, tickfont=TICK_FONT, nticks=3)
        layout[f"yaxis{ax}"] = dict(domain=[top - tall, top], anchor=xa, range=list(y_range),
                                    showticklabels=i % columns == 0, tickfont=TICK_FONT)
        steps = ngettext("+{n} step", "+{n} steps", c.steps).format(n=c.steps)
        annotations.append(dict(text=f"<b>{key}</b><br>{steps}",
                                x=left + width / 2, y=top, xref="paper", yref="paper", xanchor="center",
                                yanchor="bottom", showarrow=False, font=PANEL_TITLE_FONT))
    layout["annotations"] = annotations
    layout["legend"] = dict(orientation="h", y=-40 / plot, yanchor="top", x=0, font=TICK_FONT)
    return figure(traces, layout)
