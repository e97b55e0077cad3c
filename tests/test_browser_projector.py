"""The projector check, in Chromium: every page in each state a lecturer shows, at 1440×900 and in presentation
mode at 1920×1080. The main picture is wholly above the fold, no button, label or value is cut (its text fits
its box), and every log axis is labelled with its values. A failure names the page, the state, the size and the
element. Screenshots of every state go to test-artifacts/projector-*.png.
"""

from __future__ import annotations

import pytest

from browser_helpers import BROWSER_TESTS, IDLE, open_page, shot, wait_until

pytestmark = BROWSER_TESTS

SIZES = {"1440x900": ({"width": 1440, "height": 900}, ""),
         "present-1920x1080": ({"width": 1920, "height": 1080}, "&present=1")}


def _train_training(page) -> None:
    page.get_by_role("button", name="Continue").click()
    wait_until(lambda: page.get_by_text("Training…").count() > 0, what="training to run")


def _race(page) -> None:
    page.get_by_role("button", name="Start the race (2 entries)").click()
    page.locator(".st-key-race_chart .js-plotly-plot").wait_for()


def _raced(page) -> None:
    _race(page)
    page.locator(".st-key-race_eval_chart").wait_for(timeout=300_000)  # drawn when it comes into view


# state: (path and query, what to do once the page is idle, the main picture's key or None for a text page)
STATES = {
    "train-preset": ("/?preset=maml-sinusoid", None, "loss_chart"),
    "train-training": ("/?preset=maml-sinusoid", _train_training, "loss_chart"),
    "train-omniglot": ("/?preset=maml-omniglot", None, "preview_chart"),
    "adaptation": ("/adaptation?preset=maml-sinusoid", None, "fit_anim"),
    "adaptation-digits": ("/adaptation?adapt_family=digits", None, "digit_preds"),
    "landscape-linear": ("/landscape?preset=document-linear", None, "linear_landscape"),
    "landscape-network": ("/landscape?preset=maml-sinusoid", None, "slice_contour"),
    "compare-racing": ("/compare?race=leo,reptile&race_family=linear&race_iterations=20000", _race, "race_chart"),
    "compare-raced": ("/compare?race=leo,pretrained&race_family=linear&race_iterations=60", _raced, "race_chart"),
    "theory": ("/theory?", None, None),
}
# The Lecture: every chapter (its picture's key; the quiz's characters are images, checked in
# tests/test_browser_lecture.py), and three in Chinese.
LECTURE = {1: None, 2: "lecture_linear", 3: "loss_chart", 4: "lecture_objective", 5: "lecture_order",
           6: "lecture_measured_race", 7: "lecture_baseline", 8: "lecture_omniglot"}
STATES.update({f"lecture-{n}": (f"/lecture?ch={n}", None, key) for n, key in LECTURE.items()})
STATES.update({f"lecture-{n}-zh": (f"/lecture?ch={n}&lang=zh", None, LECTURE[n]) for n in (1, 3, 6)})
# Chinese words are wider than their English labels: the pages a lecture shows most, in Chinese too.
STATES.update({f"{state}-zh": (f"{STATES[state][0]}&lang=zh", *STATES[state][1:])
               for state in ("train-preset", "adaptation", "landscape-linear", "theory")})

# Text that does not fit its box: Streamlit cuts it with an ellipsis (or it overflows, clipped by a parent).
CUT_JS = """() => {
  const sel = ['[data-testid=stMain] button', '[data-testid=stSidebar] button', '[data-testid=stWidgetLabel] p',
               '[data-testid=stMetricLabel] p', '[data-testid=stMetricValue] div', '[data-baseweb=select] [title]',
               '[data-baseweb=select] > div > div:first-child', '[data-testid=stTab] p',
               '[data-testid=stButtonGroup]'];
  const out = [];
  for (const s of sel) for (const e of document.querySelectorAll(s)) {
    const r = e.getBoundingClientRect();
    if (!r.width || !e.innerText || !e.innerText.trim()) continue;
    const cut = [e, ...e.querySelectorAll('*')].some(d => d.scrollWidth > d.clientWidth + 1 && getComputedStyle(d).overflow !== 'visible');
    if (cut) out.push(s + ' "' + e.innerText.trim().slice(0, 60) + '"');
  }
  return [...new Set(out)];
}"""

# Every drawn log axis without tick labels of its own (plotly would write bare mantissas: "2 5 1 2").
LOG_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(g => Object.entries(g.layout || {})
  .filter(([k, a]) => /^[xy]axis\\d*$/.test(k) && a && a.type === 'log' && !(a.ticktext && a.ticktext.length))
  .map(([k]) => (g.closest('[class*=st-key-]')?.className.match(/st-key-([\\w-]+)/) || [, '?'])[1] + '.' + k))"""


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("state", list(STATES))
def test_every_page_is_whole_and_readable_on_a_projector(server, browser, state, size):
    url, _ = server
    path, act, key = STATES[state]
    viewport, extra = SIZES[size]
    where = f"{state} at {size}"
    ctx, page = open_page(browser, f"{url}{path}{extra}", viewport)
    try:
        if act is not None:
            act(page)
        if key is not None:
            chart = page.locator(f".st-key-{key} .js-plotly-plot .main-svg").first
            chart.wait_for()
        page.wait_for_selector(IDLE)
        page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
        if key is not None:
            box = page.locator(f".st-key-{key} .js-plotly-plot").first.bounding_box()
            assert box and box["height"] > 150, f"{where}: the main picture {key} is not drawn"
            assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 1, (
                f"{where}: the main picture {key} spans y {box['y']:.0f}–{box['y'] + box['height']:.0f}, "
                f"the fold is at {viewport['height']}")
        cut = page.evaluate(CUT_JS)
        assert not cut, f"{where}: text cut off: {cut}"
        unlabelled = page.evaluate(LOG_JS)
        assert not unlabelled, f"{where}: log axes without their values as tick labels: {unlabelled}"
        assert page.locator("[data-testid=stException]").count() == 0, f"{where}: a traceback"
        shot(page, f"projector-{state}-{size}")
    finally:
        ctx.close()
