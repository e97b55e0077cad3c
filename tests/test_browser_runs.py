"""In Chromium: runs that are never lost. A preset's run continued, then the page reloaded: the run is
back and trains on; the server stopped and started again: the same address brings the run back, ready to
continue; the address bar's link opened in a fresh browser trains with the preset's settings; a CLI run
under the runs root shows in the runs list with its curve."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from browser_helpers import (
    ARTIFACTS, BROWSER_TESTS, IDLE, last_iteration_on_chart, no_failure, run_settings, settle, shot, start_server,
    status, stop_server, wait_for_curve, wait_until,
)
from leo_app.presets import PRESETS
from leo_core import cli

pytestmark = BROWSER_TESTS


def _open(browser, address: str):
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    page.goto(address)
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Start").wait_for()
    return ctx, page


def _run_param(page) -> str:
    return wait_until(lambda: (parse_qs(urlsplit(page.url).query).get("run") or [None])[0],
                      what="the run's id in the address bar")


def test_a_run_survives_reload_and_restart_and_links_reproduce_the_preset(browser, tmp_path):
    root = tmp_path / "runs"
    assert cli.main(["train", "--family", "linear", "--iterations", "15", "--quiet", "--out", str(root / "cli-demo")]) == 0
    env = {"LEO_RUNS_DIR": str(root)}
    url, proc = start_server(ARTIFACTS / "streamlit-runs-1.log", env)
    try:
        ctx, page = _open(browser, f"{url}/?preset=maml-sinusoid")
        wait_until(lambda: status(page).startswith("Checkpoint loaded"), what="the preset's checkpoint")
        loaded_run = _run_param(page)
        link = page.url  # the address bar: the share link
        page.get_by_role("button", name="Continue").click()
        start = PRESETS["maml-sinusoid"].checkpoint_iterations
        wait_for_curve(page, start + 50, what="training to go on from the preset")
        assert _run_param(page) == loaded_run  # Continue trains the same run
        before = last_iteration_on_chart(page)
        page.reload()
        page.wait_for_selector(IDLE)
        wait_until(lambda: status(page).startswith("Training"), what="the reloaded run to train on")
        back = wait_for_curve(page, before, what="the run back with at least as many iterations")
        wait_for_curve(page, back + 20, what="the reloaded run to continue")
        shot(page, "runs-01-after-reload")
        no_failure(page)

        # The link taken after loading the preset, in a fresh browser: Start trains the preset's α, β and k.
        fresh, other = _open(browser, link)
        other.get_by_role("button", name="Start").click()
        wait_until(lambda: status(other).startswith("Training"), what="the fresh context to train")
        settings = run_settings(other)
        assert re.search(r"α = 0\.01 · β = 0\.001 \(adam\) · k = 1 ·", settings), settings
        other.get_by_role("button", name="Stop").click()
        fresh.close()

        # The CLI run is in the runs list, and its curve can be drawn.
        page.get_by_role("button", name="Stop").click()
        wait_until(lambda: status(page).startswith("Stopped"), what="the run to stop")
        stopped_at = last_iteration_on_chart(page)
        shown = page.locator(".st-key-runs_shown")
        shown.scroll_into_view_if_needed()
        shown.locator("label").first.click()  # the list is drawn on request
        settle(page)
        listed = page.locator("[data-testid=stMarkdownContainer] td", has_text="cli-demo").first
        listed.scroll_into_view_if_needed()  # the runs list names the command-line run
        wait_until(lambda: "cli-demo" in page.inner_text(".st-key-runs_compare") or _choose_cli_run(page),
                   what="the CLI run chosen for comparison")
        curve = page.locator(".st-key-runs_chart .js-plotly-plot")
        curve.scroll_into_view_if_needed()
        names = wait_until(lambda: page.evaluate("""() => {
            const g = document.querySelector('.st-key-runs_chart .js-plotly-plot');
            return g && g.data && g.data.map(t => t.name + ':' + t.x.length).join(',');
        }"""), what="the runs chart")
        assert re.search(r"cli-demo:(\d+)", names) and int(re.search(r"cli-demo:(\d+)", names)[1]) >= 2, names
        shot(page, "runs-02-list")
        address = urlsplit(page.url)
        ctx.close()
    finally:
        stop_server(proc)

    # A restarted server: the same address brings the run back, stopped at its last save, ready to continue.
    url2, proc2 = start_server(ARTIFACTS / "streamlit-runs-2.log", env)
    try:
        ctx, page = _open(browser, f"{url2}{address.path}?{address.query}")
        wait_until(lambda: status(page).startswith("Checkpoint loaded"), what="the run back after a restart")
        assert wait_for_curve(page, stopped_at) >= stopped_at
        page.get_by_role("button", name="Continue").click()
        wait_for_curve(page, stopped_at + 20, what="the run to continue after a restart")
        no_failure(page)
        ctx.close()
    finally:
        stop_server(proc2)


def _choose_cli_run(page) -> bool:
    box = page.locator(".st-key-runs_compare input")
    box.click()
    box.fill("cli-demo")
    box.press("Enter")
    settle(page)
    return False
