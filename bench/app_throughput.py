"""In-app training throughput vs the CLI's, and chart refreshes per second (run by hand).

Runs, back to back on this machine: the CLI (``python -m leo_core train``), then the same
settings in the real app (Streamlit server + Debian Chromium via Playwright) with the Train page
open and its live view polling, then the CLI again. In-app it/s is the average over the whole run
(from the downloaded metrics CSV: last iteration / training seconds).

    python bench/app_throughput.py --iterations 3000
    python bench/app_throughput.py --iterations 1000 --family points2d --alpha 0.5   # classification's live view
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from app_server import CHROMIUM, CHROMIUM_ARGS, IDLE, LOSS_CHART, REFRESHES_JS, ROOT, start_server, stop_server

PY = sys.executable
FIRST_POINT_JS = """() => {
    const g = document.querySelector('%s');
    return g && g.data && g.data.length > 1 && g.data[1].x.length > 0;
}""" % LOSS_CHART


def cli_rate(iterations: int, out: Path, family: str | None = None, alpha: float | None = None) -> float:
    extra = (["--family", family] if family else []) + (["--alpha", str(alpha)] if alpha is not None else [])
    proc = subprocess.run([PY, "-m", "leo_core", "train", "--iterations", str(iterations), "--out", str(out), *extra],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    m = re.search(r"trained (\d+) iterations in ([\d.]+)s", proc.stderr)
    return int(m[1]) / float(m[2])


def app_run(iterations: int, chromium: str, family: str | None = None, alpha: float | None = None) -> dict:
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    url, server = start_server(artifacts / "app-throughput-server.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            query = "&".join(f"{k}={v}" for k, v in (("family", family), ("alpha", alpha)) if v is not None)
            page.goto(f"{url}/?{query}" if query else url)
            page.wait_for_selector(IDLE)
            box = page.get_by_role("spinbutton", name="Iterations")
            box.fill(str(iterations))
            box.press("Enter")
            time.sleep(0.5)
            page.wait_for_selector(IDLE)
            page.get_by_role("button", name="Start").click()
            page.wait_for_function(FIRST_POINT_JS)  # sample refreshes only once the curve exists
            refreshes = []
            while page.get_by_text("Finished.").count() == 0:
                n = page.evaluate(REFRESHES_JS, 2000)
                refreshes.append(max(n - 1, 0) / 2.0)
            page.wait_for_selector(IDLE)
            with page.expect_download() as dl:
                page.get_by_role("button", name="Download metrics (.csv)").click()
            rows = list(csv.DictReader(open(dl.value.path())))
            browser.close()
        return {"app_its_per_s": int(rows[-1]["iteration"]) / float(rows[-1]["elapsed"]),
                "refreshes_per_s": refreshes}
    finally:
        stop_server(server)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--chromium", default=CHROMIUM)
    p.add_argument("--family", help="task family (default: the app's), e.g. points2d")
    p.add_argument("--alpha", type=float, help="inner step size (default: the family's recommended one)")
    args = p.parse_args()
    out = Path("/tmp/leo-app-throughput")
    before = cli_rate(args.iterations, out, args.family, args.alpha)
    app = app_run(args.iterations, args.chromium, args.family, args.alpha)
    after = cli_rate(args.iterations, out, args.family, args.alpha)
    cli = (before + after) / 2
    r = app["refreshes_per_s"]
    busy = r[:-1] if len(r) > 1 else r  # the last window straddles the end of the run
    print(json.dumps({"cli_its_per_s": [round(before), round(after)], "app_its_per_s": round(app["app_its_per_s"]),
                      "app_fraction_of_cli": round(app["app_its_per_s"] / cli, 3),
                      "refreshes_per_s_min": min(busy), "refreshes_per_s_mean": round(sum(busy) / len(busy), 2),
                      "refreshes_per_s_windows": r}))


if __name__ == "__main__":
    main()
