"""Offline by construction, in Chromium: with every request outside the app's server aborted (a lecture hall
without internet), every page opened by its own link makes zero failed requests: no font or icon CDN, no
probe of a page path as the server's base URL (leo_app/deep_links.py), no 4xx/5xx answer."""

from __future__ import annotations

import pytest

from browser_helpers import BROWSER_TESTS, IDLE, wait_until

pytestmark = BROWSER_TESTS

LINKS = ["/?preset=maml-sinusoid", "/adaptation?preset=maml-sinusoid", "/landscape?preset=document-linear",
         "/compare", "/theory", "/adaptation?adapt_family=digits"]


@pytest.mark.parametrize("link", LINKS)
def test_a_page_makes_no_failed_request_offline(server, browser, link):
    url, _ = server
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else route.abort())
    failed: list[str] = []
    try:
        page = ctx.new_page()
        page.set_default_timeout(180_000)
        page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
        page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
        page.goto(url + link)
        page.wait_for_selector(IDLE)
        wait_until(lambda: page.locator("[data-testid=stMain] h1").count() > 0, what="the page's title")
        page.wait_for_load_state("networkidle")
        assert page.locator("[data-testid=stException]").count() == 0
        assert not failed, f"{link}: failed requests offline: {failed}"
    finally:
        ctx.close()
