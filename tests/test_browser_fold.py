"""In Chromium: the picture first. Each page opened by a preset link shows its main figure without
scrolling (at least its first 300 px are inside the viewport) at 1440×900 and in presentation
mode at 1920×1080, and the Train page's live numbers are not cut off ("2.…") down to 1280 px wide.

Compare draws no chart until runs are collected and Theory has none; their first state is text.
"""

from __future__ import annotations

import pytest

from helpers import wait_until
from browser_helpers import BROWSER_TESTS, IDLE, shot

pytestmark = BROWSER_TESTS

# page path, preset, the key of the page's main figure
MAIN_FIGURE = {
    "train": ("", "maml-sinusoid", "loss_chart"),
    "adaptation": ("adaptation", "maml-sinusoid", "fit_anim"),
    "landscape": ("landscape", "document-linear", "linear_landscape"),
}
VIEWS = {"1440x900": ({"width": 1440, "height": 900}, ""), "present-1920x1080": ({"width": 1920, "height": 1080},
                                                                                  "&present=1")}
# Every metric value whose text overflows its box (Streamlit cuts it with an ellipsis).
TRUNCATED_JS = """() => [...document.querySelectorAll('[data-testid=stMetricValue]')]
    .filter(e => [e, ...e.querySelectorAll('*')].some(d => d.scrollWidth > d.clientWidth + 1)).map(e => e.innerText)"""


def _open(browser, url: str, viewport: dict):
    ctx = browser.new_context(viewport=viewport)
    page = ctx.new_page()
    page.set_default_timeout(180_000)
    page.goto(url)
    page.wait_for_selector(IDLE)
    return ctx, page


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("name", list(MAIN_FIGURE))
def test_the_main_figure_is_above_the_fold(server, browser, name, view):
    url, _ = server
    path, preset, key = MAIN_FIGURE[name]
    viewport, extra = VIEWS[view]
    ctx, page = _open(browser, f"{url}/{path}?preset={preset}{extra}", viewport)
    try:
        chart = page.locator(f".st-key-{key} .js-plotly-plot .main-svg").first
        chart.wait_for()
        page.wait_for_selector(IDLE)
        box = chart.bounding_box()
        assert box is not None and box["height"] > 100, f"{name}: the main figure is not drawn"
        assert 0 <= box["y"] < viewport["height"] - 300, f"{name} at {view}: the main figure starts at y={box['y']:.0f}"
        assert page.get_by_text("No trained run in this session yet").count() == 0
        shot(page, f"fold-{name}-{view}")
    finally:
        ctx.close()


@pytest.mark.parametrize("width,extra", [(1280, ""), (1440, ""), (1920, "&present=1")])
def test_the_train_metrics_are_readable(server, browser, width, extra):
    url, _ = server
    ctx, page = _open(browser, f"{url}/?preset=maml-sinusoid{extra}", {"width": width, "height": 900})
    try:
        page.locator(".st-key-loss_chart .js-plotly-plot").wait_for()
        values = page.locator(".st-key-train_metrics [data-testid=stMetricValue]")
        # the live view may still be drawing its row of metrics when the chart appears
        wait_until(lambda: values.count() == 5, what="five metric values")
        assert any(ch.isdigit() for ch in values.nth(3).inner_text()), "the loaded run's loss θ₀ is shown"
        assert page.evaluate(TRUNCATED_JS) == [], f"metric values cut off at {width} px"
    finally:
        ctx.close()
