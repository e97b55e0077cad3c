"""First usable paint of every page, cold and warm, beside a bare Streamlit page, in one run.

"Usable" = the page's script has finished and its first chart is drawn (for the bare page: the
script has finished and its button is drawn). Cold: the first request of a freshly started server
(a new Python process: imports, the first figures, every cache empty). Warm: a new tab (a new
browser session) on a server that has already served that page once. Each page is opened as the
first page of its session, the way a shared link opens it. Printed as seconds and as ratios to
the bare page measured the same way in the same run (the target is ≤ 2×).

    .venv/bin/python bench/first_paint.py [--repeats 3] [--pages train,adaptation,landscape,compare,theory]
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
PAGES = {"train": "", "adaptation": "adaptation", "landscape": "landscape", "compare": "compare", "theory": "theory"}
# What "usable" waits for beyond the finished script: the first chart, or the bare page's button.
READY = {"bare": "button", "theory": "[data-testid=stMarkdownContainer]"}
CHART = ".js-plotly-plot .main-svg"


def _paint(browser, url: str, ready: str, timeout_s: float = 120) -> float:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(timeout_s * 1000)
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(ready)
    page.wait_for_selector(IDLE)
    seconds = time.perf_counter() - t0
    ctx.close()
    return seconds


def _measure(browser, log: Path, url_path: str, ready: str, *, cwd: Path | None = None, script: str = "app.py"
             ) -> tuple[float, float]:
    kwargs = {"cwd": cwd, "script": script} if cwd else {}
    url, proc = start_server(log, **kwargs)
    try:
        cold = _paint(browser, f"{url}/{url_path}", ready)
        warm = _paint(browser, f"{url}/{url_path}", ready)
    finally:
        stop_server(proc)
    return cold, warm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pages", default=",".join(PAGES))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    pages = args.pages.split(",")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in ["bare", *pages]}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        bare_dir = Path(tmp)
        (bare_dir / "bare.py").write_text(BARE_APP)
        log = bare_dir / "server.log"
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(args.repeats):  # interleaved, so a burst of load hits every page alike
            results["bare"].append(_measure(browser, log, "", READY["bare"], cwd=bare_dir, script="bare.py"))
            for name in pages:
                results[name].append(_measure(browser, log, PAGES[name], READY.get(name, CHART)))
        browser.close()
    bare_cold = statistics.median(c for c, _ in results["bare"])
    bare_warm = statistics.median(w for _, w in results["bare"])
    print(f"{'page':<11} {'cold s (median, range)':>26} {'× bare':>7} {'warm s (median, range)':>26} {'× bare':>7}")
    for name, runs in results.items():
        cold, warm = [c for c, _ in runs], [w for _, w in runs]
        print(f"{name:<11} {statistics.median(cold):9.2f} ({min(cold):.2f}–{max(cold):.2f}) "
              f"{statistics.median(cold) / bare_cold:13.2f} {statistics.median(warm):9.2f} "
              f"({min(warm):.2f}–{max(warm):.2f}) {statistics.median(warm) / bare_warm:13.2f}")


if __name__ == "__main__":
    main()
