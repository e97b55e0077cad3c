"""Figures of loss landscapes: data in (``leo_core.views.landscape`` results), plotly figure out.

Losses span decades, so colours are log₁₀(loss) with colour-bar ticks labelled in plain loss
values. Every panel of one figure shares one colour scale, so panels can be compared by colour.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import plotly.graph_objects as go

from leo_core.i18n import _, ngettext

from .style import COLORS, FONT_SIZE, LINE_WIDTH, base_layout, log_axis

__all__ = ["linear_landscape_figure", "slice_contour_figure", "slice_surface_figure", "projection_check_figure",
           "log10_grid", "log_scale_title", "MARKS"]

_TICK = {"size": FONT_SIZE - 2}
_TITLE = {"size": FONT_SIZE}
_FLOOR = 1e-8  # losses below this are drawn as this (log of 0 is undefined)
MARKS = {
    "theta0": dict(symbol="star", size=24, color="#ffffff", line=dict(color="#000000", width=2)),
    "pretrained": dict(symbol="diamond", size=18, color="#2ca02c", line=dict(color="#ffffff", width=2)),
    "optimum": dict(symbol="x", size=14, color="#d62728", line=dict(color="#ffffff", width=1)),
    "family": dict(symbol="circle-open", size=34, color="#000000", line=dict(width=3)),
}
PATH_COLOR = "#ff7f0e"


def log10_grid(z: Sequence[Sequence[float]]) -> list[list[float]]:
    """log₁₀ of every value (non-finite and tiny values clipped, so the figure has no NaN)."""
    out = []
    for row in z:
        r = []
        for v in row:
            v = v if v is not None and math.isfinite(v) else 1e12
            r.append(math.log10(max(v, _FLOOR)))
        out.append(r)
    return out


def _colorbar(zmin: float, zmax: float, title: str) -> dict[str, Any]:
    """Ticks at 1, 2, 5 × 10ⁿ within [zmin, zmax] (log₁₀ space), labelled as plain numbers.

    A narrow range (a cross-entropy from 0.9 to 3, say) gets the mantissas 1…9 instead, and a
    narrower one four evenly spaced labels, so the bar always has at least three.
    """
    vals: list[float] = []
    for mantissas in ((1, 2, 5), (1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9)):
        vals = []
        for e in range(math.floor(zmin) - 1, math.ceil(zmax) + 1):
            for m in mantissas:
                v = math.log10(m) + e
                if zmin <= v <= zmax:
                    vals.append(v)
        if len(vals) >= 3:
            break
    if len(vals) < 3 and zmax > zmin:  # narrower still: four evenly spaced labels
        vals = [zmin + (zmax - zmin) * i / 3 for i in range(4)]
    if len(vals) > 8:
        vals = [v for v in vals if abs(v - round(v)) < 1e-9] or vals[::2]
    return dict(title=dict(text=title, font=_TITLE), tickvals=vals, ticktext=[f"{10 ** v:.3g}" for v in vals],
                tickfont=_TICK, len=0.9, thickness=20)


def _contour(a, b, logz, zmin, zmax, xa, ya, showscale, colorbar_title) -> dict[str, Any]:
    return dict(type="contour", x=a, y=b, z=logz, xaxis=xa, yaxis=ya, zmin=zmin, zmax=zmax, ncontours=24,
                colorscale="Viridis", showscale=showscale, colorbar=_colorbar(zmin, zmax, colorbar_title),
                contours=dict(coloring="heatmap", showlines=True), line=dict(width=0.6, color="rgba(255,255,255,0.5)"),
                hovertemplate="θ₀ = %{x:.2f}<br>θ₁ = %{y:.2f}<br>" + _("log₁₀ loss") + " = %{z:.2f}<extra></extra>",
                name=_("loss"))


def log_scale_title(loss_name: str) -> str:
    """The colour bar's title: the loss's name over "(log scale)"."""
    return _("{loss}<br>(log scale)").format(loss=loss_name)


def _range(*grids: list[list[float]]) -> tuple[float, float]:
    vals = [v for g in grids for row in g for v in row]
    lo, hi = min(vals), max(vals)
    return lo, hi if hi > lo else lo + 1.0


def linear_landscape_figure(data: Any, *, shown: int = 0, height: int = 500, loss_name: str = "MSE") -> go.Figure:
    """Four exact (θ₀, θ₁) contour panels in one row: the shown task's support and query loss, J after k
    steps, and the plain average loss, with θ₀, the pretrained optimum, task optima and k-step paths. One row
    so the whole picture fits a 1440×900 screen and a projector (two rows were 1,000 px tall).

    ``data``: a ``landscape_views.LinearLandscape``.
    """
    k, alpha = data.k, data.alpha
    panels = [
        (data.support, _("task {n}:<br>support loss").format(n=shown + 1)),
        (data.query, _("task {n}:<br>query loss").format(n=shown + 1)),
        (data.meta, ngettext("J after {k} step<br>α = {alpha}", "J after {k} steps<br>α = {alpha}", k).format(
            k=k, alpha=f"{alpha:g}")),
        (data.average, _("average loss<br>(k = 0)")),
    ]
    logs = [log10_grid(z) for z, _title in panels]
    zmin, zmax = _range(*logs)
    layout = base_layout(height=height, margin=dict(l=80, r=20, t=190, b=70), uirevision=None)
    layout["legend"] = dict(orientation="h", yanchor="bottom", y=1.3, xanchor="left", x=0, font=dict(size=FONT_SIZE - 2))
    gap_x = 0.04  # between panels; the right tenth holds the colour bar
    w, h = (0.9 - 3 * gap_x) / 4, 1.0
    traces, annotations = [], []
    for i, ((_z, title), logz) in enumerate(zip(panels, logs)):
        ax = "" if i == 0 else str(i + 1)
        xa, ya = f"x{ax}", f"y{ax}"
        x0, y1 = i * (w + gap_x), 1.0
        layout[f"xaxis{ax}"] = dict(domain=[round(x0, 6), min(1.0, round(x0 + w, 6))], anchor=ya, tickfont=_TICK,
                                    title=dict(text=_("θ₀ (intercept)"), font=_TITLE))
        layout[f"yaxis{ax}"] = dict(domain=[max(0.0, round(y1 - h, 6)), min(1.0, round(y1, 6))], anchor=xa, tickfont=_TICK,
                                    title=dict(text=_("θ₁ (slope)") if i == 0 else "", font=_TITLE))
        annotations.append(dict(text=f"<b>{title}</b>", x=x0 + w / 2, y=y1 + 0.01, xref="paper", yref="paper",
                                xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=FONT_SIZE)))
        traces.append(_contour(data.a, data.b, logz, zmin, zmax, xa, ya, i == 0, log_scale_title(loss_name)))
        tasks = [shown] if i < 2 else list(range(len(data.paths)))
        first = i == 2  # the legend comes from the panel that shows everything
        for n, t in enumerate(tasks):
            p = data.paths[t]
            traces.append(dict(type="scatter", x=[q[0] for q in p], y=[q[1] for q in p], xaxis=xa, yaxis=ya,
                               mode="lines+markers", name=_("k-step paths (α = {alpha})").format(alpha=f"{alpha:g}"),
                               legendgroup="path",
                               showlegend=first and n == 0, line=dict(color=PATH_COLOR, width=3),
                               marker=dict(size=7, color=PATH_COLOR), hoverinfo="skip"))
        opt = [data.task_optima[t] for t in tasks]
        traces.append(dict(type="scatter", x=[o[0] for o in opt], y=[o[1] for o in opt], xaxis=xa, yaxis=ya,
                           mode="markers", name=_("task optima (least squares on support)"), legendgroup="opt",
                           showlegend=first, marker=MARKS["optimum"]))
        traces.append(dict(type="scatter", x=[data.pretrained[0]], y=[data.pretrained[1]], xaxis=xa, yaxis=ya,
                           mode="markers", name=_("pretrained optimum"), legendgroup="pre", showlegend=first,
                           marker=MARKS["pretrained"]))
        traces.append(dict(type="scatter", x=[data.theta0[0]], y=[data.theta0[1]], xaxis=xa, yaxis=ya,
                           mode="markers", name=_("meta-learned θ₀"), legendgroup="theta0", showlegend=first,
                           marker=MARKS["theta0"]))
        if i == 2 and getattr(data, "family_optimum", None) is not None:
            traces.append(dict(type="scatter", x=[data.family_optimum[0]], y=[data.family_optimum[1]], xaxis=xa,
                               yaxis=ya, mode="markers", name=_("J's minimum over the whole family"),
                               legendgroup="family", showlegend=True, marker=MARKS["family"]))
    layout["annotations"] = annotations
    return go.Figure(data=traces, layout=layout, _validate=False)


def slice_contour_figure(data: Any, *, height: int = 560, loss_name: str = "MSE", surface_label: str = "") -> go.Figure:
    """Contours of a network slice, with the shown task's projected adaptation path."""
    logz = log10_grid(data.z)
    zmin, zmax = _range(logz)
    axes = _slice_axes(data)
    traces = [_contour(data.a, data.b, logz, zmin, zmax, "x", "y", True, log_scale_title(loss_name))]
    traces[0]["hovertemplate"] = "a = %{x:.3f}<br>b = %{y:.3f}<br>" + _("log₁₀ loss") + " = %{z:.2f}<extra></extra>"
    traces.append(dict(type="scatter", x=[p[0] for p in data.path], y=[p[1] for p in data.path], mode="lines+markers",
                       name=_("adaptation path (projected)"), line=dict(color=PATH_COLOR, width=LINE_WIDTH),
                       marker=dict(size=8, color=PATH_COLOR),
                       text=[_("step {j}").format(j=j) for j in range(len(data.path))],
                       hovertemplate="%{text}<extra></extra>"))
    traces.append(dict(type="scatter", x=[0.0], y=[0.0], mode="markers", name=_("θ₀ (centre)"), marker=MARKS["theta0"]))
    return go.Figure(data=traces, layout=base_layout(
        height=height, margin=dict(l=80, r=20, t=100, b=70), uirevision=None,
        title=dict(text=surface_label, font=dict(size=FONT_SIZE), y=0.99, yanchor="top"),
        xaxis=dict(title=dict(text=axes[0], font=_TITLE), tickfont=_TICK),
        yaxis=dict(title=dict(text=axes[1], font=_TITLE), tickfont=_TICK),
    ), _validate=False)


