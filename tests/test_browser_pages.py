"""The Adaptation and Landscape pages in Debian Chromium after a short training run on the linear family.

Screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import time

import pytest

from test_browser import ARTIFACTS, CHROMIUM, IDLE, _open, _set_number, _settle, browser, server  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason=f"Debian Chromium not found at {CHROMIUM}"),
]

CHARTS = ".js-plotly-plot"


def _charts_ready(page, at_least: int) -> int:
    deadline = time.monotonic() + 60
    while True:
        _settle(page)
        n = page.locator(CHARTS).count()
        if n >= at_least:
            return n
        assert time.monotonic() < deadline, f"only {n} plotly charts appeared"
        time.sleep(0.3)


def _no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0
    errors = page.locator("[data-testid=stAlertContentError]")
    assert errors.count() == 0, errors.first.inner_text()


def test_adaptation_and_landscape_pages(server, browser):  # noqa: F811
    url, _ = server
    ctx, page = _open(browser, url)
    try:
        page.locator("[data-testid=stSelectbox]", has_text="Task family").click()
        page.get_by_role("option", name="Lines (the source document's example)").click()
        _settle(page)
        _set_number(page, "Iterations", "60")
        page.get_by_role("button", name="Start").click()
        page.get_by_text("Finished.", exact=False).first.wait_for()
        _settle(page)

        page.get_by_role("link", name="Adaptation").click()
        page.get_by_role("heading", name="Adaptation").wait_for()
        assert _charts_ready(page, 3) >= 3
        _no_exception(page)
        # The fit animation carries its own frames: the play button and step slider are in the chart.
        frames = page.evaluate("() => document.querySelector('.js-plotly-plot')._transitionData._frames.length")
        assert frames == 11  # steps 0..10 (the default)
        page.screenshot(path=str(ARTIFACTS / "10-adaptation-linear.png"), full_page=True)
        page.get_by_role("button", name="Train the pretrained baseline").click()
        _settle(page)
        page.get_by_text("pretrained (300 it)", exact=False).first.wait_for()
        _no_exception(page)
        page.screenshot(path=str(ARTIFACTS / "11-adaptation-pretrained.png"), full_page=True)

        page.get_by_role("link", name="Landscape").click()
        page.get_by_role("heading", name="Landscape").wait_for()
        assert _charts_ready(page, 1) >= 1
        _no_exception(page)
        page.screenshot(path=str(ARTIFACTS / "12-landscape-linear.png"), full_page=True)
    finally:
        ctx.close()
