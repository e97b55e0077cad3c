"""Compare-page figures: one band and one line per run, gaps for non-finite values, valid plotly."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest

from figures.compare import PALETTE, shots_figure, steps_figure, sweep_heatmap_figure
from leo_core.evaluate import EvalResult
from figures.style import FONT_SIZE
from leo_core.sweep import SweepResult


def _result(losses, acc=None, steps=None):
    n = len(losses)
    return EvalResult(loss_by_step=list(losses), ci95_by_step=[0.1] * n,
                      accuracy_by_step=list(acc) if acc else None, accuracy_ci95_by_step=[0.02] * n if acc else None,
                      tasks=50, shots=5, steps=n - 1 if steps is None else steps)


def _valid(fig: go.Figure) -> go.Figure:
    return go.Figure(fig.to_dict())  # re-validates every property (the builders skip nothing, but check)


def test_steps_figure_has_a_line_and_band_per_run():
    fig = _valid(steps_figure(["leo", "random"], [_result([3.0, 1.0, 0.5]), _result([4.0, 3.5, 3.2])]))
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert [t.name for t in lines] == ["leo", "random"] and len(bands) == 2
    assert list(lines[0].y) == [3.0, 1.0, 0.5] and list(lines[0].x) == [0, 1, 2]
    assert lines[1].line.color == PALETTE[1]
    assert list(bands[0].y) == pytest.approx([3.1, 1.1, 0.6, 0.4, 0.9, 2.9])  # upper, then lower reversed
    assert fig.layout.yaxis.type == "log" and fig.layout.font.size == FONT_SIZE


def test_non_finite_values_are_gaps_not_points():
    fig = _valid(steps_figure(["meta-sgd"], [_result([3.0, 0.5, math.nan, math.inf])]))
    line = next(t for t in fig.data if t.mode == "lines+markers")
    band = next(t for t in fig.data if t.fill == "toself")
    assert list(line.y) == [3.0, 0.5, None, None]
    assert all(math.isfinite(v) for v in band.y) and len(band.x) == 4


def test_accuracy_mode_uses_accuracy_on_a_linear_axis():
    fig = _valid(steps_figure(["a"], [_result([1.6, 1.2], acc=[0.2, 0.6])], accuracy=True))
    line = next(t for t in fig.data if t.mode == "lines+markers")
    assert list(line.y) == [0.2, 0.6] and fig.layout.yaxis.type == "linear"
    assert "accuracy" in fig.layout.yaxis.title.text


def test_shots_figure_uses_the_last_step_of_each_shot():
    per_run = [[_result([3.0, 1.0]), _result([2.0, 0.4])], [_result([4.0, 3.0]), _result([4.0, 2.5])]]
    fig = _valid(shots_figure(["leo", "pretrained"], [1, 5], per_run))
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert list(lines[0].x) == [1, 5] and list(lines[0].y) == [1.0, 0.4] and list(lines[1].y) == [3.0, 2.5]
    assert "1 step" in fig.layout.title.text


def test_empty_inputs_give_a_message_not_an_empty_axis():
    for fig in (steps_figure([], []), shots_figure([], [], [])):
        assert fig.layout.annotations and "Add two or more runs" in fig.layout.annotations[0].text


def test_sweep_heatmap_labels_cells_and_blanks_diverged():
    res = SweepResult(alphas=(0.01, 0.1), ks=(1, 5), loss=[[2.0, 0.5], [0.3, math.nan]],
                      ci95=[[0.1] * 2] * 2, accuracy=None, seconds=[[1.0] * 2] * 2,
                      diverged=[[False, False], [False, True]])
    fig = _valid(sweep_heatmap_figure(res))
    hm = fig.data[0]
    assert list(hm.x) == ["0.01", "0.1"] and list(hm.y) == ["1", "5"]
    assert hm.z[1][1] is None and hm.text[1][1] == "diverged" and hm.text[0][1] == "0.5"
    assert hm.colorbar.title.text == "MSE"  # range 0.3..2: linear colours
    wide = SweepResult((0.01,), (1, 2), [[100.0], [0.5]], [[0.1], [0.1]], None, [[1.0], [1.0]], [[False], [False]])
    assert sweep_heatmap_figure(wide).data[0].colorbar.title.text.startswith("log")
