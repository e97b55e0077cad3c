"""AppTest: the Landscape page's meta-gradient section after loading the document-linear preset, while a
linear run trains, and for a network; the Theory page's section."""

from __future__ import annotations

import time

from helpers import charts, no_errors, tiny_config
from leo_app.presets import preset_checkpoint
from leo_core.checkpoint import load_checkpoint


SWEEP_SEEN = "_land_sweep_seen"  # pages/landscape.py: the cosine sweep has been in view in this session


def _spec(app, key: str) -> dict:
    shown = charts(app)
    assert key in shown, f"no chart {key}"
    return shown[key]["figure"]


def test_preset_path_and_arrows_on_the_landscape_page(app):
    ckpt = load_checkpoint(preset_checkpoint("document-linear"))
    app.session_state["leo_runner"].load(ckpt.config, ckpt.state, ckpt.metrics)
    app.run()
    app.session_state[SWEEP_SEEN] = True  # as after a reader scrolled to the sweep (test_the_sweep_waits_…)
    app.switch_page("pages/landscape.py").run()
    no_errors(app)
    spec = _spec(app, "meta_gradients_chart")
    names = [t.get("name", "") for t in spec["data"]]
    for key in ("leo ", "leo-fo ", "reptile ", "imaml "):
        assert any(n.startswith(key) for n in names), (key, names)
    path = next(t for t in spec["data"] if "meta-training path" in t.get("name", ""))
    assert len(path["x"]) == 400 and path["x"][-1] == ckpt.theta_path[-1][1]  # thinned, ends at θ₀
    assert len(spec["frames"]) == 30
    assert _spec(app, "meta_gradient_cosines")["data"]
    app.multiselect(key="land_mg_algos").set_value(["leo-fo"]).run()
    app.slider(key="land_mg_frames").set_value(5).run()
    no_errors(app)
    names = [t.get("name", "") for t in _spec(app, "meta_gradients_chart")["data"]]
    assert any(n.startswith("leo ") for n in names) and not any(n.startswith("reptile") for n in names)
    assert len(_spec(app, "meta_gradients_chart")["frames"]) == 5


def test_the_sweep_waits_until_a_reader_gets_to_it(app):
    """Not cached and not seen yet: a placeholder that asks for a rerun once in view (the browser tests scroll to
    it); after that (the component's callback sets the flag) the sweep is computed, then at once for new settings."""
    app.session_state["land_seed"] = 4242  # tasks no other test draws: this sweep is not in the shared cache
    app.switch_page("pages/landscape.py").run()
    no_errors(app)
    waiting = charts(app)["meta_gradient_cosines"]
    assert waiting["request"] is True and "figure" not in waiting
    assert "computed when it comes into view" in " ".join(waiting["placeholder"]["lines"])
    assert "figure" in charts(app)["meta_gradients_chart"]  # the section above it is drawn as before
    app.session_state[SWEEP_SEEN] = True
    app.run()
    no_errors(app)
    assert _spec(app, "meta_gradient_cosines")["data"]
    app.session_state["land_seed"] = 4343
    app.run()
    assert _spec(app, "meta_gradient_cosines")["data"]


def test_while_a_linear_run_trains(app):
    runner = app.session_state["leo_runner"]
    runner.start(tiny_config(family="linear", iterations=100_000, alpha=0.05))
    try:
        deadline = time.monotonic() + 60
        while runner.snapshot().theta_path is None or len(runner.snapshot().theta_path) < 20:
            assert time.monotonic() < deadline, "the run never reached 20 recorded points"
            time.sleep(0.05)
        app.switch_page("pages/landscape.py").run()
        no_errors(app)
        assert app.session_state["leo_run"].active
        assert len(_spec(app, "meta_gradients_chart")["frames"]) == 8  # LIVE_FRAMES
        assert any("while the run trains" in c.value for c in app.caption)
    finally:
        runner.stop()


def test_network_cosine_bars(app):
    runner = app.session_state["leo_runner"]
    runner.start(tiny_config(family="sinusoid", iterations=5))
    assert runner.join(60)
    app.run()
    app.switch_page("pages/landscape.py").run()
    no_errors(app)
    bars = _spec(app, "meta_gradients_chart")["data"][0]
    assert bars["type"] == "bar" and set(bars["x"]) >= {"leo-fo", "reptile", "imaml"}
    assert all(-1 <= y <= 1 for y in bars["y"])


def test_theory_explains_the_arrows(app):
    app.switch_page("pages/theory.py").run()
    no_errors(app)
    text = " ".join(m.value for m in app.markdown)
    latex = " ".join(x.value for x in app.latex)
    assert "inner product of gradients" in text and "proximal" in text and "Nichol" in text
    assert "AvgGradInner" in latex and r"\prod_{j=0}^{k-1}" in latex and r"\tfrac{1}{\lambda}" in latex


def test_the_meta_gradient_section_says_what_to_look_at():
    """One line under the arrows: that they coincide at this α and k (and what to change), or which update
    is furthest from leo's and by how many degrees."""
    from types import SimpleNamespace as D

    from leo_app.landscape_view import look_at

    same = look_at([D(key="leo", cosine=1.0), D(key="leo-fo", cosine=0.999), D(key="reptile", cosine=0.995)], 0.05, 1)
    assert "all cosines ≥ 0.99" in same and "raise k" in same
    apart = look_at([D(key="leo", cosine=1.0), D(key="leo-fo", cosine=0.9), D(key="reptile", cosine=0.5)], 0.3, 3)
    assert "reptile's update is the furthest" in apart and "60° away" in apart
