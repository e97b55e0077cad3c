"""The Train page's live figures: meta-training loss curves and the adaptation preview.

Rebuilt several times a second while the training thread competes for the GIL, so traces are plain
dicts without plotly's validation (see ``style.figure``) and the curves are thinned.
"""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from leo_core.i18n import N_, _, ngettext
from leo_core.views.preview import PreviewCurves

from .style import COLORS, LINE_WIDTH, TICK_FONT, TITLE_FONT, base_layout, empty_figure, figure, log_axis, smooth, thin

__all__ = ["loss_curve_figure", "adaptation_preview_figure"]

LOSS_NAMES = (N_("cross-entropy"),)  # leo_core.losses' display names that are words (MSE stays MSE)


def loss_curve_figure(columns: dict[str, list], *, smoothing: float = 0.9, k: int | None = None,
                      log_y: bool = True, height: int = 420, loss_name: str = "MSE") -> go.Figure:
    """Meta-training curves: query loss before and after adaptation (raw, faint) with EMA lines.

    Args:
        columns: ``MetricHistory.columns()`` (needs ``iteration``, ``pre_loss``, ``post_loss``).
        smoothing: EMA weight of the thick lines (0 = no smoothing).
        k: inner steps, for the legend ("after k steps").
        loss_name: the loss, for the y-axis title.
    """
    it = list(columns.get("iteration") or [])
    if not it:
        return empty_figure(_("Press Start to meta-train; the loss curves appear here."), height)
    after = ngettext("after {k} step", "after {k} steps", k).format(k=k) if k is not None else _("after adaptation")
    idx = thin(len(it))
    xs = [it[i] for i in idx]
    traces = []
    for key, label in (("pre", _("θ₀ alone (no adaptation)")), ("post", _("θ₀ {after}").format(after=after))):
        ys = list(columns[f"{key}_loss"])
        smoothed = smooth(ys, smoothing) if smoothing else ys  # smoothed at full resolution, then thinned
        color = COLORS[key]
        traces.append(dict(type="scatter", x=xs, y=[ys[i] for i in idx], mode="lines", opacity=0.3,
                           line=dict(color=color, width=1), showlegend=False, hoverinfo="skip"))
        traces.append(dict(type="scatter", x=xs, y=[smoothed[i] for i in idx], mode="lines", name=label,
                           line=dict(color=color, width=LINE_WIDTH)))
    return figure(traces, base_layout(
        height=height,
        xaxis=dict(title=dict(text=_("meta-iteration"), font=TITLE_FONT), rangemode="tozero", tickfont=TICK_FONT),
        yaxis=dict(title=dict(text=_("query loss ({loss})").format(loss=_(loss_name)), font=TITLE_FONT),
                   tickfont=TICK_FONT,
                   **(log_axis([*columns["pre_loss"], *columns["post_loss"]]) if log_y else {"type": "linear"})),
    ))


def adaptation_preview_figure(curves: PreviewCurves, *, height: int = 420, y_range: Sequence[float] | None = None
                              ) -> go.Figure:
    """One panel per preview task: true function, support points, θ₀'s fit and its adapted fit.

    Args:
        curves: ``leo_core.views.preview.preview_curves(...)``: lists per task.
        y_range: fixed y-axis range; default: the true functions' range with a margin, so a wild
            early θ₀ does not squash the picture.
    """
    n = len(curves.x)
    gap = 0.08  # room between one panel's last x tick label and the next one's first
    width = (1 - gap * (n - 1)) / n
    steps = curves.steps
    after = ngettext("θ₀ + {n} step", "θ₀ + {n} steps", steps).format(n=steps)
    if y_range is None:
        ys = [v for row in curves.y_true + curves.y_support for v in row]
        lo, hi = min(ys), max(ys)
        pad = 0.25 * max(hi - lo, 1.0)
        y_range = (lo - pad, hi + pad)
    traces, layout = [], base_layout(height=height, margin=dict(l=60, r=20, t=80, b=50))
    for i in range(n):
        ax = "" if i == 0 else str(i + 1)
        xa, ya = f"x{ax}", f"y{ax}"
        first = i == 0
        traces += [
            dict(type="scatter", x=curves.x[i], y=curves.y_true[i], xaxis=xa, yaxis=ya, mode="lines", name=_("true function"),
                       line=dict(color=COLORS["true"], width=3, dash="dot"), legendgroup="true", showlegend=first),
            dict(type="scatter", x=curves.x[i], y=curves.before[i], xaxis=xa, yaxis=ya, mode="lines",
                       name="θ₀", line=dict(color=COLORS["pre"], width=3, dash="dash"),
                       legendgroup="pre", showlegend=first),
            dict(type="scatter", x=curves.x[i], y=curves.after[i], xaxis=xa, yaxis=ya, mode="lines",
                       name=after, line=dict(color=COLORS["post"], width=LINE_WIDTH + 1),
                       legendgroup="post", showlegend=first),
            dict(type="scatter", x=curves.x_support[i], y=curves.y_support[i], xaxis=xa, yaxis=ya, mode="markers",
                       name=_("support points"), legendgroup="support", showlegend=first,
                       marker=dict(color=COLORS["support"], size=13, line=dict(color="white", width=1.5))),
        ]
        start = i * (width + gap)
        layout[f"xaxis{ax}"] = dict(domain=[start, start + width], anchor=ya, tickfont=TICK_FONT,
                                    title=dict(text=_("x  (task {n})").format(n=i + 1), font=TITLE_FONT))
        layout[f"yaxis{ax}"] = dict(anchor=xa, range=list(y_range), showticklabels=first, tickfont=TICK_FONT,
                                    title=dict(text="y" if first else "", font=TITLE_FONT))
    return figure(traces, layout)
