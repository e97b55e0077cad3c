"""plotly.js for the app's charts: two bundles, served compressed once and cached by the browser.

The full bundle is the one the ``plotly`` package ships; the cartesian bundle (``leo_app/vendor``, the same
version, a third of the size, so it evaluates in a third of the time) draws every chart but 3-D ones.
``app.py``'s ``st.App`` serves both at ``leo/plotly-<bundle>-<version>.min.js`` (``routes``): gzip-compressed
once per process (Streamlit's own static-file serving compressed the 1.5 MB cartesian bundle again for
every tab, ≈ 0.15 s of server time per tab, over a second when the server was busy), with a year's
``immutable`` caching (the version is in the name), so a browser that has loaded it once never asks again.
"""

from __future__ import annotations

import functools
import gzip
import re
from pathlib import Path

import plotly

__all__ = ["BUNDLES", "VERSION", "CARTESIAN_TRACES", "bundle_for", "bundle_version", "url", "routes", "prepare"]

BUNDLES = {"cartesian": Path(__file__).resolve().parent / "vendor" / "plotly-cartesian.min.js",
           "full": Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"}
# The trace types of plotly.js's cartesian bundle (leo_app/vendor/README.md); any other needs the full one.
CARTESIAN_TRACES = frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
                              "image", "pie", "scatter", "scatterternary", "violin"})
ROUTE = "leo"  # the path under the server's base URL
CACHE = "public, max-age=31536000, immutable"


def bundle_version(path: Path) -> str:
    """The plotly.js version in a bundle's header comment (e.g. "4.1.1")."""
    head = path.read_text(encoding="utf-8", errors="replace")[:300]
    found = re.search(r"plotly\.js (?:\([a-z]+ - minified\) )?v(\d+\.\d+\.\d+)", head)
    if not found:
        raise ValueError(f"no plotly.js version in the header of {path}")
    return found.group(1)


VERSION = bundle_version(BUNDLES["full"])


def bundle_for(fig) -> str:
    """"cartesian" when every trace of the plotly figure and its frames is in the cartesian bundle, else "full"."""
    traces = list(fig.data) + [t for frame in (fig.frames or ()) for t in (frame.data or ())]
    return "cartesian" if all((t.type or "scatter") in CARTESIAN_TRACES for t in traces) else "full"


def url(bundle: str) -> str:
    """The bundle's address relative to the app's base URL (what the page's JavaScript resolves)."""
    if bundle not in BUNDLES:
        raise ValueError(f"bundle must be one of {sorted(BUNDLES)}, got {bundle!r}")
    return f"{ROUTE}/plotly-{bundle}-{VERSION}.min.js"


@functools.cache
def _body(bundle: str, compressed: bool) -> bytes:
    raw = BUNDLES[bundle].read_bytes()
    return gzip.compress(raw, compresslevel=9, mtime=0) if compressed else raw


def prepare() -> None:
    """Compress both bundles now (the server's warm-up), so no request waits for it."""
    for bundle in BUNDLES:
        _body(bundle, True)


def routes(base_url: str = "") -> list:
    """Starlette routes serving each bundle at ``/<base_url>/<url(bundle)>`` (for ``st.App(routes=…)``)."""
    from starlette.responses import Response
    from starlette.routing import Route

    prefix = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"

    def endpoint(bundle: str):
        async def serve(request) -> Response:
            compressed = "gzip" in request.headers.get("accept-encoding", "")
            headers = {"Cache-Control": CACHE, "Vary": "Accept-Encoding"}
            if compressed:
                headers["Content-Encoding"] = "gzip"
            return Response(_body(bundle, compressed), media_type="application/javascript", headers=headers)
        return serve

    return [Route(prefix + url(bundle), endpoint(bundle), methods=["GET", "HEAD"]) for bundle in BUNDLES]
