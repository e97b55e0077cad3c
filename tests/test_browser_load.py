"""A small load test in the real browser: 3 sessions train at once on a server limited to 2 jobs.

Uses ``bench/load_test.py`` (the 10-session version is run by hand): each session sees only its own
run, page switches while the others train show the new page, the third run queues and still finishes,
and the server's memory stays bounded. How fast the page switches are is not asserted here (a shared
machine's load decides it); the same figures come from
``bench/load_test.py --sessions 3 --iterations 300 --max-jobs 2`` (and the README's 10-session runs).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from app_server import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402
from load_test import run_load  # noqa: E402

pytestmark = [
    pytest.mark.browser, pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian Chromium not found at {CHROMIUM}"),
]


def test_three_sessions_train_at_once_with_a_job_limit_of_two():
    from playwright.sync_api import sync_playwright

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    url, proc = start_server(artifacts / "load-test-server.log", {"LEO_MAX_JOBS": "2"})
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                result = run_load(browser, url, proc.pid, sessions=3, iterations=300)
            finally:
                browser.close()
    finally:
        stop_server(proc)
    (artifacts / "load-test-3.json").write_text(str(result))
    assert result["isolation_ok"] and result["exceptions"] == 0, str(result)
    assert result["page_switch_s"]["n"] == 6, result  # every session switched to Adaptation and back
    assert result["rss_mb"]["peak"] < 1500, result
