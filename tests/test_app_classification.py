"""AppTest: short points2d and digits runs on the Train page show the classification views."""

from __future__ import annotations


from streamlit.testing.v1 import AppTest

from helpers import charts, no_errors as _no_errors

from leo_app.runner import RunStatus


def _charts(at: AppTest) -> list[dict]:
    """The page's plotly figures as dicts: the live curve (a component that updates in place) first, then
    the preview."""
    shown = charts(at)
    return [shown[key]["figure"] for key in ("loss_chart", "preview_chart")]


def _short_run(at: AppTest, family: str) -> None:
    at.selectbox(key="family").set_value(family).run()
    at.slider(key="ways").set_value(3)
    at.slider(key="shots").set_value(2)
    at.slider(key="meta_batch").set_value(3)
    at.number_input(key="iterations").set_value(4)
    at.run()
    at.button(key="btn_start").click().run()
    assert at.session_state["leo_runner"].join(60)
    at.run()
    _no_errors(at)
    run = at.session_state["leo_run"]
    assert run.status == RunStatus.FINISHED and run.config.family == family and run.config.ways == 3


def _trace_names(fig: dict) -> list[str]:
    return [t.get("name", "") for t in fig["data"]]


def test_points2d_run_shows_accuracy_and_decision_regions(app):
    _short_run(app, "points2d")
    assert [m.label for m in app.metric][3:] == ["accuracy θ₀", "accuracy θ₁"]
    assert all(m.value.endswith("%") for m in app.metric[3:])
    curve, preview = _charts(app)
    assert curve["layout"]["yaxis"]["title"]["text"] == "query accuracy (%)"
    assert curve["data"][1]["x"] == [1, 2, 3, 4]
    heatmaps = [t for t in preview["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 6  # θ₀ and θ₀ + k steps on three tasks
    assert any("Decision regions" in m.value for m in app.markdown)
    # The loss is one click away, and more preview steps redraw the regions.
    app.button_group(key="curve_metric").set_value("loss").run()
    _no_errors(app)
    assert "cross-entropy" in _charts(app)[0]["layout"]["yaxis"]["title"]["text"]
    app.button_group(key="preview_steps").set_value("5").run()
    _no_errors(app)
    assert _charts(app)[1]["layout"]["yaxis4"]["title"]["text"] == "θ₀ + 5 steps"  # the adapted row


def test_digits_run_shows_support_images_and_query_predictions(app):
    _short_run(app, "digits")
    curve, preview = _charts(app)
    assert curve["layout"]["yaxis"]["title"]["text"] == "query accuracy (%)"
    assert [t["type"] for t in preview["data"]].count("heatmap") == 3  # support, θ₀, adapted
    predictions = [t for t in preview["data"] if t.get("name") == "predictions"]
    assert len(predictions) == 2 and all(len(t["x"]) == 3 * 3 for t in predictions)  # N × Q
    assert "✓ correct" in _trace_names(preview) and "✗ wrong" in _trace_names(preview)
    assert any("held-out digits" in m.value for m in app.markdown)
