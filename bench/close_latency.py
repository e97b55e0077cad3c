"""How fast a closed session's training thread ends (run by hand; the tests only bound it generously).

The README promises "closing a tab stops its run within 2 s". Two figures:

* ``runner``: ``TrainingRunner.close()`` on a running, a queued and a paused run (the 1-40-40-1 MLP,
  meta-batch 25, k = 5): seconds until ``close()`` returned and until the thread had ended.
* ``--browser``: the real app in Debian Chromium: a tab trains, the tab is closed; seconds until the
  server has no training thread left (threads at a lower priority than its main thread), and the
  server's CPU use (CPU-s per second) over 2 s before the close and 2 s after the thread ended.

    .venv/bin/python bench/close_latency.py [--repeats 5] [--browser]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from leo_app.jobs import JobSlots  # noqa: E402
from leo_app.runner import RunStatus, TrainingRunner  # noqa: E402
from leo_core.config import TrainConfig  # noqa: E402

BIG = dict(iterations=100_000, hidden=(40, 40), meta_batch=25, k=5, device="cpu")


def _until(pred, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.005)


def close_once(state: str) -> tuple[float, float]:
    """Seconds until ``close()`` returned and until the thread had ended, for a run in ``state``."""
    slots = JobSlots(1)
    blocker, runner = TrainingRunner(slots=slots), TrainingRunner(slots=slots)
    try:
        if state == "queued":
            blocker.start(TrainConfig(**{**BIG, "hidden": (8, 8), "meta_batch": 4, "k": 1}))
            _until(lambda: blocker.snapshot().iteration > 0)
        runner.start(TrainConfig(**BIG))
        _until(lambda: runner.status == RunStatus.QUEUED if state == "queued" else runner.snapshot().iteration > 0)
        if state == "paused":
            runner.pause()
        t0 = time.monotonic()
        runner.close()
        returned = time.monotonic() - t0
        while runner.is_alive:
            time.sleep(0.001)
        return returned, time.monotonic() - t0
    finally:
        blocker.close()
        runner.close()
        blocker.join(60)
        runner.join(60)


def runner_figures(repeats: int) -> dict:
    out = {}
    for state in ("running", "queued", "paused"):
        runs = [close_once(state) for _ in range(repeats)]
        ended = [e for _, e in runs]
        out[state] = {"close_returned_s_max": round(max(r for r, _ in runs), 3),
                      "thread_ended_s_max": round(max(ended), 3), "thread_ended_s_median": round(statistics.median(ended), 3),
                      "under_2s": sum(e < 2 for e in ended), "n": len(ended)}
    return out


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_rate(pid: int, seconds: float = 2.0) -> float:
    c0 = _cpu_seconds(pid)
    time.sleep(seconds)
    return (_cpu_seconds(pid) - c0) / seconds


def browser_figures(repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    from app_server import CHROMIUM, CHROMIUM_ARGS, IDLE, start_server, stop_server
    from browser_helpers import training_threads

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    url, proc = start_server(artifacts / "close-latency-server.log")
    ended, busy, idle = [], [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(repeats):
                ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
                page = ctx.new_page()
                page.set_default_timeout(60_000)
                page.goto(f"{url}/?iterations=100000")
                page.wait_for_selector(IDLE)
                page.get_by_role("button", name="Start").click()
                _until(lambda: training_threads(proc.pid) == 1)
                busy.append(_cpu_rate(proc.pid))
                t0 = time.monotonic()
                ctx.close()
                _until(lambda: training_threads(proc.pid) == 0)
                ended.append(time.monotonic() - t0)
                idle.append(_cpu_rate(proc.pid))
            browser.close()
    finally:
        stop_server(proc)
    return {"tab_closed_to_thread_ended_s": [round(e, 3) for e in ended], "under_2s": sum(e < 2 for e in ended),
            "server_cpu_s_per_s_training": [round(b, 2) for b in busy],
            "server_cpu_s_per_s_after": [round(i, 2) for i in idle]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also close real browser tabs (Debian Chromium)")
    args = parser.parse_args()
    result = {"runner": runner_figures(args.repeats)}
    if args.browser:
        result["browser"] = browser_figures(args.repeats)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
