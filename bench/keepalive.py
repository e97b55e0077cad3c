"""Small responses on one keep-alive connection: a bare Streamlit server beside the app's (leo_app/nodelay.py).

Streamlit binds its listening socket with protocol number 0, so asyncio leaves Nagle's algorithm on for every
connection it accepts: a response written as headers and then a small body waits for the client's delayed ACK
(40 ms on Linux). The app sets TCP_NODELAY on the listening socket at start-up. This asks each server for its
health check and for a few of Streamlit's small JavaScript chunks, ``--requests`` times each, over one HTTP/1.1
connection, and prints the median and the largest time per response.

    .venv/bin/python bench/keepalive.py [--requests 20]
"""

from __future__ import annotations

import argparse
import http.client
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_server import start_server, stop_server  # noqa: E402
from first_paint import BARE_APP  # noqa: E402


def _times(url: str, requests: int) -> dict[str, list[float]]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", "/")
        page = conn.getresponse().read().decode()
        chunks = re.findall(r'static/js/[^"]+\.js', page)[:3]  # the page's first modules
        paths = ["/_stcore/health", *("/" + c for c in chunks)]
        out: dict[str, list[float]] = {p: [] for p in paths}
        for _ in range(requests):
            for path in paths:
                t0 = time.perf_counter()
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url}{path}: HTTP {response.status}")
                out[path].append(time.perf_counter() - t0)
        return out
    finally:
        conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=20)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp)
        (bare / "bare.py").write_text(BARE_APP)
        for name, kwargs in (("bare Streamlit", {"cwd": bare, "script": "bare.py"}), ("LEO Explorer", {})):
            url, proc = start_server(bare / f"{name[:4]}.log", timeout_s=180, **kwargs)
            try:
                for path, times in _times(url, args.requests).items():
                    print(f"{name:15} {path[:40]:40} median {1000 * statistics.median(times):6.1f} ms  "
                          f"max {1000 * max(times):6.1f} ms")
            finally:
                stop_server(proc)


if __name__ == "__main__":
    main()
