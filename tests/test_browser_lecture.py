"""The Lecture in Chromium: the → and ← keys move between chapters and the address follows; the quiz's characters
are above the fold at both sizes; a chapter in Chinese shows Chinese navigation and text, drawn with the app's
font; the whole lecture downloads as one HTML file that opens from disk with the network blocked, every chapter
and chart in it. (Each chapter's picture above the fold: tests/test_browser_projector.py.)"""

from __future__ import annotations

import re

from browser_helpers import ARTIFACTS, BROWSER_TESTS, IDLE, open_page, shot, wait_until

pytestmark = BROWSER_TESTS

SIZES = {"1440x900": ({"width": 1440, "height": 900}, ""),
         "present-1920x1080": ({"width": 1920, "height": 1080}, "&present=1")}


def _address(page) -> str:
    """The address bar as the page has it (``page.url`` may lag a ``history.replaceState``)."""
    return page.evaluate("() => window.location.href")


def _title(page) -> str:
    return page.locator("h3").first.inner_text()


def test_arrow_keys_move_between_chapters_and_the_address_follows(server, browser):
    url, _ = server
    ctx, page = open_page(browser, f"{url}/lecture?ch=2", SIZES["1440x900"][0])
    try:
        assert _title(page).startswith("2 · ")
        page.keyboard.press("ArrowRight")
        wait_until(lambda: re.search(r"[?&]ch=3\b", _address(page)) and _title(page).startswith("3 · "),
                   what="chapter 3 after →")
        page.wait_for_selector(IDLE)
        page.keyboard.press("ArrowLeft")
        wait_until(lambda: re.search(r"[?&]ch=2\b", _address(page)) and _title(page).startswith("2 · "),
                   what="chapter 2 after ←")
    finally:
        ctx.close()


def test_the_quiz_characters_are_above_the_fold(server, browser):
    url, _ = server
    for size, (viewport, extra) in SIZES.items():
        ctx, page = open_page(browser, f"{url}/lecture?ch=1{extra}", viewport)
        try:
            images = page.locator("[data-testid=stMain] [data-testid=stImage] img")
            wait_until(lambda: images.count() >= 6, what="five characters and the query")
            page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
            for i in range(6):
                box = images.nth(i).bounding_box()
                assert box and box["y"] + box["height"] <= viewport["height"], f"{size}: image {i} below the fold"
            shot(page, f"lecture-quiz-{size}")
        finally:
            ctx.close()


def test_a_chapter_in_chinese(server, browser):
    url, _ = server
    ctx, page = open_page(browser, f"{url}/lecture?ch=1&lang=zh", SIZES["1440x900"][0])
    try:
        wait_until(lambda: any("下一章" in b for b in page.locator("[data-testid=stMain] button").all_inner_texts()),
                   what="the navigation's buttons in Chinese")
        title = _title(page)
        assert re.search(r"[\u4e00-\u9fff]", title), title
        nav = page.locator("[data-testid=stSidebarNav]").inner_text()
        assert "讲义" in nav and "训练" in nav, nav
        # The Chinese glyphs come from the app's font (no CJK font need be installed): it was fetched and used.
        wait_until(lambda: page.evaluate(
            "() => [...document.fonts].some(f => /U\\+2E80/i.test(f.unicodeRange) && f.status === 'loaded')"),
            what="the app's Chinese font loaded")
        shot(page, "lecture-zh-1440x900")
    finally:
        ctx.close()


def test_the_lecture_file_opens_offline_with_every_chapter(server, browser, tmp_path):
    url, _ = server
    ctx, page = open_page(browser, f"{url}/lecture?ch=2&lang=zh", SIZES["1440x900"][0], accept_downloads=True)
    try:
        with page.expect_download(timeout=300_000) as info:
            page.get_by_role("button", name=re.compile("下载整套讲义")).click()
        path = tmp_path / "lecture.html"
        info.value.save_as(path)
    finally:
        ctx.close()
    offline = browser.new_context(viewport=SIZES["1440x900"][0])
    blocked: list[str] = []
    offline.route(re.compile(r"^(?!file:|data:).*"), lambda route: (blocked.append(route.request.url), route.abort()))
    page = offline.new_page()
    try:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        headings = page.locator("h2").all_inner_texts()
        assert len(headings) == 8 and all(re.match(r"\d · ", h) for h in headings), headings
        wait_until(lambda: page.locator(".js-plotly-plot .main-svg").count() >= 8, what="the charts drawn")
        assert page.locator(".updatemenu-button").count() >= 1, "an animation's play button"
        assert not blocked, blocked
        page.screenshot(path=str(ARTIFACTS / "lecture-file-zh.png"))
    finally:
        offline.close()


def test_an_embedded_chapter_shows_no_controls(server, browser):
    """For a slide: Streamlit's ?embed=true drops its toolbar, and the app hides the sidebar's controls too."""
    url, _ = server
    ctx, page = open_page(browser, f"{url}/lecture?ch=7&embed=true", SIZES["1440x900"][0])
    try:
        page.locator(".st-key-lecture_baseline .js-plotly-plot").wait_for()
        assert not page.locator("[data-testid=stSidebar]").is_visible()
        assert "embed=true" in _address(page)
        shot(page, "lecture-embedded")
    finally:
        ctx.close()


def test_the_browser_language_is_the_default(server, browser):
    """A browser set to Chinese opens the app in Chinese without ?lang (and the link then names it)."""
    url, _ = server
    ctx, page = open_page(browser, f"{url}/lecture?ch=4", SIZES["1440x900"][0], locale="zh-CN")
    try:
        wait_until(lambda: "讲义" in page.locator("[data-testid=stSidebarNav]").inner_text(), what="Chinese navigation")
        wait_until(lambda: "lang=zh" in _address(page), what="the language in the link")
    finally:
        ctx.close()
