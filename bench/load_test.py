"""Load test: N browser sessions (Playwright contexts in one Chromium) train at once on one server.

    .venv/bin/python bench/load_test.py [--sessions 10] [--iterations 400] [--max-jobs 4] [--browser-nice 19]
                                       [--url URL --pid PID] [--race leo,reptile,pretrained]

``--race KEYS``: every session opens the Compare page with ``?race=KEYS`` (its own ``race_seed``) and
presses the race button instead of Train's Start; a race of any size takes one job slot. The page
switch goes Compare → Adaptation → Compare while the races run; isolation: every session shows its
own seed and finishes its own race; the server's ``leo-race`` threads are counted while racing and
after the tabs close.

``--browser-nice 19`` runs the browser at the lowest CPU priority: in a lecture every student's
browser runs on their own laptop, while here ten tabs share the server's two cores.

Each session opens the app with its own seed in the link (``?iterations=…&seed=…``), presses
Start, then the script checks that every session shows only its own run (its seed, its progress),
times a page switch in every session while the runs train (click in the sidebar → the new page's
title shown and the script idle; and, from the page's websocket, the server's part: rerun asked →
``script_finished``), and samples the server's resident memory (/proc/PID/status) the
whole time. Prints one JSON object with the figures. Without ``--url`` it starts its own server
(``LEO_MAX_JOBS`` = ``--max-jobs``), so runs beyond the limit show "Queued" first.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

from app_server import CHROMIUM, CHROMIUM_ARGS, IDLE, ROOT, RUN_CAPTION, RUN_SETTINGS, start_server, stop_server

VIEWPORT = {"width": 1280, "height": 900}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class MemorySampler:
    """Samples a process's RSS every ``period`` seconds in a background thread."""

    def __init__(self, pid: int, period: float = 0.25):
        self.pid, self.period, self.samples = pid, period, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(rss_mb(self.pid))
            except OSError:
                return
            self._stop.wait(self.period)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class ScriptTimes:
    """Watches one page's Streamlit websocket: when full (not fragment) reruns were asked and answered.

    A page switch sends a ``rerun_script`` BackMsg without a fragment id; the server answers with
    the new page's deltas and then ``script_finished``. The time between the two is the server's
    answer time, apart from the browser's own rendering (which competes for this machine's two
    cores with nine other tabs here, while in a lecture every student's browser has its own).
    """

    def __init__(self, page):
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._back, self._forward = BackMsg, ForwardMsg
        self.asked: list[float] = []
        self.answered: list[float] = []
        page.on("websocket", self._watch)

    def _watch(self, ws) -> None:
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        if isinstance(payload, str):
            return
        msg = self._back()
        msg.ParseFromString(payload)
        if msg.WhichOneof("type") == "rerun_script" and not msg.rerun_script.fragment_id:
            self.asked.append(time.monotonic())

    def _received(self, payload) -> None:
        if isinstance(payload, str):
            return
        msg = self._forward()
        msg.ParseFromString(payload)
        if msg.WhichOneof("type") == "script_finished":
            self.answered.append(time.monotonic())

    def answer_after(self, t0: float) -> float | None:
        """Seconds from the first full rerun asked after ``t0`` to the next script_finished."""
        asked = next((t for t in self.asked if t >= t0), None)
        done = next((t for t in self.answered if asked is not None and t >= asked), None)
        return None if done is None else done - asked


def _switch(page, title: str, times: ScriptTimes | None = None) -> tuple[float, float | None]:
    """Seconds from a click on a sidebar page link to that page shown with its script idle, and the
    server's part of it (rerun asked → script finished; None without ``times``)."""
    t0 = time.monotonic()
    page.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
    page.locator("h1", has_text=title).first.wait_for()
    page.wait_for_selector(IDLE)
    return time.monotonic() - t0, times.answer_after(t0) if times else None


def _shows_own_run(page, seed: int, iterations: int, settle_s: float = 30) -> tuple[bool, str]:
    """Whether the finished page shows its own run (its seed in the run's caption, all its iterations), and what it
    showed. "Finished." may show before the rerun that draws the rest has ended, so it looks again for up to
    ``settle_s`` seconds (another session's run shown would stay wrong, so this hides no isolation bug)."""
    deadline = time.monotonic() + settle_s
    while True:
        caption = page.locator(RUN_CAPTION, has_text=RUN_SETTINGS).first.inner_text()
        progress = page.get_by_text(f"iteration {iterations:,} of {iterations:,}").count()
        if (f"seed {seed}" in caption and progress == 1) or time.monotonic() > deadline:
            return f"seed {seed}" in caption and progress == 1, f"{caption!r}, progress lines: {progress}"
        time.sleep(0.2)


