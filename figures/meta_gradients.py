"""The meta-gradient pictures: θ₀'s path on J with each algorithm's update arrow, and their cosines.

Data in (``leo_core.views.meta_gradients`` results), plotly figure out. The path figure carries one
animation frame per point where the arrows were computed; a frame moves θ₀'s marker, the path so far
and the arrows (the contours stay), so it plays in any browser without the app.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import plotly.graph_objects as go

from leo_core.i18n import N_, _, ngettext

from .landscape import MARKS, PATH_COLOR, _colorbar, _contour, _range, log10_grid, log_scale_title
from .style import FONT_SIZE, LINE_WIDTH, animation_controls, base_layout, figure

__all__ = ["ALGORITHM_COLORS", "meta_gradient_figure", "cosine_figure", "cosine_bar_figure", "algorithm_color"]

_TICK = {"size": FONT_SIZE - 2}
_TITLE = {"size": FONT_SIZE}
ALGORITHM_COLORS = {
    "leo": "#111111",
    "leo-fo": "#1f77b4",
    "reptile": "#d62728",
    "imaml": "#9467bd",
    "pretrained": "#17becf",
    "meta-sgd": "#bcbd22",
    "anil": "#e377c2",
}
ARROW_FRACTION = 0.28  # every arrow is this fraction of the smaller axis range long
PATH_ALL = N_("θ₀'s meta-training path")
PATH_SO_FAR = N_("θ₀'s path so far")


def algorithm_color(key: str) -> str:
    return ALGORITHM_COLORS.get(key, "#7f7f7f")


def _arrow_name(d: Any) -> str:
    return f"{d.key}  ‖Δ‖ = {d.norm:.3g}"


def _dynamic(data: Any, frame: Any, length: float) -> list[dict[str, Any]]:
    """The traces one frame changes, in a fixed order: per panel, path so far, θ₀, then one arrow per algorithm."""
    upto = [i for i, it in enumerate(data.path_iterations) if it <= frame.iteration]
    px = [data.path[i][0] for i in upto] + [frame.theta0[0]]
    py = [data.path[i][1] for i in upto] + [frame.theta0[1]]
    traces = []
    for panel, (xa, ya) in enumerate((("x", "y"), ("x2", "y2"))):
        first = panel == 0
        traces.append(dict(type="scatter", x=px, y=py, xaxis=xa, yaxis=ya, mode="lines", name=_(PATH_SO_FAR),
                           legendgroup="path-now", showlegend=first, line=dict(color=PATH_COLOR, width=LINE_WIDTH),
                           hoverinfo="skip"))
        traces.append(dict(type="scatter", x=[frame.theta0[0]], y=[frame.theta0[1]], xaxis=xa, yaxis=ya,
                           mode="markers", name=_("θ₀ at iteration {iteration}").format(iteration=frame.iteration),
                           legendgroup="theta0",
                           showlegend=first, marker=MARKS["theta0"],
                           hovertemplate="θ₀ = (%{x:.3f}, %{y:.3f})<extra></extra>"))
        for n, d in enumerate(frame.directions):
            x0, y0 = frame.theta0
            # Arrows that agree lie on top of each other: each next one is thinner, so all stay visible.
            width = max(2.0, 11.0 - 2.2 * n)
            ok = d.norm > 0 and math.isfinite(d.norm)
            ux, uy = (d.vector[0] / d.norm, d.vector[1] / d.norm) if ok else (0.0, 0.0)
            traces.append(dict(
                type="scatter", x=[x0, x0 + length * ux], y=[y0, y0 + length * uy], xaxis=xa, yaxis=ya,
                mode="lines+markers", name=_arrow_name(d), legendgroup=d.key, showlegend=first,
                line=dict(color=algorithm_color(d.key), width=width),
                marker=dict(symbol=["circle", "arrow"], size=[1, 12 + 2.2 * width], angleref="previous",
                            color=algorithm_color(d.key)),
                hovertemplate=f"{d.key}: ‖Δ‖ = {d.norm:.3g}"
                              + (_(", cos with leo = {cosine}").format(cosine=f"{d.cosine:.3f}") if d.cosine is not None
                                 else "") + "<extra></extra>"))
    return traces


def meta_gradient_figure(data: Any, *, height: int = 780, loss_name: str = "MSE") -> go.Figure:
    """J after k steps (left) and the average loss (right), θ₀'s meta-training path on both, and at θ₀
    one arrow per algorithm, all at one length (the legend gives each norm). A slider and play button
    move θ₀ along the path with the arrows computed there; the figure opens at the newest θ₀.

    ``data``: a ``leo_core.views.meta_gradients.LinearMetaGradients``.
    """
    k, alpha = data.k, data.alpha
    logs = [log10_grid(data.meta), log10_grid(data.average)]
    zmin, zmax = _range(*logs)
    span = min(data.a[-1] - data.a[0], data.b[-1] - data.b[0])
    length = ARROW_FRACTION * span
    layout = base_layout(height=height, margin=dict(l=80, r=20, t=180, b=170), uirevision=None)
    layout["legend"] = dict(orientation="h", yanchor="bottom", y=1.14, xanchor="left", x=0, font=dict(size=FONT_SIZE - 2))
    titles = [ngettext("meta-objective J<br>after k = {k} step, α = {alpha}",
                       "meta-objective J<br>after k = {k} steps, α = {alpha}", k).format(k=k, alpha=f"{alpha:g}"),
              _("average loss (k = 0):<br>what pretraining minimises")]
    w, gap = 0.4, 0.1
    traces, annotations = [], []
    for i, (logz, title) in enumerate(zip(logs, titles)):
        ax = "" if i == 0 else "2"
        xa, ya = f"x{ax}", f"y{ax}"
        x0 = i * (w + gap)
        layout[f"xaxis{ax}"] = dict(domain=[x0, x0 + w], anchor=ya, tickfont=_TICK, constrain="domain",
                                    title=dict(text=_("θ₀ (intercept)"), font=_TITLE))
        # Equal scales, so an arrow's angle to the contours is the true one (leo's is perpendicular to J's).
        layout[f"yaxis{ax}"] = dict(domain=[0, 1], anchor=xa, tickfont=_TICK, scaleanchor=xa, scaleratio=1,
                                    constrain="domain", title=dict(text=_("θ₁ (slope)"), font=_TITLE))
        annotations.append(dict(text=f"<b>{title}</b>", x=x0 + w / 2, y=1.0, xref="paper", yref="paper",
                                xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=FONT_SIZE - 2)))
        contour = _contour(data.a, data.b, logz, zmin, zmax, xa, ya, i == 1, log_scale_title(loss_name))
        contour["colorbar"] = _colorbar(zmin, zmax, log_scale_title(loss_name))
        traces.append(contour)
        traces.append(dict(type="scatter", x=[p[0] for p in data.path], y=[p[1] for p in data.path], xaxis=xa,
                           yaxis=ya, mode="lines", name=_(PATH_ALL), legendgroup="path", showlegend=i == 0,
                           line=dict(color="rgba(255,255,255,0.8)", width=2, dash="dot"),
                           text=[_("iteration {iteration}").format(iteration=it) for it in data.path_iterations],
                           hovertemplate="%{text}: (%{x:.3f}, %{y:.3f})<extra></extra>"))
        traces.append(dict(type="scatter", x=[data.pretrained[0]], y=[data.pretrained[1]], xaxis=xa, yaxis=ya,
                           mode="markers", name=_("pretrained optimum"), legendgroup="pre", showlegend=i == 0,
                           marker=MARKS["pretrained"]))
    static = len(traces)
    last = data.frames[-1]
    traces += _dynamic(data, last, length)
    dynamic_ids = list(range(static, len(traces)))
    layout["annotations"] = annotations
    frames = []
    if len(data.frames) > 1:
        labels = [str(f.iteration) for f in data.frames]
        # The figure opens at the newest θ₀ (the last frame): play replays the path from its start.
        layout.update(animation_controls(labels, frame_ms=250, redraw=True, y=-0.2, prefix=_("meta-iteration "),
                                         start_at_end=True))
        frames = [go.Frame(name=lab, data=_dynamic(data, f, length), traces=dynamic_ids)
                  for lab, f in zip(labels, data.frames)]
    fig = figure(traces, layout)
    if frames:
        fig.frames = frames
    return fig


def cosine_figure(sweep: Any, *, height: int = 440) -> go.Figure:
    """cos(direction, leo's) against α (at the page's k, left) and against k (at the page's α, right)."""
    traces = []
    for i, (curves, xs, xa, ya) in enumerate(((sweep.by_alpha, sweep.alphas, "x", "y"),
                                              (sweep.by_k, sweep.ks, "x2", "y2"))):
        for c in curves:
            if c.key == "leo":
                continue  # cos(leo, leo) = 1: the dashed line
            traces.append(dict(type="scatter", x=list(xs), y=[v if v is not None else None for v in c.values],
                               xaxis=xa, yaxis=ya, mode="lines+markers", name=c.key, legendgroup=c.key,
                               showlegend=i == 0, line=dict(color=algorithm_color(c.key), width=3),
                               marker=dict(size=8), connectgaps=False,
                               hovertemplate=_("{algorithm} at {variable} = {value}: cos = {cosine}").format(
                                   algorithm=c.key, variable="α" if i == 0 else "k", value="%{x:g}",
                                   cosine="%{y:.4f}") + "<extra></extra>"))
    both = [v for c in (*sweep.by_alpha, *sweep.by_k) for v in c.values if v is not None]
    lo = min([*both, 0.9])
    y_range = [max(-1.05, lo - 0.05 * (1.02 - lo)), 1.02]
    shapes = [dict(type="line", xref="x domain", yref="y", x0=0, x1=1, y0=1, y1=1, line=dict(dash="dash", width=2)),
              dict(type="line", xref="x2 domain", yref="y2", x0=0, x1=1, y0=1, y1=1, line=dict(dash="dash", width=2)),
              dict(type="line", xref="x", yref="y domain", x0=sweep.alpha, x1=sweep.alpha, y0=0, y1=1,
                   line=dict(color="#888", dash="dot", width=2)),
              dict(type="line", xref="x2", yref="y2 domain", x0=sweep.k, x1=sweep.k, y0=0, y1=1,
                   line=dict(color="#888", dash="dot", width=2))]
    layout = base_layout(
        height=height, margin=dict(l=80, r=20, t=110, b=70), uirevision=None, shapes=shapes,
        xaxis=dict(domain=[0, 0.45], type="log", title=dict(text=f"α (k = {sweep.k})", font=_TITLE), tickfont=_TICK,
                   **_alpha_ticks(sweep.alphas, sweep.alpha)),
        yaxis=dict(range=y_range, title=dict(text=_("cos with leo's meta-gradient"), font=_TITLE), tickfont=_TICK),
        xaxis2=dict(domain=[0.55, 1], anchor="y2", title=dict(text=f"k (α = {sweep.alpha:g})", font=_TITLE),
                    tickfont=_TICK, dtick=1 if len(sweep.ks) <= 12 else None),
        yaxis2=dict(range=y_range, anchor="x2", tickfont=_TICK),
    )
    return figure(traces, layout)


def _alpha_ticks(alphas: Sequence[float], page_alpha: float) -> dict[str, list]:
    """A tick (and grid line) at every α of the sweep, labelled only at the page's α and at the powers of ten at
    least a factor 3 from it: ten labels, 1-2-5 per decade, ran into each other in a half-width panel, and so did
    two a factor 2 apart (the hover gives every point's α)."""
    def labelled(a: float) -> bool:
        decade = math.isclose(math.log10(a), round(math.log10(a)), abs_tol=1e-9)
        return math.isclose(a, page_alpha) or (decade and max(a, page_alpha) / min(a, page_alpha) >= 3 - 1e-9)
    return {"tickvals": list(alphas), "ticktext": [f"{a:g}" if labelled(a) else "" for a in alphas],
            "tickangle": 0}


def cosine_bar_figure(directions: Sequence[Any], *, n_params: int, height: int = 420) -> go.Figure:
    """A network's directions at θ₀: cos with leo's meta-gradient per algorithm (bar text: the norm)."""
    shown = [d for d in directions if d.key != "leo"]
    traces = [dict(type="bar", x=[d.key for d in shown], y=[d.cosine if d.cosine is not None else 0 for d in shown],
                   marker=dict(color=[algorithm_color(d.key) for d in shown]),
                   text=[f"‖Δ‖ = {d.norm:.3g}" for d in shown], textposition="outside", name=_("cos with leo"),
                   hovertemplate="%{x}: cos = %{y:.4f}<extra></extra>")]
    layout = base_layout(
        height=height, margin=dict(l=80, r=20, t=80, b=60), uirevision=None, showlegend=False,
        title=dict(text=_("cos(direction, leo's meta-gradient) in {n} dimensions").format(n=f"{n_params:,}"),
                   font=_TITLE),
        yaxis=dict(range=[-1.1, 1.25], title=dict(text=_("cosine"), font=_TITLE), tickfont=_TICK, zeroline=True),
        xaxis=dict(tickfont=_TICK),
    )
    return figure(traces, layout)
