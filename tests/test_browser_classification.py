"""The Train page's classification views in the real app (Debian Chromium through Playwright).

A points2d run shows the accuracy curve and the decision-region preview live, then a digits run shows
support images and judged query images. Screenshots go to ``test-artifacts/`` (gitignored); the chart
refresh rate while points2d trains is measured by ``bench/app_throughput.py --family points2d --alpha 0.5``.
"""

from __future__ import annotations

from browser_helpers import (
    BROWSER_TESTS, LONG_RUN, WAIT_S, choose, no_exception, open_app, reveal_charts, set_number, settle, shot, wait_until,
)

pytestmark = BROWSER_TESTS

TALL = {"width": 1600, "height": 1250}

# What the page's two live charts hold: [curve y-title, preview heatmaps, preview trace names].
_CHARTS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(g => ({
    ytitle: g.layout && g.layout.yaxis && g.layout.yaxis.title ? g.layout.yaxis.title.text : null,
    heatmaps: (g.data || []).filter(t => t.type === 'heatmap').length,
    names: (g.data || []).map(t => t.name || ''),
    last: (g.data && g.data.length > 1 && g.data[1].x && g.data[1].x.length) ? g.data[1].x[g.data[1].x.length - 1] : -1,
}))"""


def _charts(page) -> list[dict]:
    reveal_charts(page)
    return page.evaluate(_CHARTS)


def _wait(page, ok, what: str, seconds: float = WAIT_S) -> list[dict]:
    def seen() -> list[dict] | None:
        charts = _charts(page)
        return charts if len(charts) >= 2 and ok(charts) else None
    return wait_until(seen, seconds, what)


def _step_slider(page, label: str, presses: int) -> None:
    thumb = page.locator("[data-testid=stSlider]", has_text=label).locator("input[type=range]")
    thumb.focus()
    for _ in range(presses):
        thumb.press("ArrowRight")
    settle(page)


def test_points2d_then_digits_live_views(server, browser):
    url, _ = server
    ctx, page = open_app(browser, url)
    page.set_viewport_size(TALL)  # both preview rows and the curve in one screenshot
    try:
        choose(page, "Task family", "2-D point clouds")
        _step_slider(page, "Inner step size α", 5)  # 0.01 → 0.5: classification adapts with a large step
        set_number(page, "Iterations", LONG_RUN)
        page.get_by_role("button", name="Start").click()
        charts = _wait(page, lambda c: c[0]["last"] >= 5 and c[1]["heatmaps"] == 6, "the points2d live view")
        assert charts[0]["ytitle"] == "query accuracy (%)"
        # θ₀ learns something worth a screenshot (at 29–121 it/s measured here, a few seconds)
        _wait(page, lambda c: c[0]["last"] >= 150, "iteration 150 on the live accuracy curve", 2 * WAIT_S)
        no_exception(page)
        shot(page, "10-points2d-running")
        page.get_by_role("button", name="Stop").click()
        page.get_by_text("Stopped.", exact=False).first.wait_for()
        settle(page)

        choose(page, "Task family", "Handwritten digits, N-way K-shot")
        set_number(page, "Iterations", "150")
        page.get_by_role("button", name="Start").click()
        page.get_by_text("Finished.", exact=False).first.wait_for(timeout=2 * WAIT_S * 1000)
        settle(page)
        charts = _wait(page, lambda c: "predictions" in c[1]["names"], "the digits preview")
        assert charts[0]["ytitle"] == "query accuracy (%)" and charts[0]["last"] == 150
        assert charts[1]["heatmaps"] == 3  # support mosaic, query before, query after
        no_exception(page)
        shot(page, "11-digits-finished")
    finally:
        ctx.close()
