"""The real app in Debian Chromium through Playwright: live training, settings mid-run, pages,
checkpoints, isolation between browser sessions, and a closed tab stopping its thread.

Screenshots go to ``test-artifacts/`` (gitignored). Nothing here is timed: the chart refresh rate and in-app
throughput are measured by ``bench/app_throughput.py``, how fast a closed tab's thread ends by ``bench/close_latency.py``.
"""

from __future__ import annotations

import time

from browser_helpers import (
    BROWSER_TESTS, LONG_RUN, alert_seen, last_iteration_on_chart, no_exception, open_app, run_settings, set_number, settle, shot,
    status, training_threads, wait_for_curve, wait_until,
)

pytestmark = BROWSER_TESTS


# -- tests ----------------------------------------------------------------------------------------------


def test_live_training_settings_pages_and_checkpoints(server, browser, tmp_path):
    url, _ = server
    ctx, page = open_app(browser, url)
    try:
        # Before the first run both panels show their message as text: no plotly chart yet.
        loss = page.locator(".st-key-loss_chart .leo-live-chart[data-drawn=placeholder]")
        loss.wait_for()
        assert "Press Start to meta-train" in loss.inner_text()
        assert page.locator(".st-key-preview_chart .leo-live-chart[data-drawn=placeholder]").count() == 1
        assert page.locator(".js-plotly-plot").count() == 0
        shot(page, "01-train-idle")
        no_exception(page)
        set_number(page, "Iterations", LONG_RUN)
        page.get_by_role("button", name="Start").click()
        wait_for_curve(page)
        # the same div now holds the plotly chart, its message gone
        page.locator(".st-key-loss_chart .leo-live-chart[data-drawn=chart]").wait_for()
        assert page.locator(".st-key-loss_chart .leo-placeholder").count() == 0
        first = last_iteration_on_chart(page)
        second = wait_for_curve(page, first + 1)  # the live view refreshes while training
        wait_for_curve(page, second + 1)
        shot(page, "02-train-running")

        # Move a slider mid-run: the widget changes, the run keeps its own settings and goes on.
        alpha = page.locator("[data-testid=stSlider]", has_text="Inner step size α")
        thumb = alpha.locator("input[type=range]")
        thumb.focus()
        thumb.press("ArrowRight")
        wait_until(lambda: "0.02" in alpha.inner_text(), what="the slider to show α = 0.02")
        before = last_iteration_on_chart(page)
        wait_for_curve(page, before + 1, what="the run to go on after a slider moved")
        assert status(page).startswith("Training") and "α = 0.01 ·" in run_settings(page)
        no_exception(page)

        page.get_by_role("button", name="Stop").click()
        page.get_by_text("Stopped.", exact=False).first.wait_for()
        settle(page)
        stopped_at = last_iteration_on_chart(page)
        time.sleep(1.0)  # not a wait: the curve must not grow meanwhile
        assert last_iteration_on_chart(page) == stopped_at
        shot(page, "03-train-stopped")

        # Checkpoints: download, a bad upload is an error, the downloaded one loads back.
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download checkpoint (.pt)").click()
        ckpt = tmp_path / "run.pt"
        dl.value.save_as(ckpt)
        assert ckpt.stat().st_size > 1000
        uploader = page.locator("[data-testid=stFileUploaderDropzoneInput]")
        uploader.set_input_files(files=[{"name": "bad.pt", "mimeType": "application/octet-stream",
                                         "buffer": b"not a checkpoint"}])
        alert_seen(page, "Cannot load bad.pt")
        settle(page)  # that upload's rerun has finished before the next file goes in
        no_exception(page)
        uploader.set_input_files(str(ckpt))
        alert_seen(page, "Loaded run.pt")
        settle(page)
        assert status(page).startswith("Checkpoint loaded")
        shot(page, "04-train-loaded")

        page.get_by_role("link", name="Theory").click()
        page.get_by_role("heading", name="A note on the name “LEO”").wait_for()
        settle(page)
        no_exception(page)
        assert "Latent Embedding Optimization" in page.inner_text("[data-testid=stMain]")
        shot(page, "05-theory")

        page.get_by_role("link", name="Train").click()
        page.get_by_role("button", name="Start").wait_for()
        settle(page)
        no_exception(page)
        assert page.get_by_role("spinbutton", name="Iterations").input_value() == LONG_RUN  # kept across pages
    finally:
        ctx.close()


def test_two_sessions_train_in_isolation(server, browser):
    url, _ = server
    ctx_a, a = open_app(browser, url)
    ctx_b, b = open_app(browser, url)
    try:
        set_number(a, "Iterations", LONG_RUN)
        a.get_by_role("button", name="Start").click()
        wait_for_curve(a, 5)
        # B sees nothing of A's run.
        settle(b)
        assert b.get_by_text("Ready — press Start.").count() == 1
        assert last_iteration_on_chart(b) == -1
        # B trains its own short run with other settings while A goes on.
        set_number(b, "Iterations", "40")
        set_number(b, "Seed", "7")
        b.get_by_role("button", name="Start").click()
        b.get_by_text("Finished.", exact=False).first.wait_for()
        settle(b)
        assert last_iteration_on_chart(b) == 40
        assert status(a).startswith("Training") and "seed 0" in run_settings(a)
        assert "seed 7" in run_settings(b)
        shot(a, "06-session-a")
        shot(b, "07-session-b")
        a.get_by_role("button", name="Stop").click()
        a.get_by_text("Stopped.", exact=False).first.wait_for()
        no_exception(a)
        no_exception(b)
    finally:
        ctx_a.close()
        ctx_b.close()


def test_closing_the_tab_stops_its_training_thread(server, browser):
    url, proc = server
    wait_until(lambda: training_threads(proc.pid) == 0, what="earlier tests' training threads to end")
    ctx, page = open_app(browser, url)
    set_number(page, "Iterations", LONG_RUN)
    page.get_by_role("button", name="Start").click()
    wait_for_curve(page, 5)
    assert training_threads(proc.pid) == 1
    ctx.close()
    # The websocket closes, the session's runner is closed and its thread ends (the README promises 2 s;
    # bench/close_latency.py --browser measures it, here only a generous bound).
    wait_until(lambda: training_threads(proc.pid) == 0, what="the closed tab's training thread to end")
