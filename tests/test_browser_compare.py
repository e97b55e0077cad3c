"""The Compare page in the real app (Debian Chromium): train briefly, add the run, train a baseline,
see the comparison charts and a small α × k sweep, and no exception anywhere.

Screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

from browser_helpers import (
    BROWSER_TESTS, WAIT_S, no_exception, open_app, reveal_charts, set_number, settle, shot, status, wait_until,
)

pytestmark = BROWSER_TESTS

# Per chart on the page: its trace names and kinds, and whether any y-value is drawn.
_CHARTS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(g => ({
    names: (g.data || []).filter(t => t.showlegend !== false && t.type !== 'heatmap').map(t => t.name),
    heatmap: (g.data || []).some(t => t.type === 'heatmap'),
    points: (g.data || []).filter(t => t.mode === 'lines+markers').map(t => (t.y || []).filter(v => v !== null).length),
}))"""


def _wait_charts(page, ok, what: str, seconds: float = 2 * WAIT_S) -> list[dict]:
    def seen() -> list[dict] | None:
        reveal_charts(page)
        charts = page.evaluate(_CHARTS)
        return charts if ok(charts) else None
    return wait_until(seen, seconds, what)


def _type(page, label: str, value: str) -> None:
    box = page.get_by_role("textbox", name=label)
    box.fill(value)
    box.press("Enter")
    settle(page)


def test_compare_a_trained_run_with_a_baseline_and_sweep(server, browser):
    url, _ = server
    ctx, page = open_app(browser, url)
    try:
        set_number(page, "Iterations", "150")
        page.get_by_role("button", name="Start").click()
        wait_until(lambda: status(page).startswith("Finished"), 2 * WAIT_S, "the run to finish")
        page.get_by_role("link", name="Compare").click()
        page.get_by_role("button", name="Add current run to comparison").click()
        settle(page)
        page.get_by_role("button", name="Train pretrained baseline").click()
        charts = _wait_charts(page, lambda c: len(c) >= 2 and len(c[0]["points"]) == 2,
                              "the comparison of two runs")
        assert all(n == 11 for n in charts[0]["points"])  # loss after 0…10 steps, all finite, both runs
        assert any("pretrained" in n for n in charts[0]["names"]) and any("leo" in n for n in charts[0]["names"])
        assert page.locator("[data-testid=stDataFrame]").count() == 1
        no_exception(page)
        shot(page, "20-compare-runs")
        _type(page, "α values", "0.01, 0.03")
        _type(page, "k values", "1")
        set_number(page, "Meta-iterations per cell", "20")
        page.get_by_role("button", name="Run sweep").click()
        _wait_charts(page, lambda c: any(x["heatmap"] for x in c), "the sweep heatmap")
        settle(page)
        no_exception(page)
        page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()
        shot(page, "21-compare-sweep")
    finally:
        ctx.close()
