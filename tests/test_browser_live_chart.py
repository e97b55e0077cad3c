"""In Chromium: the live loss chart keeps the user's zoom and hidden legend entries while training
goes on and the curve grows; a double click still resets the view."""

from __future__ import annotations

import time

from browser_helpers import (
    LONG_RUN, LOSS_CHART, last_iteration_on_chart, no_exception, open_app, set_number, shot, wait_for_curve,
)
from browser_helpers import BROWSER_TESTS

pytestmark = BROWSER_TESTS

RANGE_JS = "() => document.querySelector('%s').layout.xaxis.range" % LOSS_CHART
HIDDEN_JS = "() => document.querySelector('%s').data.map(t => t.visible === 'legendonly')" % LOSS_CHART


def test_a_zoom_on_the_live_loss_chart_survives_the_updates(server, browser):
    url, _ = server
    ctx, page = open_app(browser, url)
    try:
        set_number(page, "Iterations", LONG_RUN)
        page.get_by_role("button", name="Start").click()
        wait_for_curve(page, 5)
        # Hide a legend entry with a click, as a user would, and zoom to the first iterations.
        page.locator(LOSS_CHART).locator(".legend .traces").first.click()
        page.evaluate("() => Plotly.relayout(document.querySelector('%s'), {'xaxis.range': [0, 4]})" % LOSS_CHART)
        zoomed_at = last_iteration_on_chart(page)
        deadline = time.monotonic() + 60
        while last_iteration_on_chart(page) < zoomed_at + 20:  # the curve grows by many refreshes
            assert time.monotonic() < deadline, "the curve stopped growing"
            time.sleep(0.2)
        time.sleep(5)  # the check: still in place 5 s later
        assert page.evaluate(RANGE_JS) == [0, 4]
        assert page.evaluate(HIDDEN_JS)[1] is True
        assert last_iteration_on_chart(page) > zoomed_at + 20
        shot(page, "live-chart-zoom-kept")
        page.locator(LOSS_CHART).locator(".nsewdrag").first.dblclick()  # plotly's autoscale
        deadline = time.monotonic() + 30
        while page.evaluate(RANGE_JS)[1] <= 4:
            assert time.monotonic() < deadline, "a double click did not reset the view"
            time.sleep(0.2)
        no_exception(page)
        page.get_by_role("button", name="Stop").click()
    finally:
        ctx.close()
