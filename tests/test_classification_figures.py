"""Classification pictures: batched decision regions against a per-stage loop, figure shapes,
one colour per class everywhere, and one judged query image per query example."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
import torch

from helpers import tiny_config
from figures.classification import (
    class_probabilities_figure,
    CLASS_COLORS, OUTCOME_COLORS, accuracy_curve_figure, class_color, class_colorscale,
    classification_preview_figure, decision_regions_figure, digit_predictions_figure,
)
from leo_core.views.classification_preview import (
    classification_preview, fixed_tasks, grid_points, preview_kind, region_labels, regions_preview,
)
from leo_core.history import MetricHistory
from leo_core.tasks import get_family
from leo_core.train import Trainer

RES = 12  # grid cells per side: tiny, but enough to check shapes


def _validated(fig: go.Figure) -> go.Figure:
    """The builders skip plotly's validation for speed; full validation must still pass."""
    return go.Figure(fig.to_dict())


@pytest.fixture(scope="module")
def trained():
    """A few iterations on each family (3-way, so colours and counts are not the defaults)."""
    out = {}
    for family in ("points2d", "digits"):
        cfg = tiny_config(family=family, ways=3, shots=2, iterations=3, k=1, alpha=0.3)
        trainer = Trainer(cfg)
        history = MetricHistory()
        history.extend(trainer)
        out[family] = (cfg, trainer, history)
    return out


def _meta(trainer: Trainer):
    return {k: v.detach() for k, v in trainer.meta_params.items()}


def _colorscale_color(scale, label: int, ways: int) -> str:
    """The colour a stepped scale gives label ``label`` (zmin −0.5, zmax ways − 0.5)."""
    pos = (label + 0.5) / ways
    return next(c for (a, c), (b, _) in zip(scale, scale[1:]) if a <= pos <= b)


def test_region_labels_match_a_per_stage_per_task_loop(trained):
    cfg, trainer, _ = trained["points2d"]
    batch = fixed_tasks(trainer.family, cfg.shots, 2, 4)
    path = list(trainer.algorithm.adapt_path(trainer.model, trainer.family, _meta(trainer), batch.x_support,
                                             batch.y_support, cfg.alpha, 2))
    points = grid_points(trainer.family.extent, RES)
    labels = region_labels(trainer.model, path, points)
    assert labels.shape == (3, 2, RES * RES)
    for s, params in enumerate(path):
        for t in range(2):
            one = {k: v[t] for k, v in params.items()}
            with torch.no_grad():
                expected = trainer.model.forward(one, points).argmax(-1)
            assert torch.equal(labels[s, t], expected)
    # Row i of the reshaped grid is y = axis[i], x runs along the row.
    assert points[RES, 1] > points[0, 1] and points[1, 0] > points[0, 0]


def test_decision_regions_heatmaps_have_the_grid_shape_and_class_colours(trained):
    cfg, trainer, _ = trained["points2d"]
    batch = fixed_tasks(trainer.family, cfg.shots, 3, 4)
    data = regions_preview(trainer.model, trainer.family, trainer.algorithm, _meta(trainer), batch, cfg.alpha, 2,
                           resolution=RES)
    assert data["stage_names"] == ["θ₀", "θ₀ + 2 steps"] and len(data["accuracy"]) == 2
    fig = _validated(decision_regions_figure(data))
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    points = [t for t in fig.data if t.type == "scatter"]
    assert len(heatmaps) == len(points) == 2 * 3  # stages × tasks
    for h in heatmaps:
        assert len(h.z) == RES and all(len(row) == RES for row in h.z)
        assert len(h.x) == len(h.y) == RES
        assert {v for row in h.z for v in row} <= {0, 1, 2}
    scale = [list(step) for step in heatmaps[0].colorscale]
    for scatter, task_labels in zip(points, data["y_support"] * 2):
        assert len(scatter.x) == cfg.shots * 3
        for color, label in zip(scatter.marker.color, task_labels):
            assert color == class_color(label) == _colorscale_color(scale, label, 3)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("task 1 · ") and titles[0].endswith("%")
    assert fig.layout.yaxis4.title.text == "θ₀ + 2 steps"  # stacked stages name their row


