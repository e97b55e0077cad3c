"""What the browser tests share: the app's Chromium harness, marks and page helpers.

The ``server`` and ``browser`` fixtures built on these live in ``conftest.py``.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from app_server import (  # noqa: E402
    CHROMIUM, CHROMIUM_ARGS, IDLE, LOSS_CHART, ROOT, RUN_CAPTION, RUN_SETTINGS, start_server, stop_server,
)
from helpers import WAIT_S, wait_until  # noqa: E402

__all__ = [  # the harness (for conftest's fixtures), marks, and the helpers
    "CHROMIUM", "CHROMIUM_ARGS", "start_server", "stop_server", "ARTIFACTS", "VIEWPORT", "LONG_RUN", "BROWSER_TESTS",
    "open_app", "settle", "set_number", "no_exception", "no_failure", "last_iteration_on_chart", "wait_for_curve",
    "metric", "status", "run_settings", "shot", "charts_ready", "reveal_charts", "choose", "training_threads", "wait_until", "WAIT_S",
    "alert_seen", "open_page",
]

ARTIFACTS = ROOT / "test-artifacts"
VIEWPORT = {"width": 1600, "height": 1000}
LONG_RUN = "100000"

# ``pytestmark`` of every browser test module.
BROWSER_TESTS = [
    pytest.mark.browser, pytest.mark.slow,  # each drives a real server and browser: tens of seconds
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian Chromium not found at {CHROMIUM}"),
]


# Every alert text the page has shown, kept in ``window.__leoAlerts``: a one-time message (a flash after an
# upload) may be gone again by the time a test looks, if a rerun follows at once.
_RECORD_ALERTS = """new MutationObserver(() => {
    const seen = (window.__leoAlerts = window.__leoAlerts || []);
    document.querySelectorAll('[data-testid=stAlert]').forEach(a => {
        const t = a.innerText; if (t && !seen.includes(t)) seen.push(t);
    });
}).observe(document, {childList: true, subtree: true, characterData: true});"""


def alert_seen(page, text: str) -> str:
    """Wait until the page has shown an alert containing ``text`` (it may be gone since); its full text."""
    def seen() -> str | None:
        return next((t for t in page.evaluate("() => window.__leoAlerts || []") if text in t), None)
    return wait_until(seen, what=f"an alert saying {text!r}")


def open_app(browser, url: str):
    ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    ctx.add_init_script(_RECORD_ALERTS)
    page = ctx.new_page()
    page.set_default_timeout(WAIT_S * 1000)  # an upper bound for every wait: this machine may be busy
    page.goto(url)
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Start").wait_for()
    return ctx, page


def open_page(browser, url: str, viewport: dict, **context):
    """A fresh browser context at ``viewport`` (and ``context``'s options: a locale, downloads) on ``url``, once the
    page's script is idle: ``(context, page)``."""
    ctx = browser.new_context(viewport=viewport, **context)
    page = ctx.new_page()
    page.set_default_timeout(180_000)
    page.goto(url)
    page.wait_for_selector(IDLE)
    return ctx, page


def settle(page) -> None:
    """Let the rerun an action asked for start (a short pause), then wait until the page's script is idle."""
    time.sleep(0.4)
    page.wait_for_selector(IDLE)


def set_number(page, label: str, value: str) -> None:
    box = page.get_by_role("spinbutton", name=label)
    box.fill(value)
    box.press("Enter")
    settle(page)


def no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0


def last_iteration_on_chart(page) -> float:
    """The last x of the smoothed post-adaptation loss line (-1 before any data)."""
    return page.evaluate("""() => {
        const g = document.querySelector('%s');
        return (g && g.data && g.data.length > 1 && g.data[1].x.length) ? g.data[1].x[g.data[1].x.length - 1] : -1;
    }""" % LOSS_CHART)


def wait_for_curve(page, at_least: float = 1, timeout: float = WAIT_S, what: str = "") -> float:
    """Wait until the live loss chart shows iteration ``at_least``; the last iteration shown."""
    return wait_until(lambda: (x := last_iteration_on_chart(page)) >= at_least and x, timeout,
                      what or f"the loss curve to reach iteration {at_least}")


def metric(page, label: str) -> str:
    return page.locator("[data-testid=stMetric]", has_text=label).locator("[data-testid=stMetricValue]").inner_text()


STATUS = re.compile(r"^(Ready|Training|Paused|Stopped|Finished|Diverged|Failed|Checkpoint loaded)")


def status(page) -> str:
    return page.locator("[data-testid=stMarkdownContainer] strong").filter(has_text=STATUS).first.inner_text()


def run_settings(page) -> str:
    return page.locator(RUN_CAPTION, has_text=RUN_SETTINGS).first.inner_text()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_failure(page) -> None:
    """Neither a traceback nor an ``st.error`` on the page."""
    no_exception(page)
    errors = page.locator("[data-testid=stAlertContentError]")
    assert errors.count() == 0, errors.first.inner_text()


# A chart is drawn, or a chart computed on demand is asked for, when it comes near the viewport
# (leo_app/live_chart.py): scroll to the first one still waiting, as a reader scrolling down would; how many were.
REVEAL_JS = """() => {
    const waiting = [...document.querySelectorAll('.leo-live-chart:not([data-drawn]), [data-request=waiting]')];
    if (waiting.length) waiting[0].scrollIntoView({block: 'center'});
    return waiting.length;
}"""


def reveal_charts(page) -> int:
    """Scroll to the first chart not drawn (or asked for) yet (call it while polling: one chart per call); how many
    were waiting."""
    return page.evaluate(REVEAL_JS)


def charts_ready(page, at_least: int) -> int:
    """Wait (≤ WAIT_S) until the page's script is idle and every chart is drawn (scrolling to those below the
    fold), at least ``at_least`` of them; their count."""
    def ready() -> int:
        settle(page)
        if reveal_charts(page):
            return 0
        n = page.locator(".js-plotly-plot").count()
        return n if n >= at_least else 0
    return wait_until(ready, what=f"{at_least} plotly charts")


def choose(page, label: str, option: str) -> None:
    page.locator("[data-testid=stSelectbox]", has_text=label).click()
    page.get_by_role("option", name=option).click()
    settle(page)


def _nice(stat: Path) -> int:
    return int(stat.read_text().rsplit(")", 1)[1].split()[16])  # field 19 of proc(5)'s stat


def training_threads(pid: int) -> int:
    """How many threads of process ``pid`` run at a lower priority than its main thread: the app's training
    threads (``leo_core.device.lower_thread_priority``), which end when their run does."""
    main = _nice(Path(f"/proc/{pid}/stat"))
    count = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            count += _nice(task / "stat") > main
        except (OSError, ValueError, IndexError):  # the thread ended while being read
            pass
    return count
