"""How long each plotly.js bundle of the app takes to evaluate in Chromium, and to draw a first chart with it.

The page's main thread does this before the first chart appears (leo_app/plotly_js.py: a page loads the
smallest bundle that draws its charts). Each measurement is a new browser context (no cache, no compiled
code kept): the bundle's text is fetched first, then evaluated as an inline script, then one loss-curve-like
figure (two line traces of 300 points, a log axis) is drawn with ``Plotly.react``. Medians over the repeats.

    .venv/bin/python bench/plotly_eval.py [--repeats 6] [--extra NAME=PATH ...]

``--extra`` measures other bundles beside the app's, e.g. plotly.js's official cartesian bundle, which the app
used before its 2d one: ``git show 376cebe:leo_app/vendor/plotly-cartesian.min.js > /tmp/cartesian.js``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from leo_app import plotly_js  # noqa: E402

BLANK = b"<!doctype html><html><body></body></html>"
MEASURE = """async (src) => {
  const text = await (await fetch(src)).text();
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  const script = document.createElement('script');
  script.textContent = text;
  document.head.appendChild(script);
  const t1 = performance.now();
  const div = document.createElement('div');
  div.style.width = '700px';
  div.style.height = '450px';
  document.body.appendChild(div);
  const x = Array.from({length: 300}, (_, i) => i);
  await Plotly.react(div, [{x, y: x.map((v) => Math.exp(-v / 50)), mode: 'lines'},
                           {x, y: x.map((v) => Math.exp(-v / 80)), mode: 'lines'}],
                     {title: {text: 'loss'}, yaxis: {type: 'log'}});
  return [t1 - t0, performance.now() - t1];
}"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        path = self.server.bundles.get(self.path.strip("/").removesuffix(".js"))
        body = path.read_bytes() if path else BLANK
        self.send_response(200)
        self.send_header("Content-Type", "application/javascript" if path else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--extra", nargs="*", default=[], metavar="NAME=PATH", help="another bundle to measure")
    args = p.parse_args()
    bundles = dict(plotly_js.BUNDLES)
    for item in args.extra:
        name, _, path = item.partition("=")
        if not name or not Path(path).is_file():
            p.error(f"--extra takes NAME=PATH of a plotly.js bundle file, got {item!r}")
        bundles[name] = Path(path)
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.bundles = bundles
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    times: dict[str, list[tuple[float, float]]] = {b: [] for b in bundles}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(args.repeats):
                for bundle in bundles:  # interleaved: the machine's load moves all of them alike
                    ctx = browser.new_context()
                    page = ctx.new_page()
                    page.goto(f"{url}/blank.html")
                    times[bundle].append(tuple(page.evaluate(MEASURE, f"/{bundle}.js")))
                    ctx.close()
            browser.close()
    finally:
        server.shutdown()
    print(f"# plotly.js {plotly_js.VERSION}, Chromium, medians of {args.repeats}")
    print(f"{'bundle':10} {'MB':>5} {'evaluate ms':>12} {'first chart ms':>15}")
    for bundle, runs in times.items():
        size = bundles[bundle].stat().st_size / 1e6
        print(f"{bundle:10} {size:5.2f} {statistics.median(r[0] for r in runs):12.0f} "
              f"{statistics.median(r[1] for r in runs):15.0f}")


if __name__ == "__main__":
    main()
