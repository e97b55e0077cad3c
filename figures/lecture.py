"""The Lecture's own figure: each method's accuracy on new classes against classes seen in meta-training."""

from __future__ import annotations

from typing import Any, Mapping

import plotly.graph_objects as go

from leo_core.i18n import _, ngettext

from .style import FONT_SIZE, base_layout

__all__ = ["gap_figure", "measured_figure", "objective_figure", "quiz_figure"]

BASELINE = "pretrained"  # Chen et al.'s Baseline in the measured table
_NEW, _SEEN, _BASE = "#1f77b4", "rgba(31,119,180,0.35)", "#2ca02c"


def gap_figure(rows: Mapping[str, Any], *, height: int = 440) -> go.Figure:
    """Bars per method (``rows``: algorithm → a measured row with ``after_10``, ``train_accuracy_10``), sorted by
    accuracy on new classes; the Baseline in its own colour and its level as a dotted line."""
    shown = sorted((r for r in rows.values() if r.after_10 is not None and r.algorithm != "random"),
                   key=lambda r: -r.after_10)
    names = [_("Baseline") if r.algorithm == BASELINE else r.algorithm for r in shown]
    new = [100 * r.after_10 for r in shown]
    seen = [100 * r.train_accuracy_10 if r.train_accuracy_10 is not None else None for r in shown]
    colors = [_BASE if r.algorithm == BASELINE else _NEW for r in shown]
    traces = [
        dict(type="bar", x=names, y=new, name=_("new classes (meta-test)"), marker=dict(color=colors),
             text=[f"{v:.1f}%" for v in new], textposition="outside", textfont=dict(size=FONT_SIZE - 4)),
        dict(type="bar", x=names, y=seen, name=_("classes seen in meta-training"), marker=dict(color=_SEEN)),
    ]
    layout = base_layout(height=height, barmode="group", margin=dict(l=80, r=20, t=70, b=60), uirevision=None,
                         xaxis=dict(tickangle=0, tickfont=dict(size=FONT_SIZE - 4)),
                         yaxis=dict(title=dict(text=_("accuracy after 10 steps (%)")), range=[0, 100]))
    base = rows.get(BASELINE)
    if base is not None and base.after_10 is not None:
        layout["shapes"] = [dict(type="line", xref="paper", x0=0, x1=1, y0=100 * base.after_10,
                                 y1=100 * base.after_10, line=dict(color=_BASE, width=2, dash="dot"))]
    return go.Figure(data=traces, layout=layout, _validate=False)


def measured_figure(rows: Mapping[str, Any], *, height: int = 420) -> go.Figure:
    """A regression family's measured query error after 10 steps per algorithm (``rows``: algorithm → a measured
    row with ``after_10`` and ``ci_10``), best first; baselines in grey."""
    shown = sorted((r for r in rows.values() if r.after_10 is not None), key=lambda r: r.after_10)
    grey = ("pretrained", "random")
    traces = [dict(type="bar", x=[r.algorithm for r in shown], y=[r.after_10 for r in shown],
                   error_y=dict(type="data", array=[r.ci_10 or 0 for r in shown], visible=True),
                   marker=dict(color=["#999999" if r.algorithm in grey else _NEW for r in shown]),
                   text=[f"{r.after_10:.3f}" for r in shown], textposition="outside", name="")]
    layout = base_layout(height=height, showlegend=False, uirevision=None, margin=dict(l=80, r=20, t=40, b=60),
                         yaxis=dict(title=dict(text=_("query MSE after 10 steps"))))
    return go.Figure(data=traces, layout=layout, _validate=False)


def quiz_figure(task: Any, answer: Any, *, height: int = 520) -> go.Figure:
    """A quiz round: the five support characters and the query (top), and the model's probability of each class
    from θ₀ alone and after its adaptation (bottom); the right class's bar outlined."""
    ways = len(task.support)
    images = [task.support[i] for i in range(ways)] + [task.query]
    w, gap = 1 / (ways + 1), 0.02
    traces, layout = [], base_layout(height=height, uirevision=None, barmode="group",
                                     margin=dict(l=60, r=20, t=60, b=60))
    annotations = []
    for i, image in enumerate(images):
        ax = str(i + 1)
        layout[f"xaxis{ax}"] = dict(domain=[i * w + gap, (i + 1) * w - gap], visible=False, anchor=f"y{ax}")
        layout[f"yaxis{ax}"] = dict(domain=[0.55, 1.0], visible=False, autorange="reversed", anchor=f"x{ax}",
                                    scaleanchor=f"x{ax}")
        traces.append(dict(type="heatmap", z=image.float().tolist(), xaxis=f"x{ax}", yaxis=f"y{ax}",
                           colorscale=[[0, "#ffffff"], [1, "#000000"]], showscale=False, hoverinfo="skip"))
        label = str(i + 1) if i < ways else _("query")
        annotations.append(dict(text=f"<b>{label}</b>", x=(i + 0.5) * w, y=0.5, xref="paper", yref="paper",
                                showarrow=False, yanchor="top", font=dict(size=FONT_SIZE)))
    before, after = answer.probabilities[0], answer.probabilities[-1]
    classes = [str(i + 1) for i in range(ways)]
    line = [3 if i == task.answer else 0 for i in range(ways)]
    steps = len(answer.probabilities) - 1
    traces += [dict(type="bar", x=classes, y=[100 * p for p in before], name=_("θ₀ alone"), xaxis="x7", yaxis="y7",
                    marker=dict(color="#d62728", line=dict(width=line, color="#000"))),
               dict(type="bar", x=classes, y=[100 * p for p in after], xaxis="x7", yaxis="y7",
                    name=ngettext("after {n} adaptation step", "after {n} adaptation steps", steps).format(n=steps),
                    marker=dict(color=_NEW, line=dict(width=line, color="#000")))]
    layout["xaxis7"] = dict(domain=[0, 1], anchor="y7", title=dict(text=_("class (outlined: the right one)")))
    layout["yaxis7"] = dict(domain=[0, 0.38], anchor="x7", range=[0, 100], title=dict(text=_("confidence (%)")))
    layout["annotations"] = annotations
    return go.Figure(data=traces, layout=layout, _validate=False)


def objective_figure(record: Mapping[str, Any], labels: Mapping[str, str], *, height: int = 380) -> go.Figure:
    """Mean query error per inner step of each initialization (``record``: preset → ``loss_by_step``,
    ``ci95_by_step``), with 95% intervals."""
    colors = ("#d62728", _NEW)
    traces = [dict(type="scatter", mode="lines+markers", name=label, x=list(range(len(record[key]["loss_by_step"]))),
                   y=record[key]["loss_by_step"], line=dict(color=color, width=4),
                   error_y=dict(type="data", array=record[key]["ci95_by_step"], visible=True))
              for (key, label), color in zip(labels.items(), colors) if key in record]
    layout = base_layout(height=height, uirevision=None, margin=dict(l=80, r=20, t=60, b=60),
                         xaxis=dict(title=dict(text=_("inner step")), dtick=1),
                         yaxis=dict(title=dict(text=_("query MSE (600 new tasks)")), rangemode="tozero"))
    return go.Figure(data=traces, layout=layout, _validate=False)
