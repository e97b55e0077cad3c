"""The race in the real app (Debian Chromium): open ``/compare?race=leo,reptile,pretrained``, press the race
button, see ``race_chart`` hold three traces that grow between two looks, close the tab and see the race
thread end; no exception anywhere. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import glob
import time

from browser_helpers import BROWSER_TESTS, IDLE, VIEWPORT, no_exception, shot

pytestmark = BROWSER_TESTS

RACE_CHART = ".st-key-race_chart .js-plotly-plot"
# The race fit chart's panel titles that overlap the next one's (their boxes in the page).
OVERLAPPING_TITLES_JS = """() => {
    const boxes = [...document.querySelectorAll('.st-key-race_fit .annotation-text')].map(e => e.getBoundingClientRect());
    return boxes.slice(1).filter((b, i) => b.left < boxes[i].right && b.top < boxes[i].bottom && boxes[i].top < b.bottom)
        .length + (boxes.length >= 3 ? 0 : 100);
}"""
TRACES_JS = """() => {
    const g = document.querySelector('%s');
    return (g && g.data) ? g.data.map(t => [t.name, (t.x || []).length ? t.x[t.x.length - 1] : -1]) : [];
}""" % RACE_CHART


def race_threads(pid: int) -> int:
    """Threads of the server named by ``leo_app`` as a race (``set_native_name``)."""
    count = 0
    for path in glob.glob(f"/proc/{pid}/task/*/comm"):
        try:
            with open(path) as f:
                count += f.read().strip() == "leo-race"
        except OSError:
            pass  # the thread ended while we looked
    return count


def _wait(cond, what: str, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while True:
        value = cond()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.3)


def test_a_race_of_three_grows_live_and_stops_when_the_tab_closes(server, browser):
    url, proc = server
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    closed = False
    try:
        page.goto(f"{url}/compare?race=leo,reptile,pretrained&race_iterations=20000")
        page.wait_for_selector(IDLE)
        button = page.get_by_role("button", name="Start the race")
        button.wait_for()
        assert "race" in button.inner_text().lower()
        button.click()

        def three_traces():
            traces = page.evaluate(TRACES_JS)
            return traces if len(traces) == 3 and all(x > 0 for _, x in traces) else None

        first = _wait(three_traces, "three growing traces on race_chart")
        assert [name for name, _ in first] == ["leo", "reptile", "pretrained"]
        second = _wait(lambda: (t := three_traces()) and all(b[1] > a[1] for a, b in zip(first, t)) and t,
                       "every trace growing")
        assert all(b[1] > a[1] for a, b in zip(first, second))
        assert race_threads(proc.pid) == 1
        # The fit panels' titles stay apart down to a 1280 px window (the narrowest the app is made for).
        page.locator(".st-key-race_fit [data-drawn=chart]").wait_for()
        fit_width = "() => document.querySelector('.st-key-race_fit .js-plotly-plot')._fullLayout.width"
        wide = page.evaluate(fit_width)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.wait_for_function(f"() => ({fit_width})() < {wide}")
        assert page.evaluate(OVERLAPPING_TITLES_JS) == 0, "the race fit's panel titles overlap (or fewer than 3)"
        no_exception(page)
        shot(page, "30-race-live")
        ctx.close()
        closed = True
        _wait(lambda: race_threads(proc.pid) == 0, "the race thread ending after the tab closed", 30)
    finally:
        if not closed:
            ctx.close()