def _summary(values: list[float]) -> dict:
    return {"max": round(max(values), 3), "mean": round(sum(values) / len(values), 3), "n": len(values),
            "under_2s": sum(v < 2 for v in values), "all": [round(v, 2) for v in values]}


def run_load(browser, url: str, pid: int, sessions: int, iterations: int, timeout_s: float = 300) -> dict:
    """Drive ``sessions`` contexts of ``browser`` against the server at ``url``; return the figures."""
    pages, contexts, watches = [], [], []
    with MemorySampler(pid) as mem:
        rss_start = rss_mb(pid)
        try:
            for i in range(sessions):
                ctx = browser.new_context(viewport=VIEWPORT)
                page = ctx.new_page()
                page.set_default_timeout(60_000)
                watches.append(ScriptTimes(page))
                page.goto(f"{url}/?iterations={iterations}&seed={i + 1}&meta_batch=10")
                page.wait_for_selector(IDLE)
                page.get_by_role("button", name="Start").wait_for()
                contexts.append(ctx)
                pages.append(page)
            # The first visit to a page imports its modules in the server: a one-time cost, timed apart.
            cold_s = [_switch(pages[0], "Adaptation")[0], _switch(pages[0], "Train")[0]]
            rss_loaded = rss_mb(pid)
            t_start = time.monotonic()
            for page in pages:
                page.get_by_role("button", name="Start").click()
            time.sleep(1.0)
            queued_seen = sum(page.get_by_text("Queued — waiting", exact=False).count() > 0 for page in pages)
            # A page switch in every session while the runs train (or wait).
            switch_s, server_s = [], []
            for page, times in zip(pages, watches):
                for title in ("Adaptation", "Train"):
                    shown, answered = _switch(page, title, times)
                    switch_s.append(shown)
                    if answered is not None:
                        server_s.append(answered)
            isolation_ok, isolation_seen = True, []
            finished_s = []
            for i, page in enumerate(pages):
                page.get_by_text("Finished.", exact=False).first.wait_for(timeout=timeout_s * 1000)
                finished_s.append(time.monotonic() - t_start)
                ok, seen = _shows_own_run(page, i + 1, iterations)
                isolation_ok &= ok
                isolation_seen.append(seen)
            exceptions = sum(page.locator("[data-testid=stException]").count() for page in pages)
        finally:
            for ctx in contexts:
                ctx.close()
        time.sleep(3.0)
        rss_end = rss_mb(pid)
    return {
        "sessions": sessions, "iterations_each": iterations,
        "queued_1s_after_start": queued_seen,
        "first_visit_switch_s": [round(t, 3) for t in cold_s],
        "isolation_ok": bool(isolation_ok), "exceptions": exceptions,
        "isolation_seen": None if isolation_ok else isolation_seen,  # what each page showed, when one was wrong
        "page_switch_s": _summary(switch_s),  # click → new page shown in the browser, script idle
        "server_answer_s": _summary(server_s) if server_s else None,  # rerun asked → script finished (websocket)
        "all_finished_after_s": round(max(finished_s), 1),
        "rss_mb": {"bare_server": round(rss_start, 1), "one_session_loaded": round(rss_loaded, 1), "peak": round(max(mem.samples), 1), "end_after_close": round(rss_end, 1)},
    }


