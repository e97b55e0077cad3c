"""Presentation-mode figure scaling: fonts, lines and markers grow by one factor; the data stays."""

from __future__ import annotations

import pytest

from figures.scale import scale_figure
from figures.style import FONT_SIZE, LINE_WIDTH
from figures.training import loss_curve_figure


def _figure():
    cols = {"iteration": [1, 2, 3], "pre_loss": [3.0, 2.0, 1.5], "post_loss": [2.0, 1.0, 0.5]}
    return loss_curve_figure(cols, k=1)


def test_scaling_grows_fonts_and_lines_and_keeps_the_data():
    fig = _figure()
    big = scale_figure(fig, 1.5)
    assert big is not fig
    assert big.layout.font.size == pytest.approx(1.5 * (fig.layout.font.size or FONT_SIZE))
    assert big.layout.xaxis.tickfont.size > (fig.layout.xaxis.tickfont.size or FONT_SIZE)
    widths = [(a.line.width, b.line.width) for a, b in zip(fig.data, big.data) if a.line.width]
    assert widths and all(b == pytest.approx(1.5 * a) for a, b in widths)
    assert [list(t.y) for t in big.data] == [list(t.y) for t in fig.data]
    assert big.layout.height == round(1.5 * fig.layout.height)  # room for the larger text, as with a zoom
    assert big.layout.margin.b == round(1.5 * fig.layout.margin.b)
    assert LINE_WIDTH > 0


def test_factor_one_is_the_same_figure_and_a_bad_factor_is_refused():
    fig = _figure()
    assert scale_figure(fig, 1) is fig
    with pytest.raises(ValueError):
        scale_figure(fig, 0)


def test_animation_frames_are_scaled_too():
    """An animation's frames replace the traces when it plays; unscaled frames would shrink the lines back."""
    import plotly.graph_objects as go

    fig = go.Figure(data=[go.Scatter(y=[1, 2], line_width=2, marker_size=6)],
                    frames=[go.Frame(data=[go.Scatter(y=[2, 3], line_width=2, marker_size=6)], name="1")],
                    layout=dict(updatemenus=[dict(type="buttons", font_size=10)], sliders=[dict(font_size=10)]))
    big = scale_figure(fig, 2)
    assert big.layout.updatemenus[0].font.size == 20 and big.layout.sliders[0].font.size == 20
    assert big.data[0].line.width == 4 and big.frames[0].data[0].line.width == 4
    assert big.frames[0].data[0].marker.size == 12
    assert fig.frames[0].data[0].line.width == 2  # the original is untouched


def test_controls_and_legends_outside_the_plot_keep_their_distance_in_text_sizes():
    """Animation buttons below a plot and a legend above it sit in paper coordinates: when the text grows by 1.35
    but the height only by 1.1, their distance from the plot in pixels must grow with the text (the play button
    sat on the x-axis title of the Adaptation page presenting at 1920×1080)."""
    from figures.style import base_layout, figure, step_animation_controls

    layout = base_layout(height=520, margin=dict(l=70, r=20, t=110, b=150))
    layout.update(step_animation_controls(3, frame_ms=100, redraw=False, y=-0.3))
    layout["legend"] = dict(orientation="h", y=1.2, yanchor="bottom")
    fig = figure([dict(type="scatter", x=[0, 1], y=[0, 1])], layout)

    def below(f) -> float:  # pixels between the plot's bottom and the buttons
        plot = f.layout.height - f.layout.margin.t - f.layout.margin.b
        return -f.layout.updatemenus[0].y * plot

    def above(f) -> float:
        plot = f.layout.height - f.layout.margin.t - f.layout.margin.b
        return (f.layout.legend.y - 1) * plot

    big = scale_figure(fig, 1.35, 1.1)
    assert below(big) == pytest.approx(1.35 * below(fig), rel=0.02)
    assert above(big) == pytest.approx(1.35 * above(fig), rel=0.02)
    assert -big.layout.updatemenus[0].y * (big.layout.height - big.layout.margin.t - big.layout.margin.b) < \
        big.layout.margin.b, "still within the bottom margin"