def _slice_axes(data: Any) -> tuple[str, str]:
    if data.directions == "pca" and data.explained:
        return (_("a: PC 1 ({percent}% of path variance)").format(percent=f"{100 * data.explained[0]:.0f}"),
                _("b: PC 2 ({percent}%)").format(percent=f"{100 * data.explained[1]:.0f}"))
    return _("a: random direction 1 (filter-normalised)"), _("b: random direction 2")


def slice_surface_figure(data: Any, *, height: int = 620, loss_name: str = "MSE") -> go.Figure:
    """The slice as a 3-D surface (height log₁₀ loss), the projected path drawn on it."""
    logz = log10_grid(data.z)
    zmin, zmax = _range(logz)
    path_z = [math.log10(max(v, _FLOOR)) if math.isfinite(v) else zmax for v in data.projected_loss]
    traces = [
        dict(type="surface", x=data.a, y=data.b, z=logz, colorscale="Viridis", cmin=zmin, cmax=zmax,
             colorbar=_colorbar(zmin, zmax, log_scale_title(loss_name)), opacity=0.95, name=_("loss"),
             contours=dict(z=dict(show=True, usecolormap=True, project=dict(z=True)))),
        dict(type="scatter3d", x=[p[0] for p in data.path], y=[p[1] for p in data.path], z=path_z,
             mode="lines+markers", name=_("adaptation path (projected)"), line=dict(color=PATH_COLOR, width=8),
             marker=dict(size=4, color=PATH_COLOR)),
    ]
    scene_axis = dict(tickfont=dict(size=FONT_SIZE - 6), title=dict(font=dict(size=FONT_SIZE - 2)))
    return go.Figure(data=traces, layout=base_layout(
        height=height, margin=dict(l=0, r=0, t=60, b=0), uirevision=None,
        scene=dict(xaxis={**scene_axis, "title": {**scene_axis["title"], "text": "a"}},
                   yaxis={**scene_axis, "title": {**scene_axis["title"], "text": "b"}},
                   zaxis={**scene_axis, "title": {**scene_axis["title"], "text": f"log₁₀ {loss_name}"}},
                   camera=dict(eye=dict(x=1.6, y=-1.6, z=1.0))),
    ), _validate=False)


