"""plotly.js for the app's charts: two bundles, served compressed once and cached by the browser.

``2d`` (``leo_app/vendor``, built from plotly.js's own modules by ``build_plotly_2d.sh``) holds only the trace
types the app draws in 2-D: scatter, bar, heatmap and contour. ``full`` is the ``plotly`` package's bundle, the
same version: every trace type, 3-D too (the Landscape surface, on request). A page evaluates its bundle before
its first chart: in Chromium on this 2-core machine the 2d bundle evaluates in about a third of the time of
plotly.js's official cartesian bundle and a seventh of the full one's (``bench/plotly_eval.py``).
``app.py``'s ``st.App`` serves them at ``leo/plotly-<bundle>-<version>.min.js`` (``routes``): gzip-compressed
once per process (Streamlit's own static-file serving compressed a 1.5 MB bundle again for
every tab, ≈ 0.15 s of server time per tab, over a second when the server was busy), with a year's
``immutable`` caching (the version is in the name), so a browser that has loaded it once never asks again.
"""

from __future__ import annotations

import functools
import gzip
import re
from pathlib import Path

import plotly

__all__ = ["BUNDLES", "TRACES", "VERSION", "bundle_for", "covering", "bundle_version", "url", "routes", "prepare"]

# Smallest first: each bundle draws every trace type of the bundles before it.
BUNDLES = {"2d": Path(__file__).resolve().parent / "vendor" / "plotly-2d.min.js",
           "full": Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"}
# The trace types of the vendored bundle (its build script registers them); the full bundle draws every type.
TRACES = {"2d": frozenset({"bar", "contour", "heatmap", "scatter"})}
ROUTE = "leo"  # the path under the server's base URL
CACHE = "public, max-age=31536000, immutable"


def bundle_version(path: Path) -> str:
    """The plotly.js version in a bundle's header comment (e.g. "4.1.1")."""
    head = path.read_text(encoding="utf-8", errors="replace")[:300]
    found = re.search(r"plotly\.js (?:\([a-z0-9]+ - minified\) )?v(\d+\.\d+\.\d+)", head)
    if not found:
        raise ValueError(f"no plotly.js version in the header of {path}")
    return found.group(1)


VERSION = bundle_version(BUNDLES["full"])


def bundle_for(fig) -> str:
    """The smallest bundle that draws every trace of the plotly figure and its frames."""
    traces = list(fig.data) + [t for frame in (fig.frames or ()) for t in (frame.data or ())]
    types = {t.type or "scatter" for t in traces}
    return next(bundle for bundle in BUNDLES if types <= TRACES.get(bundle, types))


def covering(bundle: str) -> list[str]:
    """The bundles that draw every figure ``bundle`` draws: itself and the larger ones."""
    names = list(BUNDLES)
    return names[names.index(_known(bundle)):]


def _known(bundle: str) -> str:
    if bundle not in BUNDLES:
        raise ValueError(f"bundle must be one of {sorted(BUNDLES)}, got {bundle!r}")
    return bundle


def url(bundle: str) -> str:
    """The bundle's address relative to the app's base URL (what the page's JavaScript resolves)."""
    return f"{ROUTE}/plotly-{_known(bundle)}-{VERSION}.min.js"


@functools.cache
def _body(bundle: str, compressed: bool) -> bytes:
    raw = BUNDLES[bundle].read_bytes()
    return gzip.compress(raw, compresslevel=9, mtime=0) if compressed else raw


def prepare() -> None:
    """Compress every bundle now (the server's warm-up), so no request waits for it."""
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
