"""AppTest smoke tests for every page, and a short training run driven through the Train page."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from helpers import tiny_config, no_errors as _no_errors
from leo_core.checkpoint import checkpoint_bytes, load_checkpoint
from leo_core.history import MetricHistory
from leo_core.recommended import recommended_settings
from leo_app.runner import RunStatus
from leo_core.train import Trainer


def _set_small_run(at: AppTest, iterations: int = 30) -> None:
    at.number_input(key="iterations").set_value(iterations)
    at.slider(key="meta_batch").set_value(5)
    at.select_slider(key="alpha").set_value(0.02)
    at.slider(key="k").set_value(2)
    at.toggle(key="first_order").set_value(True)
    at.radio(key="outer_optimizer").set_value("sgd")
    at.select_slider(key="beta").set_value(0.01)
    at.run()


def test_train_page_renders_with_all_settings(app):
    _no_errors(app)
    assert app.title[0].value == "Train"
    for key in ("family", "algorithm", "device"):
        assert app.selectbox(key=key).help
    for key in ("alpha", "beta"):
        assert app.select_slider(key=key).help
    for key in ("k", "shots", "query", "meta_batch"):
        assert app.slider(key=key).help
    for key in ("iterations", "seed"):
        assert app.number_input(key=key).help
    assert app.radio(key="outer_loss").options == ["query set", "support set"]
    assert app.toggle(key="first_order").help
    assert [b.label for b in app.button][:6] == ["Start", "Pause", "Resume", "Stop", "Reset", "Continue"]
    assert app.session_state["leo_run"].status == RunStatus.IDLE


def test_short_training_run_end_to_end(app):
    _set_small_run(app)
    app.button(key="btn_start").click().run()
    _no_errors(app)
    runner = app.session_state["leo_runner"]
    assert runner.join(60)
    app.run()
    _no_errors(app)
    run = app.session_state["leo_run"]
    assert run.status == RunStatus.FINISHED and run.iteration == 30
    cfg = run.config
    assert (cfg.alpha, cfg.beta, cfg.k, cfg.meta_batch, cfg.first_order, cfg.outer_optimizer) == (
        0.02, 0.01, 2, 5, True, "sgd")
    assert set(run.theta0) == {"w0", "b0", "w1", "b1", "w2", "b2"}
    assert all(torch.isfinite(v).all() for v in run.theta0.values())
    assert any("Finished" in m.value for m in app.markdown)
    # The result stays in session state for the other pages.
    app.switch_page("pages/theory.py").run()
    _no_errors(app)
    assert app.session_state["leo_run"].theta0 is not None
    assert any("30 meta-iterations" in c.value for c in app.caption)


def test_widgets_during_a_run_do_not_touch_it(app):
    app.number_input(key="iterations").set_value(100_000).run()
    app.button(key="btn_start").click().run()
    runner = app.session_state["leo_runner"]
    try:
        app.select_slider(key="alpha").set_value(0.5).run()
        app.slider(key="k").set_value(4).run()
        _no_errors(app)
        assert runner.is_alive and runner.status == RunStatus.RUNNING
        rec = recommended_settings("sinusoid", "leo")  # the run started from the recommended settings
        assert runner.snapshot().config.alpha == rec["alpha"] and runner.snapshot().config.k == rec["k"]
        app.button(key="btn_pause").click().run()
        assert runner.status == RunStatus.PAUSED
        app.button(key="btn_resume").click().run()
        assert runner.status == RunStatus.RUNNING
        app.button(key="btn_stop").click().run()
        _no_errors(app)
        assert not runner.is_alive and app.session_state["leo_run"].status == RunStatus.STOPPED
        app.button(key="btn_reset").click().run()
        assert app.session_state["leo_run"].status == RunStatus.IDLE
    finally:
        runner.close()


def test_divergence_shows_a_clear_error(app):
    app.select_slider(key="alpha").set_value(1.0)
    app.slider(key="k").set_value(10)
    app.number_input(key="iterations").set_value(2000)
    app.run()
    app.button(key="btn_start").click().run()
    assert app.session_state["leo_runner"].join(60)
    app.run()
    assert not app.exception
    run = app.session_state["leo_run"]
    assert run.status == RunStatus.DIVERGED
    assert any("diverged" in e.value for e in app.error)
    assert all(torch.isfinite(v).all() for v in run.theta0.values())


def test_bad_start_is_an_error_not_a_traceback(app):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    app.selectbox(key="device").set_value("cuda").run()
    app.button(key="btn_start").click().run()
    assert not app.exception
    assert any("Cannot start" in e.value and "cuda" in e.value for e in app.error)


def test_theory_page(app):
    app.switch_page("pages/theory.py").run()
    _no_errors(app)
    assert app.title[0].value == "Theory"
    latex = " ".join(x.value for x in app.latex)
    assert r"\alpha\,\nabla_\theta" in latex and r"\beta\,\nabla_{\theta_0}" in latex
    text = " ".join(m.value for m in app.markdown) + " ".join(i.value for i in app.info)
    for needle in ("MAML", "Finn", "Latent Embedding Optimization", "Rusu", "iMAML", "Rajeswaran", "query",
                   "First-order"):
        assert needle in text, needle


def test_loaded_checkpoint_continues(app):
    cfg = tiny_config(iterations=7)
    trainer = Trainer(cfg)
    history = MetricHistory()
    history.extend(trainer)
    data = checkpoint_bytes(trainer.state_dict(), history)
    runner = app.session_state["leo_runner"]
    # The uploader's path (the browser test drives the real widget): safe load, then runner.load.
    ckpt = load_checkpoint(data)
    runner.load(ckpt.config, ckpt.state, ckpt.metrics)
    app.run()
    _no_errors(app)
    assert app.session_state["leo_run"].status == RunStatus.LOADED
    app.number_input(key="iterations").set_value(5).run()
    app.button(key="btn_continue").click().run()
    assert runner.join(30)
    app.run()
    run = app.session_state["leo_run"]
    assert run.status == RunStatus.FINISHED and run.iteration == 12 and run.config.hidden == (8, 8)


@pytest.mark.parametrize("algorithm", ["meta-sgd", "reptile", "leo-latent"])
def test_other_algorithms_train_and_preview(app, algorithm):
    app.selectbox(key="algorithm").set_value(algorithm).run()  # a new algorithm starts from its recommended settings
    app.number_input(key="iterations").set_value(5)
    app.slider(key="meta_batch").set_value(5)
    app.run()
    app.button(key="btn_start").click().run()
    assert app.session_state["leo_runner"].join(60)
    app.run()
    _no_errors(app)
    run = app.session_state["leo_run"]
    assert run.status == RunStatus.FINISHED and run.config.algorithm == algorithm


def test_classification_family(app):
    app.selectbox(key="family").set_value("points2d").run()
    assert app.slider(key="ways").value == 5
    app.slider(key="ways").set_value(3)
    _set_small_run(app, iterations=5)
    app.button(key="btn_start").click().run()
    assert app.session_state["leo_runner"].join(60)
    app.run()
    _no_errors(app)
    run = app.session_state["leo_run"]
    assert run.status == RunStatus.FINISHED and run.config.ways == 3
    assert run.latest.post_accuracy is not None
    # Latent-embedding LEO trains a classification family too (one latent code per class).
    app.selectbox(key="algorithm").set_value("leo-latent").run()  # starts from its recommended settings
    app.slider(key="ways").set_value(3)
    _set_small_run(app, iterations=5)
    app.button(key="btn_start").click().run()
    assert app.session_state["leo_runner"].join(60)
    app.run()
    _no_errors(app)
    run = app.session_state["leo_run"]
    assert run.status == RunStatus.FINISHED and run.config.algorithm == "leo-latent"
    assert run.latest.post_accuracy is not None


def test_a_new_algorithm_starts_from_its_recommended_settings_and_a_change_can_be_reset(app):
    app.selectbox(key="algorithm").set_value("reptile").run()
    rec = recommended_settings("sinusoid", "reptile")
    assert app.session_state["alpha"] == rec["alpha"] and app.session_state["k"] == rec["k"]
    assert any("Recommended settings for sinusoid × reptile" in c.value for c in app.sidebar.caption)
    app.slider(key="k").set_value(rec["k"] + 1).run()  # the user's change stays…
    assert app.session_state["k"] == rec["k"] + 1
    assert any("Changed from the recommended" in c.value for c in app.sidebar.caption)
    app.button(key="btn_reset_recommended").click().run()  # …until reset
    assert app.session_state["k"] == rec["k"]
    _no_errors(app)
