"""Scale a finished plotly figure like a zoom: fonts, lines, markers, height, margins (presentation mode).

The figure builders already use ``figures.FONT_SIZE`` and ``LINE_WIDTH``; this multiplies every
font size, line width and scalar marker size a figure sets (or inherits) by one factor, so any
builder's output can be made larger without a parameter in each builder.
"""

from __future__ import annotations

import plotly.graph_objects as go

from .style import FONT_SIZE

__all__ = ["scale_figure"]


def _times(value, factor: float, default: float | None = None):
    if value is None:
        return None if default is None else default * factor
    return value * factor


def scale_figure(fig: go.Figure, factor: float, height_factor: float | None = None) -> go.Figure:
    """A copy of ``fig`` with fonts, lines, markers and margins times ``factor`` and its height times
    ``height_factor`` (default ``factor``, as a zoom); ``fig`` itself when both are 1."""
    height_factor = factor if height_factor is None else height_factor
    if factor == 1 and height_factor == 1:
        return fig
    if factor <= 0 or height_factor <= 0:
        raise ValueError(f"factors must be > 0, got {factor} and {height_factor}")
    fig = go.Figure(fig)
    # Margins grow with the text: axis titles, legends and animation controls placed in paper coordinates
    # below a plot keep their room for the larger text. The height may grow less than the text (a projector's
    # screen is no taller than a laptop's, relative to its text).
    plot_before = _plot_height(fig)
    if fig.layout.height:
        fig.layout.height = round(fig.layout.height * height_factor)
    for side in ("l", "r", "t", "b"):
        if fig.layout.margin[side] is not None:
            fig.layout.margin[side] = round(fig.layout.margin[side] * factor)
    plot_after = _plot_height(fig)
    if plot_before and plot_after:  # controls and legends outside the plot stay as far from it as the text grew
        stretch = factor * plot_before / plot_after
        for control in (*(fig.layout.updatemenus or ()), *(fig.layout.sliders or ()), fig.layout.legend):
            if control.y is not None and (control.y < 0 or control.y > 1):
                control.y = control.y * stretch if control.y < 0 else 1 + (control.y - 1) * stretch
    base = fig.layout.font.size or FONT_SIZE
    fig.update_layout(font_size=base * factor)
    if fig.layout.title.font.size:
        fig.layout.title.font.size *= factor
    if fig.layout.legend.font.size:
        fig.layout.legend.font.size *= factor

    def axis(a) -> None:
        a.update(tickfont_size=_times(a.tickfont.size, factor, base),
                 title_font_size=_times(a.title.font.size, factor, base))

    fig.for_each_xaxis(axis)
    fig.for_each_yaxis(axis)
    for ann in fig.layout.annotations or ():
        ann.font.size = _times(ann.font.size, factor, base)
    for control in (*(fig.layout.updatemenus or ()), *(fig.layout.sliders or ())):  # animation buttons, slider
        control.font.size = _times(control.font.size, factor, base)
    for slider in fig.layout.sliders or ():
        slider.currentvalue.font.size = _times(slider.currentvalue.font.size, factor, base)
    for trace in (*fig.data, *(t for frame in fig.frames or () for t in frame.data)):  # animation frames too
        _scale_trace(trace, factor)
    return fig


_DEFAULT_MARGIN = {"t": 100, "b": 80}  # plotly's


def _plot_height(fig: go.Figure) -> float | None:
    """The plotting area's height in pixels (the figure's less its top and bottom margins), if the height is set."""
    if not fig.layout.height:
        return None
    t, b = (fig.layout.margin[side] if fig.layout.margin[side] is not None else _DEFAULT_MARGIN[side]
            for side in ("t", "b"))
    return max(1.0, fig.layout.height - t - b)


def _scale_trace(trace, factor: float) -> None:
    line = getattr(trace, "line", None)
    if line is not None and getattr(line, "width", None):
        line.width *= factor
    marker = getattr(trace, "marker", None)
    size = getattr(marker, "size", None) if marker is not None else None
    if isinstance(size, (int, float)):
        marker.size = size * factor
