"""The Adaptation and Landscape pages in Debian Chromium after a short training run on the linear family.

Screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

from browser_helpers import ARTIFACTS, BROWSER_TESTS, IDLE, charts_ready, no_failure, open_app, set_number, settle

pytestmark = BROWSER_TESTS


def test_adaptation_and_landscape_pages(server, browser):
    url, _ = server
    ctx, page = open_app(browser, url)
    try:
        page.locator("[data-testid=stSelectbox]", has_text="Task family").click()
        page.get_by_role("option", name="Lines", exact=True).click()
        settle(page)
        set_number(page, "Iterations", "60")
        page.get_by_role("button", name="Start").click()
        page.get_by_text("Finished.", exact=False).first.wait_for()
        settle(page)

        page.get_by_role("link", name="Adaptation").click()
        page.get_by_role("heading", name="Adaptation").wait_for()
        assert charts_ready(page, 3) >= 3
        no_failure(page)
        # The fit animation carries its own frames: the play button and step slider are in the chart.
        frames = page.evaluate("() => document.querySelector('.js-plotly-plot')._transitionData._frames.length")
        assert frames == 11  # steps 0..10 (the default)
        page.screenshot(path=str(ARTIFACTS / "10-adaptation-linear.png"), full_page=True)
        page.get_by_role("button", name="Train the pretrained baseline").click()
        settle(page)
        page.get_by_text("pretrained (300 it, α", exact=False).first.wait_for()
        no_failure(page)
        page.screenshot(path=str(ARTIFACTS / "11-adaptation-pretrained.png"), full_page=True)

        page.get_by_role("link", name="Landscape").click()
        page.get_by_role("heading", name="Landscape").wait_for()
        assert charts_ready(page, 1) >= 1
        no_failure(page)
        page.screenshot(path=str(ARTIFACTS / "12-landscape-linear.png"), full_page=True)
    finally:
        ctx.close()


def test_a_link_to_a_page_is_the_first_visit_of_a_fresh_server(browser):
    """A shared link straight to a page must run inside app.py (navigation, settings from the link) even
    when it is the first request a new server sees (Streamlit's legacy pages/ mode, see app_state.through_app)."""
    from app_server import start_server, stop_server

    url, proc = start_server(ARTIFACTS / "fresh-server.log")
    try:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{url}/adaptation?present=1")
        page.locator("h1", has_text="Adaptation").first.wait_for()
        settle(page)
        nav = page.locator("[data-testid=stSidebarNav] a").all_inner_texts()
        assert [t.split()[-1] for t in nav] == ["Lecture", "Train", "Adaptation", "Landscape", "Compare", "Theory"], nav
        assert page.get_by_role("switch", name="Presentation mode").is_checked()
        no_failure(page)
        page.close()
    finally:
        stop_server(proc)


def test_the_landscape_sweep_is_computed_when_a_reader_scrolls_to_it(server, browser):
    url, _ = server
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = ctx.new_page()
        page.goto(f"{url}/landscape?land_seed=7177")  # tasks no other test draws: the sweep is not cached
        page.wait_for_selector(IDLE)
        sweep = page.locator(".st-key-meta_gradient_cosines .leo-live-chart")
        assert sweep.get_attribute("data-drawn") == "placeholder" and sweep.get_attribute("data-request") == "waiting"
        sweep.scroll_into_view_if_needed()
        page.locator(".st-key-meta_gradient_cosines .leo-live-chart[data-drawn=chart]").wait_for()
        no_failure(page)
        assert sweep.get_attribute("data-request") is None
        assert page.locator(".st-key-meta_gradient_cosines .js-plotly-plot .scatterlayer .trace").count() >= 4
    finally:
        ctx.close()
