"""AppTest for the Adaptation and Landscape pages: no run, a short run (linear, sinusoid), baselines."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from leo_core.recommended import recommended_settings

from helpers import charts, join_jobs, tiny_config, no_errors as _ok
from leo_app.adaptation_view import MAX_PRETRAINED

PAGES = ["pages/adaptation.py", "pages/landscape.py"]

def _train(at: AppTest, family: str, iterations: int = 30) -> None:
    runner = at.session_state["leo_runner"]
    runner.start(tiny_config(family=family, iterations=iterations, alpha=0.05))
    assert runner.join(60)
    at.run()
    assert at.session_state["leo_run"].theta0 is not None

def _charts(at: AppTest) -> int:
    return len(charts(at))

@pytest.mark.parametrize("page", PAGES)
def test_pages_without_a_run(app, page):
    app.switch_page(page).run()
    _ok(app)
    assert any("No trained run" in i.value for i in app.info)
    assert _charts(app) >= 1

@pytest.mark.parametrize("family", ["linear", "sinusoid"])
def test_pages_after_a_short_run(app, family):
    _train(app, family)
    app.switch_page("pages/adaptation.py").run()
    _ok(app)
    assert not app.info and _charts(app) == 3
    app.slider(key="adapt_steps").set_value(3).run()
    app.radio(key="adapt_source").set_value("params").run()
    _ok(app)
    app.radio(key="adapt_source").set_value("points").run()
    _ok(app)
    assert app.slider(key="adapt_shots").disabled  # the typed points are the support set
    assert any(c.value.startswith("Task: 5 typed points · 5 support points") for c in app.caption)
    app.text_area(key="adapt_points").set_value("0, 1\nnot a point").run()
    assert not app.exception and any("point 2" in e.value for e in app.error)
    app.switch_page("pages/landscape.py").run()
    _ok(app)
    # + the meta-gradient chart and the cosine sweep; networks: contours and the projection check (the 3-D
    # surface is drawn on request: + 1)
    assert _charts(app) == (3 if family == "linear" else 4)
    if family == "linear":
        app.slider(key="land_k").set_value(5).run()
        app.slider(key="land_res_linear").set_value(11).run()
    else:
        app.slider(key="land_res_net").set_value(11).run()
        app.selectbox(key="land_dirs").set_value("pca").run()
        app.selectbox(key="land_surface").set_value("meta").run()
        assert any("away from the plane" in m.value for m in app.markdown)
        app.toggle(key="land_3d").set_value(True).run()
        assert _charts(app) == 5
    _ok(app)

def test_pretrained_baseline_button(app):
    _train(app, "linear", iterations=5)
    app.switch_page("pages/adaptation.py").run()
    app.number_input(key="pretrain_iterations").set_value(50).run()
    app.button(key="btn_pretrain").click().run()
    join_jobs(app)
    _ok(app)
    cached = app.session_state["_leo_pretrained"]
    assert len(cached) == 1 and set(next(iter(cached.values()))) == {"theta0", "theta1"}
    alpha = recommended_settings("linear", "pretrained")["alpha"]
    assert any(f"pretrained (50 it, α {alpha:g})" in json.dumps(c["figure"], ensure_ascii=False)
               for c in charts(app).values())

def test_pretrained_baselines_kept_per_session_are_bounded(app):
    _train(app, "linear", iterations=5)
    app.switch_page("pages/adaptation.py").run()
    for i in range(MAX_PRETRAINED + 2):  # the linear model trains 50·i iterations in milliseconds
        app.number_input(key="pretrain_iterations").set_value(50 * (i + 1)).run()
        app.button(key="btn_pretrain").click().run()
        join_jobs(app)
    _ok(app)
    kept = app.session_state["_leo_pretrained"]
    assert len(kept) == MAX_PRETRAINED
    assert [k.iterations for k in kept] == [50 * (i + 1) for i in range(2, MAX_PRETRAINED + 2)]  # oldest dropped

def test_classification_family_without_a_run_renders_charts(app):
    app.selectbox(key="family").set_value("points2d").run()
    for page in PAGES:
        app.switch_page(page).run()
        _ok(app)
        assert len(charts(app)) >= 1, page