def projection_check_figure(data: Any, *, height: int = 460, loss_name: str = "MSE") -> go.Figure:
    """How much the projection lies: the support loss at the true θ_j and at its projection onto
    the plane (left axis, log unless it spans less than a decade), and each point's distance from
    the plane beside ‖θ_j − θ₀‖ (right)."""
    steps = list(range(len(data.path_loss)))
    losses = [v for v in (*data.path_loss, *data.projected_loss) if v is not None and math.isfinite(v) and v > 0]
    log_y = bool(losses) and max(losses) >= 10 * min(losses)  # less than a decade (a cross-entropy): linear
    traces = [
        dict(type="scatter", x=steps, y=data.path_loss, mode="lines+markers", name=_("loss at the true θ_j"),
             line=dict(color=COLORS["post"], width=LINE_WIDTH), marker=dict(size=8)),
        dict(type="scatter", x=steps, y=data.projected_loss, mode="lines+markers",
             name=_("loss at the projected point"),
             line=dict(color=COLORS["pre"], width=3, dash="dash"), marker=dict(size=8, symbol="square")),
        dict(type="scatter", x=steps, y=data.step_norm, mode="lines", yaxis="y2", name="‖θ_j − θ₀‖",
             line=dict(color="#bcbd22", width=3)),
        dict(type="scatter", x=steps, y=data.residual, mode="lines", yaxis="y2", name=_("distance from the plane"),
             line=dict(color="#7f7f7f", width=5, dash="dot")),
    ]
    return go.Figure(data=traces, layout=base_layout(
        height=height, margin=dict(l=80, r=90, t=110, b=60), uirevision=None,
        xaxis=dict(title=dict(text=_("inner step j"), font=_TITLE), tickfont=_TICK),
        yaxis=dict(title=dict(text=_("support loss ({loss})").format(loss=loss_name), font=_TITLE), tickfont=_TICK,
                   **log_axis(losses))
        if log_y else dict(title=dict(text=_("support loss ({loss})").format(loss=loss_name), font=_TITLE),
                           tickfont=_TICK, rangemode="tozero"),
        # tickmode "auto": an overlaying axis otherwise takes the left axis's tick positions (one label, if
        # the left is a log axis within one decade).
        yaxis2=dict(title=dict(text=_("parameter distance"), font=_TITLE), overlaying="y", side="right",
                    tickfont=_TICK, rangemode="tozero", showgrid=False, tickmode="auto", nticks=6, tickformat=".2g"),
    ), _validate=False)
