"""In Chromium: the Train page's live numbers are not cut off ("2.…") down to 1280 px wide. (Every page's main
picture above the fold, at 1440×900 and presenting at 1920×1080: tests/test_browser_projector.py.)"""

from __future__ import annotations

import pytest

from helpers import wait_until
from browser_helpers import BROWSER_TESTS, open_page

pytestmark = BROWSER_TESTS

# Every metric value whose text overflows its box (Streamlit cuts it with an ellipsis).
TRUNCATED_JS = """() => [...document.querySelectorAll('[data-testid=stMetricValue]')]
    .filter(e => [e, ...e.querySelectorAll('*')].some(d => d.scrollWidth > d.clientWidth + 1)).map(e => e.innerText)"""


@pytest.mark.parametrize("width,extra", [(1280, ""), (1440, ""), (1920, "&present=1")])
def test_the_train_metrics_are_readable(server, browser, width, extra):
    url, _ = server
    ctx, page = open_page(browser, f"{url}/?preset=maml-sinusoid{extra}", {"width": width, "height": 900})
    try:
        page.locator(".st-key-loss_chart .js-plotly-plot").wait_for()
        values = page.locator(".st-key-train_metrics [data-testid=stMetricValue]")
        # the live view may still be drawing its row of metrics when the chart appears
        wait_until(lambda: values.count() == 5, what="five metric values")
        assert any(ch.isdigit() for ch in values.nth(3).inner_text()), "the loaded run's loss θ₀ is shown"
        assert page.evaluate(TRUNCATED_JS) == [], f"metric values cut off at {width} px"
    finally:
        ctx.close()
