"""The real app for benchmarks and browser tests: start a Streamlit server, the Chromium flags, page probes.

Used by ``bench/load_test.py``, ``bench/app_throughput.py`` and the browser tests in ``tests/``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["ROOT", "CHROMIUM", "CHROMIUM_ARGS", "IDLE", "LOSS_CHART", "REFRESHES_JS", "RUN_CAPTION", "RUN_SETTINGS",
           "start_server", "stop_server"]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"  # the page's script has finished
# The Train page's live loss chart (its element key; a plain ".js-plotly-plot" would, while the loss chart
# remounts on a refresh, find the fit preview beside it, whose last x is 5).
LOSS_CHART = ".st-key-loss_chart .js-plotly-plot"
# The Train page's caption of the run's own settings ("… · meta-batch 10 · … · seed 3"): in the main area and
# case-sensitive, since the sidebar's note "Changed from the recommended: Meta-batch 10 (rec. 25)…" is not it.
RUN_CAPTION = "[data-testid=stMain] [data-testid=stCaptionContainer]"
RUN_SETTINGS = re.compile(r"meta-batch \d+")
# Distinct states of the loss chart's last x, sampled every 20 ms for ``ms``: one per live-view refresh.
REFRESHES_JS = """(ms) => new Promise(done => {
    const seen = new Set(); const t0 = performance.now();
    const h = setInterval(() => {
        const g = document.querySelector('%s');
        if (g && g.data && g.data.length > 1) seen.add(g.data[1].x[g.data[1].x.length - 1]);
        if (performance.now() - t0 > ms) { clearInterval(h); done(seen.size); }
    }, 20);
})""" % LOSS_CHART


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log_path: Path, env: dict[str, str] | None = None, timeout_s: float = 60, *,
                 cwd: Path = ROOT, script: str = "app.py") -> tuple[str, subprocess.Popen]:
    """Start ``streamlit run <script>`` in ``cwd`` on a free port (output to ``log_path``); return its URL
    once healthy.

    ``env`` adds to this process's environment (e.g. ``LEO_MAX_JOBS``). Raises ``RuntimeError``
    if the server exits or is not healthy within ``timeout_s``.
    """
    port = _free_port()
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless=true", "--server.address=127.0.0.1",
         f"--server.port={port}", "--browser.gatherUsageStats=false"],
        cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    log.close()  # the child keeps its own handle
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return url, proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"streamlit did not come up; see {log_path}")
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
