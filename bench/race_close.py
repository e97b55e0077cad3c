"""How fast a closed session stops its race and jobs (the issue asks for every thread within 2 s).

    .venv/bin/python bench/race_close.py [--repeats 5] [--no-browser]

1. In process: a ``SessionJobs`` with a race of three entries, a baseline job and a sweep job, all
   training; ``close()`` timed until every one of their threads has ended.
2. In the real app (unless ``--no-browser``): open ``/compare?race=leo,reptile,pretrained``, press the
   race button, wait for the race to train, close the browser context, and time until the server has
   no thread named ``leo-race``/``leo-job-*`` left (``/proc/PID/task/*/comm``, polled every 10 ms).
   This includes the websocket closing and Streamlit releasing the session's resources.

Prints one JSON object (seconds).
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def in_process(repeats: int) -> list[float]:
    from leo_app.background import SessionJobs, sweep_work, train_work
    from leo_app.jobs import JobSlots
    from leo_core.sweep import SweepConfig
    from leo_core.views.race import race_config

    times = []
    for _ in range(repeats):
        slots = JobSlots(4)
        jobs = SessionJobs(slots)
        race = race_config("sinusoid", ["leo", "reptile", "pretrained"], iterations=100_000)
        jobs.race.start(race)
        base = race.shared
        jobs.start("baseline", "baseline", base.iterations, train_work(base))
        jobs.start("sweep", "sweep", 4, sweep_work(SweepConfig(base=base, alphas=(0.01, 0.02), ks=(1, 5),
                                                               iterations=100_000)))
        while slots.busy < 3:
            time.sleep(0.01)
        time.sleep(1.0)  # all three training
        threads = jobs.threads()
        t0 = time.perf_counter()
        jobs.close()
        for t in threads:
            t.join()
        times.append(time.perf_counter() - t0)
    return times


def _job_threads(pid: int) -> int:
    n = 0
    for path in glob.glob(f"/proc/{pid}/task/*/comm"):
        try:
            name = Path(path).read_text().strip()
        except OSError:
            continue
        n += name == "leo-race" or name.startswith("leo-job-")
    return n


def in_browser(repeats: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    from app_server import CHROMIUM, CHROMIUM_ARGS, IDLE, start_server, stop_server

    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    url, proc = start_server(out / "race-close.log")
    times = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(repeats):
                ctx = browser.new_context(viewport={"width": 1440, "height": 900})
                page = ctx.new_page()
                page.set_default_timeout(60_000)
                page.goto(f"{url}/compare?race=leo,reptile,pretrained&race_iterations=20000")
                page.wait_for_selector(IDLE)
                page.get_by_role("button", name="Start the race").click()
                deadline = time.monotonic() + 60
                while _job_threads(proc.pid) < 1:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the race never started")
                    time.sleep(0.05)
                time.sleep(2.0)
                t0 = time.perf_counter()
                ctx.close()
                while _job_threads(proc.pid) > 0:
                    if time.perf_counter() - t0 > 60:
                        raise RuntimeError("the race thread outlived the tab by a minute")
                    time.sleep(0.01)
                times.append(time.perf_counter() - t0)
            browser.close()
    finally:
        stop_server(proc)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    result = {}
    t = in_process(args.repeats)
    result["in_process_close_s"] = {"median": round(statistics.median(t), 3), "max": round(max(t), 3)}
    if not args.no_browser:
        t = in_browser(args.repeats)
        result["tab_close_to_threads_gone_s"] = {"median": round(statistics.median(t), 3), "max": round(max(t), 3),
                                                 "all": [round(x, 3) for x in t]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
