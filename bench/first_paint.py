"""First usable paint of every page, cold and warm, beside a bare Streamlit page, in one run.

"Usable" = the page's script has finished and its first chart is drawn (for the bare page: the
script has finished and its button is drawn). Cold: the first request of a freshly started server
(a new Python process: imports, the first figures, every cache empty). Warm: a new tab (a new
browser session, no cache) on a server that has already served that page once. Tab: the page again in the
warm session's browser context, as a second tab of the same browser (its HTTP cache). Each page is opened as the
first page of its session, the way a shared link opens it. Printed as seconds and as ratios to
the bare page measured the same way in the same run (the target is ≤ 2×). "start" is how long the
server took from its command to answering its health check: the app does its imports there, before
its first request (leo_app/warmup.py), so that column says what moved where.

    .venv/bin/python bench/first_paint.py [--repeats 3] [--pages train,train-preset,adaptation,landscape,compare,theory]
        [--timeout 300]

A measurement that fails (the server does not come up, or the page is not usable within
``--timeout`` seconds) is reported with its page, cold or warm, and the server log's last lines;
the other measurements go on, and the medians use the runs that finished.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_server import CHROMIUM, CHROMIUM_ARGS, IDLE, start_server, stop_server  # noqa: E402

BARE_APP = '''import streamlit as st
st.title("Bare page")
st.slider("A slider", 0, 10, 5)
st.button("A button")
'''
PAGES = {"train": "", "train-preset": "?preset=maml-sinusoid", "adaptation": "adaptation", "landscape": "landscape",
         "compare": "compare", "theory": "theory"}
# What "usable" waits for beyond the finished script: the first chart, or the bare page's button. A chart is
# drawn when the app's chart component has drawn it (data-drawn): a plotly chart ("chart"), or, on Train before
# its first run, the message of a chart with no data yet, as text ("placeholder": that page's first view).
# Adaptation and Landscape wait for a plotly chart: Landscape's cosine sweep, at the bottom, is a placeholder
# until a reader scrolls to it, and must not count as its first picture. "train-preset" is Train opened by a
# lecture's preset link, whose first chart is the loaded run's loss curve. Compare draws no chart until two runs
# are collected (its first section is its usable state); Theory has none.
PLOTLY_CHART = ".leo-live-chart[data-drawn=chart]"
READY = {"bare": "button", "theory": "[data-testid=stMarkdownContainer]", "compare": "[data-testid=stMarkdownContainer]",
         "train-preset": PLOTLY_CHART, "adaptation": PLOTLY_CHART, "landscape": PLOTLY_CHART}
CHART = ".leo-live-chart[data-drawn]"


class PaintFailed(RuntimeError):
    """One measurement did not finish; the message says which page, cold or warm, and why."""


def _paint(ctx, url: str, ready: str, timeout_s: float) -> float:
    page = ctx.new_page()
    page.set_default_timeout(timeout_s * 1000)
    t0 = time.perf_counter()
    try:
        page.goto(url)
        page.wait_for_selector(ready)
        page.wait_for_selector(IDLE)
        return time.perf_counter() - t0
    finally:
        page.close()


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        return "\n    ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _measure(browser, log: Path, name: str, url_path: str, ready: str, timeout_s: float, *, cwd: Path | None = None,
             script: str = "app.py") -> tuple[float, float, float, float]:
    """Start, cold, warm and tab seconds of one page on a fresh server; ``PaintFailed`` names the page and the
    phase. Cold and warm each open the page in a new browser context (no cache: a new browser session); "tab"
    opens it again in the warm one's context, as a student's second tab in the same browser (its HTTP cache)."""
    kwargs = {"cwd": cwd, "script": script} if cwd else {}
    t0 = time.perf_counter()
    try:
        url, proc = start_server(log, timeout_s=timeout_s, **kwargs)
        start = time.perf_counter() - t0
    except RuntimeError as exc:
        raise PaintFailed(f"{name}: the server did not start ({exc})") from exc
    contexts, times = [], []
    try:
        for phase in ("cold", "warm", "tab"):
            if phase != "tab":
                contexts.append(browser.new_context(viewport={"width": 1440, "height": 900}))
            try:
                times.append(_paint(contexts[-1], f"{url}/{url_path}", ready, timeout_s))
            except Exception as exc:  # playwright's TimeoutError, a crashed page
                raise PaintFailed(f"{name} {phase}: {type(exc).__name__} after {timeout_s:g} s "
                                  f"({str(exc).splitlines()[0][:160]}); server log ends:\n    {_log_tail(log)}") from exc
    finally:
        for ctx in contexts:
            ctx.close()
        stop_server(proc)
    return start, times[0], times[1], times[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pages", default=",".join(PAGES))
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds one page may take to become usable (and the server to start); default 300")
    args = ap.parse_args()
    unknown = [n for n in args.pages.split(",") if n not in PAGES]
    if unknown:
        ap.error(f"unknown page(s) {', '.join(unknown)}; choose from {', '.join(PAGES)}")
    from playwright.sync_api import sync_playwright

    pages = args.pages.split(",")
    results: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in ["bare", *pages]}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        bare_dir = Path(tmp)
        (bare_dir / "bare.py").write_text(BARE_APP)
        log = bare_dir / "server.log"
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        failures: list[str] = []
        for rep in range(args.repeats):  # interleaved, so a burst of load hits every page alike
            for name in ["bare", *pages]:
                try:
                    if name == "bare":
                        got = _measure(browser, log, name, "", READY["bare"], args.timeout, cwd=bare_dir,
                                       script="bare.py")
                    else:
                        got = _measure(browser, log, name, PAGES[name], READY.get(name, CHART), args.timeout)
                except PaintFailed as exc:
                    failures.append(f"repeat {rep + 1}, {exc}")
                    print(f"FAILED repeat {rep + 1}, {exc}", file=sys.stderr, flush=True)
                    continue
                results[name].append(got)
                print(f"repeat {rep + 1} {name:<12} start {got[0]:5.2f} s  cold {got[1]:6.2f} s  warm {got[2]:6.2f} s  "
                      f"tab {got[3]:6.2f} s", flush=True)
        browser.close()
    if not results["bare"]:
        sys.exit("no measurement of the bare page finished: no ratios (see the failures above)")
    bare = [statistics.median(r[i] for r in results["bare"]) for i in range(4)]
    print(f"{'page':<12} {'start s':>8}" + "".join(f" {phase + ' s (median, range)':>24} {'× bare':>7}"
                                             for phase in ("cold", "warm", "tab")))
    for name, runs in results.items():
        if not runs:
            print(f"{name:<12} no measurement finished")
            continue
        columns = [[r[i] for r in runs] for i in range(4)]
        print(f"{name:<12} {statistics.median(columns[0]):8.2f}" + "".join(
            f" {statistics.median(c):11.2f} ({min(c):.2f}–{max(c):.2f}) {statistics.median(c) / bare[i]:7.2f}"
            for i, c in enumerate(columns[1:], start=1)))
    if failures:
        print(f"{len(failures)} measurement(s) failed:\n" + "\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
