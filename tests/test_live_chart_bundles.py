"""The two plotly.js bundles: the vendored 2d one matches the plotly package's version and draws the trace types
``plotly_js.TRACES`` says (read in Chromium), each figure is sent with the smallest bundle its traces need, and
both are served compressed at versioned addresses."""

from __future__ import annotations

import gzip
from pathlib import Path

import plotly.graph_objects as go
import pytest

from browser_helpers import CHROMIUM
from helpers import charts
from leo_app import plotly_js


def test_vendored_2d_bundle_is_the_plotly_packages_version():
    assert plotly_js.bundle_version(plotly_js.BUNDLES["2d"]) == plotly_js.VERSION, (
        "leo_app/vendor/plotly-2d.min.js must be the same plotly.js version as the plotly package's bundle: "
        "rebuild it with leo_app/vendor/build_plotly_2d.sh VERSION (see leo_app/vendor/README.md)")


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian Chromium not found at {CHROMIUM}")
def test_each_bundle_draws_the_trace_types_it_is_chosen_for(browser):
    registered = {}
    for bundle, path in plotly_js.BUNDLES.items():
        page = browser.new_page()
        try:
            page.set_content("<html><body></body></html>")
            page.add_script_tag(path=str(path))
            registered[bundle] = set(page.evaluate("() => Object.keys(Plotly.PlotSchema.get().traces)"))
        finally:
            page.close()
    assert registered["2d"] == plotly_js.TRACES["2d"]
    assert registered["2d"] < registered["full"] and {"surface", "scatter3d"} <= registered["full"]


def test_a_bundle_is_covered_by_itself_and_the_larger_ones():
    assert plotly_js.covering("2d") == ["2d", "full"]
    assert plotly_js.covering("full") == ["full"]
    with pytest.raises(ValueError, match="bundle must be one of"):
        plotly_js.covering("gl3d")


def test_each_bundle_has_a_versioned_address_and_one_route():
    assert plotly_js.url("2d") == f"leo/plotly-2d-{plotly_js.VERSION}.min.js"
    with pytest.raises(ValueError, match="bundle must be one of"):
        plotly_js.url("gl3d")
    assert [r.path for r in plotly_js.routes()] == ["/" + plotly_js.url(b) for b in plotly_js.BUNDLES]
    assert [r.path for r in plotly_js.routes("/lecture/")] == ["/lecture/" + plotly_js.url(b) for b in plotly_js.BUNDLES]


@pytest.mark.parametrize("traces, frames, expected", [
    ([go.Scatter(y=[1, 2]), go.Bar(y=[1])], [], "2d"),
    ([go.Heatmap(z=[[1]]), go.Contour(z=[[1, 2], [3, 4]]), go.Scatter(y=[1])], [], "2d"),
    ([go.Histogram(x=[1, 2])], [], "full"),  # a trace type the 2d bundle does not register
    ([go.Contour(z=[[1, 2], [3, 4]]), go.Surface(z=[[1, 2], [3, 4]])], [], "full"),
    ([go.Scatter(y=[1])], [go.Frame(data=[go.Scatter3d(x=[1], y=[1], z=[1])])], "full"),
])
def test_each_figure_names_the_smallest_bundle_its_traces_need(traces, frames, expected):
    assert plotly_js.bundle_for(go.Figure(data=traces, frames=frames)) == expected


def test_a_bundle_is_compressed_once_and_unchanged_by_it():
    plotly_js.prepare()
    for bundle, path in plotly_js.BUNDLES.items():
        assert gzip.decompress(plotly_js._body(bundle, True)) == path.read_bytes() == plotly_js._body(bundle, False)


def test_a_chart_with_no_data_yet_is_sent_as_its_message(app):
    """Train before its first run: both panels are placeholders, drawn as text without plotly.js."""
    shown = charts(app)
    for key, text in (("loss_chart", "Press Start to meta-train; the loss curves appear here."),
                      ("preview_chart", "The learned initialization θ₀ and its fit after k steps appear here.")):
        assert "figure" not in shown[key], key
        assert " ".join(shown[key]["placeholder"]["lines"]) == text
        assert shown[key]["placeholder"]["size"] > 10 and shown[key]["height"] == 420
