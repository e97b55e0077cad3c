"""Figure builders: valid plotly figures (re-validated here), thinning, smoothing."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest

from helpers import tiny_config
from figures.style import MAX_POINTS, empty_figure, smooth, thin
from figures.training import adaptation_preview_figure, loss_curve_figure
from leo_core.history import MetricHistory
from leo_core.views.preview import preview_curves, preview_tasks
from leo_app.runner import RunSnapshot
from leo_core.train import Trainer


def _validated(fig: go.Figure) -> go.Figure:
    """The builders skip plotly's validation for speed; full validation must still pass."""
    return go.Figure(fig.to_dict())


def test_smooth_matches_a_hand_computed_ema():
    assert smooth([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])
    w = 0.5
    expected_2 = (w * (1 - w) * 2.0 + (1 - w) * 4.0) / (w * (1 - w) + (1 - w))
    assert smooth([2.0, 4.0], w)[1] == pytest.approx(expected_2)
    assert smooth([1.0, float("nan"), 3.0], 0.0) == [1.0, 1.0, 3.0]
    assert math.isnan(smooth([float("inf")], 0.5)[0])
    with pytest.raises(ValueError):
        smooth([1.0], 1.0)


def test_thin_keeps_ends_and_bounds_size():
    assert thin(5, 10) == [0, 1, 2, 3, 4]
    idx = thin(10_001, 600)
    assert len(idx) <= 601 and idx[0] == 0 and idx[-1] == 10_000
    assert idx == sorted(set(idx))


def test_loss_curve_figure():
    trainer = Trainer(tiny_config(iterations=30))
    history = MetricHistory()
    history.extend(trainer)
    fig = _validated(loss_curve_figure(history.columns(), k=1))
    named = [t.name for t in fig.data if t.showlegend is not False]
    assert named == ["θ₀ alone (no adaptation)", "θ₀ after 1 step"]
    assert list(fig.data[1].x) == list(range(1, 31))
    assert fig.layout.yaxis.type == "log" and fig.layout.font.size >= 16


def test_loss_curve_thins_long_histories():
    n = 5000
    cols = {"iteration": list(range(1, n + 1)), "pre_loss": [1.0] * n, "post_loss": [0.5] * n}
    fig = loss_curve_figure(cols, k=3)
    assert all(len(t.x) <= MAX_POINTS + 1 for t in fig.data)
    assert fig.data[-1].x[-1] == n


def test_empty_states():
    fig = _validated(loss_curve_figure({"iteration": []}))
    assert not fig.data and "Start" in fig.layout.annotations[0].text
    assert _validated(empty_figure("nothing yet")).layout.annotations[0].text == "nothing yet"


@pytest.mark.parametrize("family", ["sinusoid", "linear", "sine-line", "polynomial"])
def test_adaptation_preview_figure(family):
    cfg = tiny_config(family=family, iterations=3, k=2)
    trainer = Trainer(cfg)
    list(trainer)
    snap = RunSnapshot(status="finished", config=cfg, theta0=trainer.initialization(),
                       meta_params={k: v.detach() for k, v in trainer.meta_params.items()}, model=trainer.model,
                       family=trainer.family, algorithm=trainer.algorithm)
    curves = preview_curves(snap, preview_tasks(trainer.family, cfg.shots), cfg.k)
    fig = _validated(adaptation_preview_figure(curves))
    assert len(fig.data) == 12  # 3 tasks × (true, θ₀, adapted, support)
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == ["true function", "θ₀", "θ₀ + 2 steps", "support points"]
    assert fig.layout.xaxis3.domain[1] == pytest.approx(1.0)


def test_log_ticks_are_written_in_full_and_span_the_data():
    from figures.style import log_ticks

    t = log_ticks([0.42, 3.1, None, float("nan"), 1.0])
    assert t == {"tickvals": [0.5, 1.0, 2.0], "ticktext": ["0.5", "1", "2"]}
    assert log_ticks([0.05, 40])["ticktext"] == ["0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50"]
    assert log_ticks([1.0]) == {} and log_ticks([]) == {}
    # A narrow range (a loss going from 2.9 to 1.6) gets finer ticks: at least three labels inside the data.
    narrow = log_ticks([1.6, 2.9])
    assert [t for t in narrow["tickvals"] if 1.6 <= t <= 2.9] == [1.6, 1.8, 2.0, 2.5]
    assert log_ticks([1.3, 3.4])["ticktext"] == ["1", "1.5", "2", "3", "5"]
