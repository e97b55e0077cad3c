"""The Landscape page's meta-gradient chart in Debian Chromium after the document-linear preset, screenshots at
1440×900 and in presentation mode at 1920×1080, and the page's HTML handout opened offline from a file:// URL.

``?preset=`` is applied by the Train page only (for now), so the test opens ``/?preset=document-linear`` and goes
to the Landscape page through the sidebar in the same tab, as a lecturer would.
"""

from __future__ import annotations

import time

from browser_helpers import ARTIFACTS, BROWSER_TESTS, charts_ready, no_failure, settle

pytestmark = BROWSER_TESTS

CHART = ".st-key-meta_gradients_chart .js-plotly-plot"
NAMES_JS = "(sel) => Array.from(document.querySelector(sel).data, t => t.name || '')"


def _landscape_after_preset(browser, url: str, viewport: dict, present: bool):
    ctx = browser.new_context(viewport=viewport, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/?preset=document-linear" + ("&present=1" if present else ""))
    page.get_by_text("Checkpoint loaded", exact=False).first.wait_for()
    settle(page)
    page.get_by_role("link", name="Landscape").click()
    page.get_by_role("heading", name="Landscape").wait_for()
    charts_ready(page, 3)
    page.wait_for_selector(CHART)
    return ctx, page


def test_meta_gradient_chart_screenshots_and_the_offline_handout(server, browser, tmp_path):
    url, _ = server
    ctx, page = _landscape_after_preset(browser, url, {"width": 1440, "height": 900}, present=False)
    try:
        no_failure(page)
        names = page.evaluate(NAMES_JS, CHART)
        for key in ("leo ", "leo-fo ", "reptile ", "imaml "):
            assert any(n.startswith(key) for n in names), (key, names)
        assert any("path" in n for n in names), names
        page.locator(".st-key-meta_gradients_chart").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "20-meta-gradients-1440.png"))
        page.screenshot(path=str(ARTIFACTS / "20-landscape-full-1440.png"), full_page=True)

        with page.expect_download() as info:
            page.get_by_role("button", name="Download this page as HTML").click()
        handout = tmp_path / "leo-landscape.html"
        info.value.save_as(handout)
        size = handout.stat().st_size
        print(f"handout: {size / 2**20:.2f} MiB")
        assert 3 * 2**20 < size < 30 * 2**20
    finally:
        ctx.close()

    offline = browser.new_context(viewport={"width": 1440, "height": 900})
    requests: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    offline.route("**/*", route)
    try:
        page = offline.new_page()
        page.goto(handout.as_uri())
        deadline = time.monotonic() + 60
        while page.locator(".js-plotly-plot").count() < 3:
            assert time.monotonic() < deadline, "the handout's figures were not drawn"
            time.sleep(0.2)
        assert page.locator(".js-plotly-plot").count() == 3
        assert page.locator("table td", has_text="Animation frames").count() == 1  # labels, not widget keys
        fig = "#figure-1"
        assert page.evaluate(f"() => document.querySelector('{fig}')._transitionData._frames.length") == 30
        theta_x = f"() => document.querySelector('{fig}').data.find(t => t.name.startsWith('θ₀ at')).x[0]"
        before = page.evaluate(theta_x)
        page.locator(f"{fig} .updatemenu-button", has_text="play").click()
        deadline = time.monotonic() + 20
        while page.evaluate(theta_x) == before:
            assert time.monotonic() < deadline, "pressing play did not change the frame"
            time.sleep(0.05)
        page.screenshot(path=str(ARTIFACTS / "21-handout-offline.png"))
        assert not [u for u in requests if not u.startswith("data:")], requests
    finally:
        offline.close()


def test_presentation_mode_1920(server, browser):
    url, _ = server
    ctx, page = _landscape_after_preset(browser, url, {"width": 1920, "height": 1080}, present=True)
    try:
        no_failure(page)
        assert page.get_by_role("switch", name="Presentation mode").is_checked()
        page.locator(".st-key-meta_gradients_chart").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "22-meta-gradients-present-1920.png"))
        page.locator(".st-key-meta_gradient_cosines").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "23-cosines-present-1920.png"))
    finally:
        ctx.close()