def test_one_task_lays_stages_side_by_side(trained):
    cfg, trainer, _ = trained["points2d"]
    batch = fixed_tasks(trainer.family, cfg.shots, 1, 4)
    data = regions_preview(trainer.model, trainer.family, trainer.algorithm, _meta(trainer), batch, cfg.alpha, 3,
                           stages=[0, 1, 2, 3], resolution=RES)
    fig = _validated(decision_regions_figure(data))
    assert [a.text.split(" · ")[0] for a in fig.layout.annotations] == [
        "θ₀", "θ₀ + 1 step", "θ₀ + 2 steps", "θ₀ + 3 steps"]
    assert fig.layout.xaxis4.domain[1] == pytest.approx(1.0) and fig.layout.yaxis4.domain[0] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="stages"):
        regions_preview(trainer.model, trainer.family, trainer.algorithm, _meta(trainer), batch, cfg.alpha, 1,
                        stages=[2])


def test_digit_predictions_count_and_colours(trained):
    cfg, trainer, _ = trained["digits"]
    data = classification_preview(trainer.model, trainer.family, trainer.algorithm, _meta(trainer), cfg.shots,
                                  cfg.alpha, 2)
    n, q = 3, len(data["y_query"]) // 3
    assert data["kind"] == "images" and len(data["query"]) == n * q and len(data["support"]) == n * cfg.shots
    assert all(len(img) == 64 for img in data["support"] + data["query"])
    fig = _validated(digit_predictions_figure(data))
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 3  # support, θ₀, θ₀ + 2 steps
    predictions = [t for t in fig.data if t.name == "predictions"]
    assert len(predictions) == 2 and all(len(t.x) == n * q for t in predictions)
    for stage, trace in enumerate(predictions):
        right = sum(a == b for a, b in zip(data["predictions"][stage], data["y_query"]))
        assert sum(t.startswith(f"label {b} (p = ") and f"predicted {b} (p = " in t
                   for t, b in zip(trace.text, data["y_query"])) == right
    frames = [t for t in fig.data if t.type == "scatter" and t.mode == "lines"]
    support_frames = [t.line.color for t in frames[:n]]
    assert support_frames == [class_color(c) for c in range(n)]  # row c framed in label c's colour
    outcome = {t.line.color for t in frames[n:]}
    assert outcome == set(OUTCOME_COLORS.values())
    labels = [a for a in fig.layout.annotations if a.text.startswith("<b>")]
    assert [a.font.color for a in labels] == [class_color(c) for c in range(n)]
    # ink dark on white, after the round trip through go.Figure that presentation mode makes (plotly.py's named
    # "Greys" runs the other way from plotly.js's)
    scale = go.Figure(fig).data[0].colorscale
    assert scale[0][1] in ("white", "#ffffff", "rgb(255,255,255)") and scale[-1][1] in ("black", "#000000", "rgb(0,0,0)")


def test_class_probabilities_figure(trained):
    cfg, trainer, _ = trained["digits"]
    data = classification_preview(trainer.model, trainer.family, trainer.algorithm, _meta(trainer), cfg.shots,
                                  cfg.alpha, 2)
    for stage in data["probabilities"]:
        for row in stage:
            assert len(row) == 3 and abs(sum(row) - 1) < 0.01
    fig = _validated(class_probabilities_figure(data, 2))
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in bars] == data["stage_names"]
    assert [list(t.y) for t in bars] == [data["probabilities"][s][2] for s in range(len(bars))]
    assert str(data["y_query"][2]) in fig.layout.title.text


def test_accuracy_curve_figure(trained):
    cfg, _, history = trained["points2d"]
    fig = _validated(accuracy_curve_figure(history.columns(), k=cfg.k, ways=3))
    named = [t.name for t in fig.data if t.showlegend is not False]
    assert named == ["θ₀ alone (no adaptation)", "θ₀ after 1 step"]
    assert list(fig.data[1].x) == [1, 2, 3] and all(0 <= y <= 100 for y in fig.data[3].y)
    assert fig.layout.shapes[0].y0 == pytest.approx(100 / 3) and "1/3" in fig.layout.annotations[0].text
    assert fig.layout.yaxis.title.text == "query accuracy (%)" and fig.layout.font.size >= 16
    empty = _validated(accuracy_curve_figure({"iteration": [1], "post_accuracy": [None]}))
    assert not empty.data and "Start" in empty.layout.annotations[0].text


def test_registry_and_colours():
    assert preview_kind(get_family("points2d")) == "regions" and preview_kind(get_family("digits")) == "images"
    with pytest.raises(ValueError, match="sinusoid"):
        preview_kind(get_family("sinusoid"))
    assert len(set(CLASS_COLORS)) == 10 and class_color(12) == class_color(2)
    scale = class_colorscale(4)
    assert [_colorscale_color(scale, c, 4) for c in range(4)] == list(CLASS_COLORS[:4])
    with pytest.raises(KeyError):
        classification_preview_figure({"kind": "nope"})
