"""The Adaptation and Landscape pages in Debian Chromium after short points2d and digits runs.

Points2d: the decision-region animation (one frame per step, played in the browser), the pretrained
baseline, the cross-entropy landscape. Digits: query predictions. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from browser_helpers import (
    ARTIFACTS, BROWSER_TESTS, WAIT_S, charts_ready, choose, no_failure, open_app, set_number, settle,
)

pytestmark = BROWSER_TESTS

TALL = {"width": 1600, "height": 2300}  # the whole page in one screenshot
_FIRST_CHART = "document.querySelector('.js-plotly-plot')"


def _train(page, family: str, iterations: str, alpha_presses: int = 0) -> None:
    choose(page, "Task family", family)
    thumb = page.locator("[data-testid=stSlider]", has_text="Inner step size α").locator("input[type=range]")
    thumb.focus()
    for _ in range(alpha_presses):
        thumb.press("ArrowRight")
    settle(page)
    set_number(page, "Iterations", iterations)
    page.get_by_role("button", name="Start").click()
    page.get_by_text("Finished.", exact=False).first.wait_for(timeout=2 * WAIT_S * 1000)
    settle(page)


def _go(page, name: str) -> None:
    page.get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name).wait_for()


def test_classification_adaptation_and_landscape(server, browser):
    url, _ = server
    ctx, page = open_app(browser, url)
    page.set_viewport_size(TALL)
    try:
        _train(page, "2-D point clouds", "300", alpha_presses=5)  # α 0.01 → 0.5
        _go(page, "Adaptation")
        assert charts_ready(page, 3) >= 3
        no_failure(page)
        frames = page.evaluate(f"() => {_FIRST_CHART}._transitionData._frames.length")
        assert frames == 11  # steps 0..10 (the default)
        page.get_by_role("button", name="Train the pretrained baseline").click()
        settle(page)
        page.get_by_text("pretrained (300 it, α", exact=False).first.wait_for()
        assert page.evaluate(f"() => {_FIRST_CHART}.data.filter(t => t.type === 'heatmap').length") == 3
        page.screenshot(path=str(ARTIFACTS / "20-adaptation-points2d-step0.png"), full_page=True)
        page.locator(".updatemenu-button").first.click()  # ▶ play: runs in the browser, no rerun
        # the animation reached the last step and has drawn it (no transition running, no frame queued)
        page.wait_for_function(f"() => (g => g.layout.sliders[0].active === 10 && !g._transitioning "
                               f"&& !g._frameWaitingCnt)({_FIRST_CHART})")
        no_failure(page)
        page.screenshot(path=str(ARTIFACTS / "21-adaptation-points2d-played.png"), full_page=True)

        _go(page, "Landscape")
        assert charts_ready(page, 3) >= 3
        no_failure(page)
        page.get_by_text("cross-entropy", exact=False).first.wait_for()
        # contours and the projection check: the app's 2d plotly.js bundle only, until the surface is asked for
        assert page.evaluate("() => !!window.leoPlotly['2d'] && !document.getElementById('leo-plotly-full')"
                             " && ![...document.querySelectorAll('.js-plotly-plot')].some(g => g._fullLayout.scene)")
        page.locator("[data-testid=stCheckbox]", has_text="3-D surface").click()
        settle(page)
        # a 3-D scene drawn into a WebGL canvas (every plotly chart has an empty .gl-container; only a scene fills it)
        page.wait_for_function("() => !!window.leoPlotly.full && [...document.querySelectorAll('.js-plotly-plot')]"
                               ".some(g => g._fullLayout.scene && g.querySelector('.gl-container canvas'))",
                               timeout=WAIT_S * 1000)
        no_failure(page)
        page.screenshot(path=str(ARTIFACTS / "22-landscape-points2d.png"), full_page=True)

        _go(page, "Train")
        _train(page, "Handwritten digits, N-way K-shot", "100")
        _go(page, "Adaptation")
        assert charts_ready(page, 3) >= 3
        no_failure(page)
        page.screenshot(path=str(ARTIFACTS / "23-adaptation-digits.png"), full_page=True)
    finally:
        ctx.close()
