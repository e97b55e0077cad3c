"""AppTest for the Adaptation and Landscape pages with a short points2d and a short digits run."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from helpers import charts, join_jobs, tiny_config, no_errors as _ok


def _train(at: AppTest, family: str) -> None:
    runner = at.session_state["leo_runner"]
    runner.start(tiny_config(family=family, iterations=10, alpha=0.4, shots=1, ways=3))
    assert runner.join(60)
    at.run()
    assert at.session_state["leo_run"].theta0 is not None


def _chart(at: AppTest, key: str) -> dict:
    """The figure of the plotly chart whose widget key is ``key``."""
    shown = charts(at)
    assert key in shown, f"no chart {key!r}"
    return shown[key]["figure"]


def test_points2d_adaptation_and_landscape(app):
    _train(app, "points2d")
    app.switch_page("pages/adaptation.py").run()
    app.slider(key="adapt_steps").set_value(4).run()
    _ok(app)
    assert any("permuted per task" in i.value for i in app.info)
    anim = _chart(app, "regions_anim")
    assert len(anim["frames"]) == 4 + 1  # steps 0 … 4
    assert sum(t["type"] == "heatmap" for t in anim["data"]) == 2  # meta-learned θ₀ and random init
    assert "accuracy" in json.dumps(_chart(app, "step_accuracy")["layout"]["yaxis"])
    assert "cross-entropy" in json.dumps(_chart(app, "step_loss")["layout"]["yaxis"])

    app.number_input(key="pretrain_iterations").set_value(50).run()
    app.button(key="btn_pretrain").click().run()
    join_jobs(app)
    _ok(app)
    assert sum(t["type"] == "heatmap" for t in _chart(app, "regions_anim")["data"]) == 3

    app.switch_page("pages/landscape.py").run()
    app.slider(key="land_res_net").set_value(11).run()
    _ok(app)
    assert not any("later change" in i.value for i in app.info)
    colorbar = _chart(app, "slice_contour")["data"][0]["colorbar"]
    assert "cross-entropy" in colorbar["title"]["text"] and len(colorbar["tickvals"]) >= 3  # a narrow range too
    assert "slice_surface" not in charts(app)  # the 3-D surface only on request
    _chart(app, "projection_check")
    app.toggle(key="land_3d").set_value(True).run()
    _chart(app, "slice_surface")
    app.selectbox(key="land_dirs").set_value("pca").run()
    app.selectbox(key="land_surface").set_value("meta").run()
    _ok(app)
    assert any("away from the plane" in m.value for m in app.markdown)


def test_digits_adaptation_and_landscape(app):
    _train(app, "digits")
    app.switch_page("pages/adaptation.py").run()
    app.slider(key="adapt_steps").set_value(3).run()
    _ok(app)
    preds = _chart(app, "digit_preds")
    titles = [a["text"] for a in preds["layout"]["annotations"] if "right" in a["text"]]
    assert len(titles) == 3  # steps 0, 1 (= k) and 3
    app.radio(key="adapt_cls_start").set_value("random").run()
    _ok(app)
    _chart(app, "step_accuracy")
    _chart(app, "step_loss")

    app.switch_page("pages/landscape.py").run()
    app.slider(key="land_res_net").set_value(11).run()
    _ok(app)
    _chart(app, "slice_contour")
    _chart(app, "projection_check")
