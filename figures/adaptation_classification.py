"""Figures of one classification task's adaptation: data in (``adaptation_classification``), figure out.

- ``regions_animation_figure``: 2-D decision regions of each start side by side, one plotly frame
  per inner step with its own slider and play button (stepping runs in the browser, no rerun).
- ``step_accuracy_figure``: query (solid) and support (dashed) accuracy per step, chance dashed.

The cross-entropy per step is ``adaptation_figures.step_loss_figure`` with ``loss_name``; the digits
pictures are ``classification_figures.digit_predictions_figure``.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from leo_core.i18n import _

from .adaptation import START_COLORS
from .classification import decision_regions_figure
from .style import chance_line, COLORS, FONT_SIZE, LINE_WIDTH, base_layout, step_animation_controls

__all__ = ["regions_animation_figure", "step_accuracy_figure"]

_TICK = {"size": FONT_SIZE - 2}
_TITLE = {"size": FONT_SIZE}
_FRAME_MS = 700


def _step(panels: list[dict[str, Any]], s: int) -> dict[str, Any]:
    """Step ``s`` of every start as the "stages" of one task: ``decision_regions_figure`` lays them side by side."""
    first = panels[0]
    return dict(kind="regions", x=first["x"], y=first["y"], ways=first["ways"],
                regions=[p["regions"][s] for p in panels], accuracy=[p["accuracy"][s] for p in panels],
                stage_names=[p["label"] for p in panels], x_support=first["x_support"][:1],
                y_support=first["y_support"][:1])


def regions_animation_figure(panels: list[dict[str, Any]], *, height: int = 560) -> go.Figure:
    """One panel per start (same task); frame j shows the decision regions after j inner steps.

    Panel titles carry the query accuracy after the shown step. Args:
        panels: ``adaptation_classification.regions_by_step(...)`` per start (``regions`` [steps+1][1][R][R],
            ``accuracy`` [steps+1][1], ``label``), all on the same task.
    """
    if not panels:
        raise ValueError("nothing to animate: no starting point")
    steps = len(panels[0]["regions"]) - 1
    fig = decision_regions_figure(_step(panels, 0), height=height)
    heatmaps = [i for i, t in enumerate(fig.data) if t.type == "heatmap"]

    def frame(j: int) -> dict[str, Any]:
        annotations = [a.to_plotly_json() for a in decision_regions_figure(_step(panels, j)).layout.annotations]
        return dict(name=str(j), traces=heatmaps, layout=dict(annotations=annotations),
                    data=[dict(type="heatmap", z=p["regions"][j][0]) for p in panels])

    frames = [frame(j) for j in range(steps + 1)]
    layout = fig.layout.to_plotly_json()
    layout.update(margin=dict(l=50, r=10, t=45, b=130), uirevision=None)
    # Heatmaps are not tweened: each frame is a redraw (cheap at 40 × 40 cells per panel).
    layout.update(step_animation_controls(steps, frame_ms=_FRAME_MS, redraw=True, y=-0.12))
    return go.Figure(data=[t.to_plotly_json() for t in fig.data], layout=layout, frames=frames, _validate=False)


def step_accuracy_figure(metrics: list[dict[str, Any]], *, ways: int | None = None, height: int = 460) -> go.Figure:
    """Query (solid) and support (dashed) accuracy in % after 0 … steps inner steps, one colour per start."""
    traces = []
    for m in metrics:
        color = START_COLORS.get(m.key, COLORS["post"])
        steps = list(range(len(m.query_accuracy)))
        traces.append(dict(type="scatter", x=steps, y=[round(100 * v, 2) for v in m.query_accuracy],
                           mode="lines+markers", name=m.label, legendgroup=m.key,
                           line=dict(color=color, width=LINE_WIDTH), marker=dict(size=8),
                           hovertemplate=_("query accuracy") + " %{y:.1f}%<extra>" + m.label + "</extra>"))
        traces.append(dict(type="scatter", x=steps, y=[round(100 * v, 2) for v in m.support_accuracy],
                           mode="lines+markers", name=m.label, legendgroup=m.key, showlegend=False,
                           line=dict(color=color, width=2, dash="dash"), marker=dict(size=6, symbol="square"),
                           hovertemplate=_("support accuracy") + " %{y:.1f}%<extra>" + m.label + "</extra>"))
    for name, dash in ((_("solid: query"), "solid"), (_("dashed: support"), "dash")):
        traces.append(dict(type="scatter", x=[None], y=[None], mode="lines", name=name,
                           line=dict(color="#555555", width=3, dash=dash)))
    n_steps = len(metrics[0].query_accuracy) if metrics else 0
    layout = base_layout(
        height=height, margin=dict(l=80, r=20, t=110, b=60), uirevision=None,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, font=dict(size=FONT_SIZE - 2)),
        xaxis=dict(title=dict(text=_("inner step"), font=_TITLE), tickfont=_TICK, dtick=1 if n_steps <= 12 else None),
        yaxis=dict(title=dict(text=_("accuracy (%)"), font=_TITLE), range=[0, 103], dtick=20, tickfont=_TICK),
    )
    if ways:
        layout.update(chance_line(ways))
    return go.Figure(data=traces, layout=layout, _validate=False)
