"""Plotly figure builders for few-shot classification: data in, figure out (no torch, no Streamlit).

- ``accuracy_curve_figure``: query accuracy of θ₀ and after k steps during meta-training.
- ``decision_regions_figure``: 2-D decision regions (stages × tasks) with the support points.
- ``digit_predictions_figure``: a digits task's support images and its query predictions per stage.

Each class label has one colour everywhere (``class_color``): region fill, support marker, row
label. The inputs are the dicts of ``leo_core.views.classification_preview``; like ``figures``, traces
are plain dicts built without plotly's validation, so a live view can redraw them cheaply.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

import plotly.graph_objects as go

from leo_core.i18n import N_, _, ngettext

from .style import chance_line, COLORS, FONT_SIZE, LINE_WIDTH, base_layout, empty_figure, smooth, thin

__all__ = [
    "CLASS_COLORS", "OUTCOME_COLORS", "class_color", "class_probabilities_figure", "INK", "class_colorscale", "accuracy_curve_figure",
    "decision_regions_figure", "digit_predictions_figure", "classification_preview_figure",
]

# Ten well-separated colours (Tableau 10 / D3): enough for the Train page's 2…10 ways.
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
OUTCOME_COLORS = {"correct": "#1a9641", "wrong": "#d7191c"}
REGION_OPACITY = 0.4  # region tint: the support points (full colour) must stand out on it
TICK_FONT = {"size": FONT_SIZE - 2}
TITLE_FONT = {"size": FONT_SIZE}
_PANEL_TITLE_FONT = {"size": FONT_SIZE - 1}


def class_color(label: int) -> str:
    """The colour of class label ``label`` (cycles past ten classes)."""
    return CLASS_COLORS[label % len(CLASS_COLORS)]


def class_colorscale(ways: int) -> list[list[Any]]:
    """A stepped colourscale for a heatmap of labels 0…ways−1 with ``zmin=-0.5, zmax=ways-0.5``."""
    scale = []
    for c in range(ways):
        scale += [[c / ways, class_color(c)], [(c + 1) / ways, class_color(c)]]
    return scale


def figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    return go.Figure(data=traces, layout=layout, _validate=False)


def _span(a: float, b: float) -> list[float]:
    """An axis domain, clamped to [0, 1] (float rounding must not step outside it)."""
    return [round(max(0.0, a), 6), round(min(1.0, b), 6)]


def _inner_ticks(lo: float, hi: float) -> list[float]:
    """Round tick values strictly inside (lo, hi): side-by-side panels then never print "5−5"."""
    step = 4.0 if hi - lo <= 12 else 10.0  # three labels per narrow panel
    first = math.floor(lo / step) * step + step
    ticks = []
    while first < hi - 1e-9:
        ticks.append(round(first, 6))
        first += step
    return ticks


_STAGE = re.compile(r"θ₀ \+ (\d+) steps?")
OUTCOMES = {"correct": N_("correct"), "wrong": N_("wrong")}  # the query tiles' outcomes, as the legend names them


def stage_label(name: str) -> str:
    """A stage's name (``leo_core.views.classification_preview.stage_name``: "θ₀", "θ₀ + 5 steps") in the reader's
    language."""
    match = _STAGE.fullmatch(name)
    if match:
        n = int(match.group(1))
        return ngettext("θ₀ + {n} step", "θ₀ + {n} steps", n).format(n=n)
    return _(name) if name else name


def _panel_title(text: str, x: float, y: float = 1.0) -> dict[str, Any]:
    return dict(text=text, x=x, y=y, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
                showarrow=False, font=_PANEL_TITLE_FONT)


# -- meta-training curve -------------------------------------------------------------------------------


def accuracy_curve_figure(columns: dict[str, list], *, smoothing: float = 0.9, k: int | None = None,
                          ways: int | None = None, height: int = 420) -> go.Figure:
    """Query accuracy (%) of θ₀ alone and after k steps (raw, faint; EMA, thick); chance dashed.

    Args:
        columns: ``MetricHistory.columns()`` (needs ``iteration``, ``pre_accuracy``, ``post_accuracy``).
        ways: classes per task, for the chance line at 100/ways %.
    """
    it = list(columns.get("iteration") or [])
    if not it or not any(v is not None for v in columns.get("post_accuracy") or []):
        return empty_figure(_("Press Start to meta-train; the accuracy curves appear here."), height)
    after = ngettext("after {k} step", "after {k} steps", k).format(k=k) if k is not None else _("after adaptation")
    idx = thin(len(it))
    xs = [it[i] for i in idx]
    traces = []
    for key, label in (("pre", _("θ₀ alone (no adaptation)")), ("post", _("θ₀ {after}").format(after=after))):
        ys = [None if v is None else 100.0 * v for v in columns[f"{key}_accuracy"]]
        smoothed = smooth(ys, smoothing) if smoothing else ys
        color = COLORS[key]
        traces.append(dict(type="scatter", x=xs, y=[ys[i] for i in idx], mode="lines", opacity=0.3,
                           line=dict(color=color, width=1), showlegend=False, hoverinfo="skip"))
        traces.append(dict(type="scatter", x=xs, y=[round(smoothed[i], 2) for i in idx], mode="lines", name=label,
                           line=dict(color=color, width=LINE_WIDTH)))
    layout = base_layout(
        height=height,
        xaxis=dict(title=dict(text=_("meta-iteration"), font=TITLE_FONT), rangemode="tozero", tickfont=TICK_FONT),
        yaxis=dict(title=dict(text=_("query accuracy (%)"), font=TITLE_FONT), range=[0, 101], tickfont=TICK_FONT,
                   dtick=20),
    )
    if ways:
        layout.update(chance_line(ways))
    return figure(traces, layout)


# -- 2-D decision regions -----------------------------------------------------------------------------


def decision_regions_figure(data: dict[str, Any], *, height: int | None = None) -> go.Figure:
    """Decision regions, one panel per (stage, task): rows are stages, columns tasks.

    With one task the stages are laid out side by side instead (an adaptation, step by step).
    Support points are drawn in their class's colour with a dark edge, over the region tint.

    Args:
        data: ``classification_preview.regions_preview(...)``.
    """
    regions, names, ways = data["regions"], [stage_label(n) for n in data["stage_names"]], data["ways"]
    n_stages, n_tasks = len(regions), len(regions[0])
    accuracy = data.get("accuracy")
    one_task = n_tasks == 1
    n_rows, n_cols = (1, n_stages) if one_task else (n_stages, n_tasks)
    gap_x, gap_y = 0.03, 0.12
    width = (1 - gap_x * (n_cols - 1)) / n_cols
    tall = (1 - gap_y * (n_rows - 1)) / n_rows
    scale = class_colorscale(ways)
    x_axis, y_axis = data["x"], data["y"]
    lo, hi = x_axis[0], x_axis[-1]
    ticks = _inner_ticks(lo, hi)
    if height is None:
        height = 90 + 210 * n_rows
    traces: list[dict[str, Any]] = []
    layout = base_layout(height=height, margin=dict(l=90 if not one_task else 50, r=10, t=40, b=35),
                          showlegend=False)
    annotations = []
    for s in range(n_stages):
        for t in range(n_tasks):
            row, col = (0, s) if one_task else (s, t)
            i = row * n_cols + col
            ax = "" if i == 0 else str(i + 1)
            xa, ya = f"x{ax}", f"y{ax}"
            traces.append(dict(type="heatmap", x=x_axis, y=y_axis, z=regions[s][t], xaxis=xa, yaxis=ya,
                               colorscale=scale, zmin=-0.5, zmax=ways - 0.5, showscale=False,
                               opacity=REGION_OPACITY, hoverinfo="skip", zsmooth=False))
            pts, labels = data["x_support"][t], data["y_support"][t]
            traces.append(dict(type="scatter", x=[p[0] for p in pts], y=[p[1] for p in pts], xaxis=xa, yaxis=ya,
                               mode="markers", name=_("support"),
                               hovertemplate=_("label") + " %{text}<extra></extra>",
                               text=[str(c) for c in labels],
                               marker=dict(color=[class_color(c) for c in labels], size=13,
                                           line=dict(color="#111", width=2))))
            x0 = col * (width + gap_x)
            y1 = 1 - row * (tall + gap_y)
            layout[f"xaxis{ax}"] = dict(domain=_span(x0, x0 + width), anchor=ya, range=[lo, hi], tickfont=TICK_FONT,
                                        tickvals=ticks, showticklabels=row == n_rows - 1, showgrid=False, zeroline=False)
            # Stages side by side are named above each panel; stacked stages name their row on the left.
            row_name = dict(text=names[s], font=TITLE_FONT) if not one_task and col == 0 else None
            layout[f"yaxis{ax}"] = dict(domain=_span(y1 - tall, y1), anchor=xa, range=[lo, hi], tickfont=TICK_FONT,
                                        tickvals=ticks, showticklabels=col == 0, showgrid=False, zeroline=False, title=row_name)
            parts = [names[s]] if one_task else [_("task {n}").format(n=t + 1)] if row == 0 else []
            if accuracy is not None:
                parts.append(f"{100 * accuracy[s][t]:.0f}%")
            title = " · ".join(parts)
            annotations.append(_panel_title(title, x0 + width / 2, y1))
    layout["annotations"] = annotations
    return figure(traces, layout)


# -- digits: support images and query predictions -----------------------------------------------------


_TILE_GAP = 3  # pixels between 8×8 tiles in a mosaic


def _mosaic(images: list[list[float]], per_row: int, side: int) -> list[list[float | None]]:
    """Images (flattened ``side²``) as a grid of tiles, ``per_row`` per row, ``None`` in the gaps."""
    rows = (len(images) + per_row - 1) // per_row
    step = side + _TILE_GAP
    z: list[list[float | None]] = [[None] * (per_row * step - _TILE_GAP) for _ in range(rows * step - _TILE_GAP)]
    for n, img in enumerate(images):
        r0, c0 = (n // per_row) * step, (n % per_row) * step
        for i in range(side):
            z[r0 + i][c0:c0 + side] = img[i * side:(i + 1) * side]
    return z


def _frames(tiles: list[int], per_row: int, side: int) -> tuple[list[float | None], list[float | None]]:
    """One line trace's x, y drawing a box just outside each tile of ``tiles`` (None-separated)."""
    step, pad = side + _TILE_GAP, 0.5 + 0.7
    xs: list[float | None] = []
    ys: list[float | None] = []
    for n in tiles:
        x0, y0 = (n % per_row) * step - pad, (n // per_row) * step - pad
        x1, y1 = x0 + side - 1 + 2 * pad, y0 + side - 1 + 2 * pad
        xs += [x0, x1, x1, x0, x0, None]
        ys += [y0, y0, y1, y1, y0, None]
    return xs, ys


def _centres(count: int, per_row: int, side: int) -> tuple[list[float], list[float]]:
    step = side + _TILE_GAP
    return ([(n % per_row) * step + (side - 1) / 2 for n in range(count)],
            [(n // per_row) * step + (side - 1) / 2 for n in range(count)])


# Ink (1) black on white paper, spelled out: plotly.js's and plotly.py's "Greys" run in opposite directions, so a
# named scale flipped with reversescale showed white ink on black once a figure went through go.Figure (the
# presentation-mode copy).
INK = [[0.0, "white"], [1.0, "black"]]


def digit_predictions_figure(data: dict[str, Any], *, max_shots: int = 3, height: int | None = None) -> go.Figure:
    """Support images (one row per label, framed in the label's colour) and, per stage, the query
    images framed green when predicted correctly and red when not.

    Args:
        data: ``classification_preview.images_preview(...)``.
        max_shots: support images drawn per class (all are used for adaptation).
    """
    ways, side = data["ways"], data["side"]
    shots = data["shots"]
    shown = min(shots, max_shots)
    support = [img for n, img in enumerate(data["support"]) if n % shots < shown]
    y_support = [c for n, c in enumerate(data["y_support"]) if n % shots < shown]
    query, y_query = data["query"], data["y_query"]
    per_class = len(query) // ways
    step = side + _TILE_GAP
    n_panels = 1 + len(data["predictions"])
    cols = [shown] + [per_class] * (n_panels - 1)
    gap = 0.04
    unit = (1 - 0.06 - gap * (n_panels - 1)) / sum(cols)  # paper width per tile column; 6% for row labels
    if height is None:
        height = 100 + 50 * ways
    traces: list[dict[str, Any]] = []
    layout = base_layout(height=height, margin=dict(l=10, r=10, t=75, b=10), plot_bgcolor="white",
                          legend=dict(orientation="h", yanchor="top", y=-0.01, xanchor="right", x=1,
                                      font=dict(size=FONT_SIZE - 2)))
    annotations = []
    y_range = [ways * step - _TILE_GAP + 0.5, -1.5]  # reversed: label 0 on top
    x0 = 0.06
    for p in range(n_panels):
        ax = "" if p == 0 else str(p + 1)
        xa, ya = f"x{ax}", f"y{ax}"
        per_row = cols[p]
        images = support if p == 0 else query
        traces.append(dict(type="heatmap", z=_mosaic(images, per_row, side), xaxis=xa, yaxis=ya,
                           colorscale=INK, zmin=0, zmax=1, showscale=False,
                           hoverinfo="skip"))
        if p == 0:
            for c in range(ways):
                fx, fy = _frames([n for n, lab in enumerate(y_support) if lab == c], per_row, side)
                traces.append(dict(type="scatter", x=fx, y=fy, xaxis=xa, yaxis=ya, mode="lines", hoverinfo="skip",
                                   line=dict(color=class_color(c), width=3), showlegend=False))
            title = (_("support<br>{shown} of {shots} shown").format(shown=shown, shots=shots) if shown < shots
                     else _("support<br>{shots} per class").format(shots=shots))
            for c in range(ways):  # row labels in the class colour, left of the support images
                annotations.append(dict(text=f"<b>{c}</b>", x=x0 - 0.005, xref="paper", xanchor="right",
                                        y=c * step + (side - 1) / 2, yref=ya, showarrow=False,
                                        font=dict(size=FONT_SIZE, color=class_color(c)),
                                        hovertext=data["classes"][c] if "classes" in data else None))
        else:
            preds = data["predictions"][p - 1]
            right = [n for n, (a, b) in enumerate(zip(preds, y_query)) if a == b]
            wrong = [n for n, (a, b) in enumerate(zip(preds, y_query)) if a != b]
            for outcome, tiles, mark in (("correct", right, "✓"), ("wrong", wrong, "✗")):
                fx, fy = _frames(tiles, per_row, side)
                traces.append(dict(type="scatter", x=fx or [None], y=fy or [None], xaxis=xa, yaxis=ya, mode="lines",
                                   name=f"{mark} {_(OUTCOMES[outcome])}", legendgroup=outcome, showlegend=p == 1,
                                   hoverinfo="skip", line=dict(color=OUTCOME_COLORS[outcome], width=4)))
            cx, cy = _centres(len(query), per_row, side)
            traces.append(dict(type="scatter", x=cx, y=cy, xaxis=xa, yaxis=ya, mode="markers", name=_("predictions"),
                               showlegend=False, marker=dict(size=20, opacity=0),
                               hovertemplate="%{text}<extra></extra>",
                               text=_hover(preds, y_query, data.get("probabilities", [None] * n_panels)[p - 1])))
            acc = data["accuracy"][p - 1] if "accuracy" in data else len(right) / len(preds)
            title = _("{stage}<br>{right}/{total} right ({percent}%)").format(
                stage=stage_label(data["stage_names"][p - 1]), right=len(right), total=len(preds),
                percent=f"{100 * acc:.0f}")
        width = unit * cols[p]
        layout[f"xaxis{ax}"] = dict(domain=_span(x0, x0 + width), anchor=ya, visible=False,
                                    range=[-1.5, per_row * step - _TILE_GAP + 0.5])
        # Square pixels; every panel's x-range is proportional to its width, so rows stay aligned.
        layout[f"yaxis{ax}"] = dict(domain=[0, 1], anchor=xa, visible=False, range=y_range, scaleanchor=xa)
        annotations.append(_panel_title(title, x0 + width / 2))
        x0 += width + gap
    layout["annotations"] = annotations
    return figure(traces, layout)


def _hover(preds: list[int], labels: list[int], probs: list[list[float]] | None) -> list[str]:
    """Each query tile's hover: its label, the prediction and (where known) the model's confidence in each."""
    if probs is None:
        return [_("label {label}, predicted {predicted}").format(label=b, predicted=a) for a, b in zip(preds, labels)]
    return [_("label {label} (p = {p_label}), predicted {predicted} (p = {p_predicted})").format(
        label=b, p_label=f"{row[b]:.2f}", predicted=a, p_predicted=f"{row[a]:.2f}")
            for a, b, row in zip(preds, labels, probs)]


def class_probabilities_figure(data: dict[str, Any], query: int, *, height: int = 360) -> go.Figure:
    """The model's probability for each class of one query image, after each shown step (grouped bars).

    Args:
        data: ``classification_preview.images_preview(...)`` (with ``"probabilities"``).
        query: the query image's index in ``data["query"]``.
    """
    ways, label = data["ways"], data["y_query"][query]
    stages = data["stage_names"]
    traces = []
    shades = _stage_shades(len(stages))
    word = _("label")
    for s, name in enumerate(stages):
        name = stage_label(name)
        probs = data["probabilities"][s][query]
        traces.append(dict(type="bar", x=list(range(ways)), y=probs, name=name, marker=dict(color=shades[s]),
                           hovertemplate=f"{name}: {word} %{{x}}, p = %{{y:.2f}}<extra></extra>"))
    layout = base_layout(
        height=height, barmode="group", bargap=0.25, margin=dict(l=70, r=20, t=80, b=60),
        title=dict(text=_("Query image {n} (label {label}): probability of each label").format(n=query + 1, label=label),
                   x=0, xanchor="left",
                   y=0.98, yanchor="top", font=dict(size=FONT_SIZE)),
        xaxis=dict(title=_("label"), tickmode="array", tickvals=list(range(ways)), ticktext=[
            f"<b>{c}</b>" if c == label else str(c) for c in range(ways)]),
        yaxis=dict(title=_("probability"), range=[0, 1.05]),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1, font=dict(size=FONT_SIZE - 2)),
        shapes=[dict(type="rect", xref="x", yref="paper", x0=label - 0.5, x1=label + 0.5, y0=0, y1=1,
                     fillcolor=OUTCOME_COLORS["correct"], opacity=0.12, line=dict(width=0), layer="below")],
    )
    return figure(traces, layout)


def _stage_shades(n: int) -> list[str]:
    """Light grey for θ₀ to the darkest blue for the last step shown."""
    if n == 1:
        return [COLORS["post"]]
    return ["#bbbbbb"] + [f"rgba(31, 119, 180, {0.35 + 0.65 * i / max(n - 2, 1):.2f})" for i in range(n - 1)]


_BUILDERS: dict[str, Callable[..., go.Figure]] = {
    "regions": decision_regions_figure,
    "images": digit_predictions_figure,
}


def classification_preview_figure(data: dict[str, Any], **kwargs: Any) -> go.Figure:
    """The figure for ``classification_preview.classification_preview(...)`` by its ``"kind"``."""
    return _BUILDERS[data["kind"]](data, **kwargs)
