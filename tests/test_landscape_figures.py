"""Figure builders of the Adaptation and Landscape pages: traces, frames, axis titles, no NaN."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest
import torch

from helpers import tiny_config
from leo_core.views import adaptation as ad
from leo_core.views import landscape as lv
from figures.adaptation import fit_animation_figure, parameter_path_figure, step_loss_figure
from figures.landscape import (linear_landscape_figure, log10_grid, projection_check_figure,
                                        slice_contour_figure, slice_surface_figure)
from leo_core.train import Trainer


def _valid(fig: go.Figure) -> go.Figure:
    return go.Figure(fig.to_dict())  # re-validated by plotly (the builders skip validation)


def _trained(family: str) -> Trainer:
    trainer = Trainer(tiny_config(family=family, iterations=5, alpha=0.05))
    for _ in trainer:
        pass
    return trainer


def _finite(z) -> bool:
    return all(math.isfinite(v) for row in z for v in row)


@pytest.fixture(scope="module")
def linear():
    return _trained("linear")


@pytest.fixture(scope="module")
def sine():
    return _trained("sinusoid")


def _fits(tr: Trainer, steps: int):
    task, _ = ad.sample_task(tr.family, 5, 20, seed=3)
    starts = [ad.Start("meta", "meta-learned θ₀", tr.algorithm, tr.meta_params), ad.random_start(tr.model, 0)]
    out = [ad.plotted_fit(ad.fit_path(tr.model, tr.family, s, task, 0.05, steps)) for s in starts]
    t = dict(x=task.x_grid.reshape(-1).tolist(), y_true=task.y_true.reshape(-1).tolist(),
             x_support=task.x_support.reshape(-1).tolist(), y_support=task.y_support.reshape(-1).tolist(),
             x_query=task.x_query.reshape(-1).tolist(), y_query=task.y_query.reshape(-1).tolist())
    return t, out


@pytest.mark.parametrize("steps", [0, 3])
def test_fit_animation_has_one_frame_per_step(sine, steps):
    task, fits = _fits(sine, steps)
    fig = _valid(fit_animation_figure(task, fits))
    assert len(fig.frames) == steps + 1
    assert len(fig.layout.sliders[0].steps) == steps + 1
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ play", "❚❚ pause"]
    names = {t.name for t in fig.data}
    assert {"true function", "support points", "query points", "fit after the shown step"} <= names
    # Each frame updates the two panels' fit lines with that step's predictions.
    last = fig.frames[-1]
    assert len(last.data) == 2 and list(last.data[0].y) == pytest.approx(fits[0].predictions[-1])
    assert "x — from meta-learned θ₀" in fig.layout.xaxis.title.text and fig.layout.yaxis.title.text == "y"


def test_step_loss_and_path_figures(sine, linear):
    _, fits = _fits(sine, 4)
    fig = _valid(step_loss_figure(fits))
    assert fig.layout.xaxis.title.text == "inner step" and "log scale" in fig.layout.yaxis.title.text
    assert sum(1 for t in fig.data if t.x and t.x[0] is not None) == 4  # query and support per start
    path = _valid(parameter_path_figure([dict(key=f.key, label=f.label, coords=f.coords) for f in fits],
                                        axis_titles=("PC 1", "PC 2"), title="paths"))
    assert path.layout.xaxis.title.text == "PC 1" and len(path.data[0].x) == 5
    _, lin = _fits(linear, 2)
    assert all(len(c) == 2 for c in lin[0].coords)


def test_linear_landscape_figure(linear):
    batch = linear.family.sample(3, 5, 10, torch.Generator().manual_seed(1))
    data = lv.linear_landscape(linear.model, linear.family, linear.algorithm, linear.meta_params, batch,
                               alpha=0.1, k=2, resolution=9)
    fig = _valid(linear_landscape_figure(data))
    contours = [t for t in fig.data if t.type == "contour"]
    assert len(contours) == 4 and all(_finite(t.z) and len(t.z) == 9 and len(t.z[0]) == 9 for t in contours)
    assert {t.name for t in fig.data if t.showlegend is not False} >= {
        "meta-learned θ₀", "pretrained optimum", "task optima (least squares on support)", "k-step paths (α = 0.1)"}
    assert fig.layout.xaxis.title.text == "θ₀ (intercept)" and fig.layout.yaxis.title.text == "θ₁ (slope)"
    domains = [fig.layout[f"xaxis{s}"].domain for s in ("", "2", "3", "4")]  # one row, left to right, no overlap
    assert all(a[1] < b[0] for a, b in zip(domains, domains[1:])) and fig.layout.height <= 500
    assert "J after 2 steps" in " ".join(a.text for a in fig.layout.annotations)
    # Paths have k + 1 points; the grid contains θ₀ and every optimum.
    assert all(len(p) == 3 for p in data.paths)
    for a, b in [data.theta0, data.pretrained, *data.task_optima]:
        assert data.a[0] <= a <= data.a[-1] and data.b[0] <= b <= data.b[-1]


@pytest.mark.parametrize("directions", ["random", "pca"])
def test_network_slice_figures(sine, directions):
    batch = sine.family.sample(3, 5, 10, torch.Generator().manual_seed(1))
    data = lv.network_slice(sine.model, sine.family, sine.algorithm, sine.meta_params, batch, alpha=0.05, steps=3,
                            k=1, resolution=7, directions=directions, surface="meta")
    contour = _valid(slice_contour_figure(data, surface_label="J"))
    assert [t.type for t in contour.data] == ["contour", "scatter", "scatter"] and _finite(contour.data[0].z)
    assert contour.layout.xaxis.title.text.startswith("a:") and contour.layout.yaxis.title.text.startswith("b:")
    surface = _valid(slice_surface_figure(data))
    assert surface.data[0].type == "surface" and _finite(surface.data[0].z) and len(surface.data[1].x) == 4
    assert "log₁₀" in surface.layout.scene.zaxis.title.text
    check = _valid(projection_check_figure(data))
    assert len(check.data) == 4 and check.layout.xaxis.title.text == "inner step j"
    if directions == "pca":  # few points in a plane spanned by their own top-2 directions: small residual
        assert data.explained is not None and sum(data.explained) <= 1 + 1e-6


def test_log_grid_clips_non_finite_values():
    z = log10_grid([[1.0, 0.0], [float("nan"), float("inf")]])
    assert _finite(z) and z[0][0] == 0.0


def test_typed_points_errors_are_clear():
    with pytest.raises(ValueError, match="point 2"):
        ad.parse_points("1, 2\nthree, 4")
    with pytest.raises(ValueError, match="no points"):
        ad.parse_points("  \n")
    xs, ys = ad.parse_points("1, 2\n3 4; 5,6")
    assert xs == [1, 3, 5] and ys == [2, 4, 6]
