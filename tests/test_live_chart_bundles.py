"""The two plotly.js bundles: the vendored cartesian one matches the plotly package's version, each figure
is sent with the bundle its traces need, and both are copied where Streamlit serves them."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest

from leo_app import live_chart
from leo_app.live_chart import bundle_for


def _version(path) -> str:
    head = path.read_text(encoding="utf-8", errors="replace")[:300]
    found = re.search(r"plotly\.js (?:\(cartesian - minified\) )?v(\d+\.\d+\.\d+)", head)
    assert found, f"no plotly.js version in the header of {path}"
    return found.group(1)


def test_vendored_cartesian_bundle_is_the_plotly_packages_version():
    full, cartesian = live_chart._SOURCES.values()
    assert _version(cartesian) == _version(full), (
        "leo_app/vendor/plotly-cartesian.min.js must be the same plotly.js version as the plotly package's "
        "bundle: replace it from npm's plotly.js-cartesian-dist-min (see leo_app/vendor/README.md)")


@pytest.mark.parametrize("traces, frames, expected", [
    ([go.Scatter(y=[1, 2])], [], "cartesian"),
    ([go.Heatmap(z=[[1]]), go.Contour(z=[[1, 2], [3, 4]]), go.Bar(y=[1])], [], "cartesian"),
    ([go.Contour(z=[[1, 2], [3, 4]]), go.Surface(z=[[1, 2], [3, 4]])], [], "full"),
    ([go.Scatter(y=[1])], [go.Frame(data=[go.Scatter3d(x=[1], y=[1], z=[1])])], "full"),
])
def test_each_figure_names_the_bundle_its_traces_need(traces, frames, expected):
    assert bundle_for(go.Figure(data=traces, frames=frames)) == expected


def test_both_bundles_are_copied_for_static_serving(tmp_path, monkeypatch):
    targets = {tmp_path / "plotly.min.js": live_chart._SOURCES[live_chart.PLOTLY_JS],
               tmp_path / "plotly-cartesian.min.js": live_chart._SOURCES[live_chart.PLOTLY_CARTESIAN_JS]}
    monkeypatch.setattr(live_chart, "_SOURCES", targets)
    live_chart.ensure_plotly_js()
    for target, source in targets.items():
        assert target.read_bytes() == source.read_bytes()
