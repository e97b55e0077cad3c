"""Presentation-mode figure scaling: fonts, lines and markers grow by one factor; the data stays."""

from __future__ import annotations

import pytest

from leo_core.figure_scale import scale_figure
from leo_core.figures import FONT_SIZE, LINE_WIDTH, loss_curve_figure


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
    assert LINE_WIDTH > 0


def test_factor_one_is_the_same_figure_and_a_bad_factor_is_refused():
    fig = _figure()
    assert scale_figure(fig, 1) is fig
    with pytest.raises(ValueError):
        scale_figure(fig, 0)