def _shared_caption(page) -> str:
    """The race's "Shared: … seed N" caption (read from the DOM: it sits in a collapsed expander)."""
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid=stCaptionContainer]')]
        .map(c => c.textContent).find(t => t.includes('Shared:')) || ''""")


def _race_threads(pid: int) -> int:
    import glob

    n = 0
    for path in glob.glob(f"/proc/{pid}/task/*/comm"):
        try:
            n += Path(path).read_text().strip() == "leo-race"
        except OSError:
            pass
    return n


def run_race_load(browser, url: str, pid: int, sessions: int, iterations: int, entries: str,
                  timeout_s: float = 600) -> dict:
    """Like ``run_load``, each session racing ``entries`` on the Compare page."""
    pages, contexts, watches = [], [], []
    with MemorySampler(pid) as mem:
        rss_start = rss_mb(pid)
        try:
            for i in range(sessions):
                ctx = browser.new_context(viewport=VIEWPORT)
                page = ctx.new_page()
                page.set_default_timeout(120_000)
                watches.append(ScriptTimes(page))
                page.goto(f"{url}/compare?race={entries}&race_iterations={iterations}&race_seed={i + 1}"
                          "&race_meta_batch=10", wait_until="commit")
                page.wait_for_selector(IDLE)
                page.get_by_role("button", name="Start the race").wait_for()
                contexts.append(ctx)
                pages.append(page)
            cold_s = [_switch(pages[0], "Adaptation")[0], _switch(pages[0], "Compare")[0]]
            rss_loaded = rss_mb(pid)
            t_start = time.monotonic()
            for page in pages:
                page.get_by_role("button", name="Start the race").click()
            # Each click's script run starts its race; on a busy server that takes a while, so sample for a few
            # seconds and keep the most seen (a single look 1 s after the clicks read 0 before the races began).
            queued_seen = threads_racing = 0
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                threads_racing = max(threads_racing, _race_threads(pid))
                queued_seen = max(queued_seen, sum(page.get_by_text("Queued — waiting", exact=False).count() > 0
                                                   for page in pages))
                time.sleep(0.25)
            switch_s, server_s = [], []
            for page, times in zip(pages, watches):
                for title in ("Adaptation", "Compare"):
                    shown, answered = _switch(page, title, times)
                    switch_s.append(shown)
                    if answered is not None:
                        server_s.append(answered)
            isolation_ok = True
            finished_s = []
            n_entries = len([e for e in entries.split(",") if e])
            for i, page in enumerate(pages):
                page.get_by_text(f"iteration {iterations:,} of {iterations:,}").first.wait_for(timeout=timeout_s * 1000)
                page.get_by_text("Finished.", exact=True).first.wait_for(timeout=timeout_s * 1000)
                finished_s.append(time.monotonic() - t_start)
                page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=timeout_s * 1000)  # the evaluation
                isolation_ok &= f"seed {i + 1} " in _shared_caption(page)
            exceptions = sum(page.locator("[data-testid=stException]").count() for page in pages)
        finally:
            for ctx in contexts:
                ctx.close()
        time.sleep(3.0)
        rss_end = rss_mb(pid)
        threads_after_close = _race_threads(pid)
    return {
        "sessions": sessions, "race": entries, "entries_each": n_entries, "iterations_each": iterations,
        "queued_seen_5s_after_start": queued_seen, "race_threads_seen_5s_after_start": threads_racing,
        "race_threads_3s_after_close": threads_after_close,
        "first_visit_switch_s": [round(t, 3) for t in cold_s],
        "isolation_ok": bool(isolation_ok), "exceptions": exceptions,
        "page_switch_s": _summary(switch_s),
        "server_answer_s": _summary(server_s) if server_s else None,
        "all_finished_after_s": round(max(finished_s), 1),
        "rss_mb": {"bare_server": round(rss_start, 1), "one_session_loaded": round(rss_loaded, 1),
                   "peak": round(max(mem.samples), 1), "end_after_close": round(rss_end, 1)},
    }


def _niced(executable: str, nice: int, folder: Path) -> str:
    """``executable``, or a wrapper script in ``folder`` that runs it at niceness ``nice``.

    Playwright starts the browser in a session of its own, and Linux's autogroup scheduling shares the
    CPU between sessions before niceness counts within one, so the wrapper lowers the session's
    priority too (/proc/self/autogroup); plain ``nice`` alone changed nothing measurable."""
    if not nice:
        return executable
    wrapper = folder / f"chromium-nice{nice}"
    wrapper.write_text(f'#!/bin/sh\necho {nice} > /proc/self/autogroup 2>/dev/null\n'
                       f'exec nice -n {nice} {executable} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--max-jobs", type=int, default=4)
    parser.add_argument("--url", help="an already running server (then --pid is its process id)")
    parser.add_argument("--pid", type=int)
    parser.add_argument("--browser-nice", type=int, default=0,
                        help="run Chromium at this niceness: stands in for browsers on the students' own machines, "
                             "so the ten tabs do not take the server's CPU (0: same priority as the server)")
    parser.add_argument("--race", metavar="KEYS", help="sessions race these algorithms (comma-separated) on the "
                                                       "Compare page instead of training on Train")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    proc = None
    if args.url:
        url, pid = args.url, args.pid
    else:
        url, proc = start_server(artifacts / "load-test-server.log", {"LEO_MAX_JOBS": str(args.max_jobs)})
        pid = proc.pid
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_niced(CHROMIUM, args.browser_nice, artifacts),
                                        args=CHROMIUM_ARGS)
            try:
                if args.race:
                    result = run_race_load(browser, url, pid, args.sessions, args.iterations, args.race)
                else:
                    result = run_load(browser, url, pid, args.sessions, args.iterations)
            finally:
                browser.close()
        result["max_jobs"] = args.max_jobs if proc else None
        result["browser_nice"] = args.browser_nice
        print(json.dumps(result, indent=2))
    finally:
        if proc is not None:
            stop_server(proc)


if __name__ == "__main__":
    main()
