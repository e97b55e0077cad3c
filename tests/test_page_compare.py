"""AppTest for the Compare page: collect runs, a baseline, the comparison charts and table, a sweep."""

from __future__ import annotations

from leo_core.recommended import recommended_settings

from streamlit.testing.v1 import AppTest

from helpers import charts, join_jobs, tiny_config, no_errors as _no_errors

PAGE = "pages/compare.py"


def _charts(at: AppTest) -> list:
    return list(charts(at).values())


def test_empty_page_explains_what_to_do(app):
    app.switch_page(PAGE).run()
    _no_errors(app)
    assert app.title[0].value == "Compare"
    assert app.button(key="btn_add_run").disabled and app.button(key="btn_baseline").disabled
    assert any("Add at least two runs" in i.value for i in app.info)


def test_current_run_against_a_baseline_and_a_sweep(app):
    runner = app.session_state["leo_runner"]
    runner.start(tiny_config(iterations=5, k=2, alpha=0.02, first_order=True))
    assert runner.join(60)
    app.run()
    app.switch_page(PAGE).run()
    app.button(key="btn_add_run").click().run()
    _no_errors(app)
    app.select_slider(key="eval_tasks").set_value(50)
    app.slider(key="eval_steps").set_value(3)
    app.multiselect(key="eval_shots").set_value([1, 5])
    app.radio(key="baseline_kind").set_value("random").run()
    app.button(key="btn_baseline").click().run()
    join_jobs(app)  # the baseline trains in a background job of the session
    _no_errors(app)
    runs = app.session_state["leo_compare_runs"]
    assert [r.config.algorithm for r in runs] == ["leo", "random"]
    # The current run's problem (model, data sizes), the baseline's own recommended step
    rec = recommended_settings("sinusoid", "random")
    assert runs[1].config.hidden == (8, 8) and runs[1].config.shots == runs[0].config.shots
    assert runs[1].config.alpha == rec["alpha"]
    charts = _charts(app)
    assert len(charts) == 2  # loss vs steps, loss vs shots
    table = app.dataframe[0].value
    assert list(table["algorithm"]) == ["leo", "random"] and "training time (s)" in table.columns
    # The sweep: a 1 × 2 grid of tiny trainings with a cost estimate shown before it starts.
    app.text_input(key="sweep_alphas").set_value("0.01, 0.02")
    app.text_input(key="sweep_ks").set_value("1")
    app.number_input(key="sweep_iterations").set_value(10).run()
    assert any("cells" in c.value and "it/s" in c.value for c in app.caption)
    app.button(key="btn_sweep").click().run()
    join_jobs(app)
    _no_errors(app)
    result = app.session_state["leo_compare_sweep"]
    assert result.ks == (1,) and result.alphas == (0.01, 0.02)
    assert len(_charts(app)) == 3


def test_bad_sweep_grid_is_an_error_not_a_traceback(app):
    runner = app.session_state["leo_runner"]
    runner.start(tiny_config(iterations=2))
    assert runner.join(60)
    app.run()
    app.switch_page(PAGE).run()
    app.text_input(key="sweep_alphas").set_value("0.01, x").run()
    assert not app.exception
    assert any("comma-separated" in e.value for e in app.error)
