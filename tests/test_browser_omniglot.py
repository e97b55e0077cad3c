"""Omniglot in the real app (Debian Chromium through Playwright): the preset's characters on Train, one held-out
task adapting on Adaptation with per-label probabilities, the presentation mode's ink dark on white."""

from __future__ import annotations

from browser_helpers import BROWSER_TESTS, charts_ready, no_failure, open_app, shot, wait_until

pytestmark = BROWSER_TESTS

# Each chart's heatmaps (the character tiles), bars (probabilities) and the first heatmap's colour scale.
_CHARTS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(g => ({
    heatmaps: (g.data || []).filter(t => t.type === 'heatmap').length,
    bars: (g.data || []).filter(t => t.type === 'bar').length,
    scale: ((g.data || []).find(t => t.type === 'heatmap') || {}).colorscale || null,
    title: g.layout && g.layout.title ? g.layout.title.text || '' : '',
}))"""


def test_omniglot_preset_on_train_and_adaptation(server, browser):
    url, _ = server
    ctx, page = open_app(browser, f"{url}/?preset=maml-omniglot&present=1")
    try:
        page.set_viewport_size({"width": 1920, "height": 1080})
        charts_ready(page, 2)
        charts = wait_until(lambda: [c for c in page.evaluate(_CHARTS) if c["heatmaps"] == 3],
                            what="the support and judged query characters")
        assert charts[0]["scale"][0][1] == "white" and charts[0]["scale"][-1][1] == "black"  # ink dark, presenting
        assert page.get_by_text("One fixed task of held-out characters").count() == 1
        no_failure(page)
        shot(page, "omniglot-train-presenting")
        page.get_by_role("link", name="Adaptation").click()
        charts_ready(page, 3)
        charts = page.evaluate(_CHARTS)
        assert any(c["heatmaps"] >= 3 for c in charts), charts  # support + θ₀ + shown steps
        assert any(c["bars"] >= 2 and "probability of each label" in c["title"] for c in charts), charts
        assert page.get_by_text("never seen in meta-training").count() == 1
        no_failure(page)
        shot(page, "omniglot-adaptation-presenting")
    finally:
        ctx.close()
