"""The lecture's "You try" chapter in Chromium (``leo_app.quiz_view``): the quiz shows five held-out characters and
a query, a pick reveals the model's answer with its confidence; then five symbols and a query drawn with the mouse
on the canvases are adapted on and the query is named. Screenshots go to test-artifacts/quiz-*.png.
"""

from __future__ import annotations

import math
import re
import time

from browser_helpers import BROWSER_TESTS, IDLE, VIEWPORT, WAIT_S, no_failure, open_page, settle, shot, wait_until

pytestmark = BROWSER_TESTS

PATH = "/lecture?ch=1"
CANVAS = "[class*=st-key-quiz_canvas_]"  # one element container per canvas (keyed by generation and box)
PREDICTION = re.compile(r"The model says the query is symbol (\d)")


def _stroke(page, points: list[tuple[float, float]]) -> None:
    """One mouse stroke through ``points`` (page pixels), in small moves as a hand would draw."""
    page.mouse.move(*points[0])
    time.sleep(0.3)  # the canvas shows its toolbar when the pointer enters it: let it settle, as a hand pauses
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


def _symbol(kind: str, box: dict) -> list[list[tuple[float, float]]]:
    """The strokes of a symbol inside a canvas's bounding box (a margin of a fifth of its side)."""
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    cx, cy, r = x0 + w / 2, y0 + h / 2, 0.3 * min(w, h)

    def at(u: float, v: float) -> tuple[float, float]:  # u, v in [-1, 1] around the centre
        return cx + u * r, cy + v * r

    if kind == "vertical":
        return [[at(0, -1), at(0, 0), at(0, 1)]]
    if kind == "horizontal":
        return [[at(-1, 0), at(0, 0), at(1, 0)]]
    if kind == "circle":
        return [[at(math.cos(t * math.pi / 12), math.sin(t * math.pi / 12)) for t in range(25)]]
    if kind == "cross":
        return [[at(-1, -1), at(1, 1)], [at(1, -1), at(-1, 1)]]
    if kind == "diagonal":
        return [[at(-1, 1), at(0, 0), at(1, -1)]]
    raise ValueError(kind)


def _canvas_box(page, i: int) -> dict:
    """Canvas ``i``'s drawing surface, scrolled into view: its bounding box."""
    surface = page.locator(CANVAS).nth(i).locator("canvas").last
    surface.scroll_into_view_if_needed()
    box = surface.bounding_box()
    assert box and box["width"] >= 100 and box["height"] >= 100, f"canvas {i + 1} is not drawn: {box}"
    return box


def test_the_quiz_then_drawn_symbols(server, browser):
    url, _ = server
    ctx, page = open_page(browser, f"{url}{PATH}", VIEWPORT)
    try:
        # The quiz: five support characters with a pick button each, and the query.
        main = page.locator("[data-testid=stMain]")
        wait_until(lambda: main.locator("[data-testid=stImage] img").count() >= 6, what="six character images")
        for i in range(1, 6):
            assert page.locator(f".st-key-quiz_pick_{i} button").count() == 1
        shot(page, "quiz-round")
        page.locator(".st-key-quiz_pick_1 button").click()
        settle(page)
        revealed = wait_until(lambda: "The model:" in (t := main.inner_text()) and t, what="the model's answer")
        assert re.search(r"confidence \d+(\.\d)?%", revealed), revealed
        assert "Score after 1 round" in revealed, revealed
        page.locator(".st-key-quiz_chart .js-plotly-plot").wait_for()
        no_failure(page)
        shot(page, "quiz-revealed")

        # Draw your own: five different symbols and a query copying the circle (symbol 3), with the mouse.
        mode = page.locator("[data-testid=stButtonGroup] button", has_text="Draw your own")
        if mode.count():  # the lecture shows the quiz and the canvases one at a time
            mode.click()
            settle(page)
        wait_until(lambda: page.locator(CANVAS).count() == 6, what="six canvases")
        symbols = ["vertical", "horizontal", "circle", "cross", "diagonal", "circle"]
        for i, kind in enumerate(symbols):
            box = _canvas_box(page, i)
            for stroke in _symbol(kind, box):
                _stroke(page, stroke)
            settle(page)
        adapt = page.locator(".st-key-quiz_adapt button")
        wait_until(lambda: adapt.is_enabled(), what="“Adapt and predict” to be enabled once all six are drawn")
        adapt.click()
        settle(page)
        said = wait_until(lambda: PREDICTION.search(main.inner_text()), timeout=WAIT_S, what="the prediction")
        text = main.inner_text()
        assert re.search(r"confidence \d+(\.\d)?%", text), text
        page.locator(".st-key-quiz_draw_chart .js-plotly-plot").wait_for()
        no_failure(page)
        shot(page, "quiz-drawn")
        assert said.group(1) == "3", f"the query copies the circle (symbol 3); the model said {said.group(1)}"

        # Clear empties the canvases: the button is disabled again.
        page.locator(".st-key-quiz_clear button").click()
        settle(page)
        page.wait_for_selector(IDLE)
        wait_until(lambda: not adapt.is_enabled(), what="“Adapt and predict” to be disabled after Clear")
        assert not PREDICTION.search(main.inner_text())
    finally:
        ctx.close()
