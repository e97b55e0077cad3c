"""A deep link (``/adaptation?…``) that makes no failed request: the page's HTML tells Streamlit's frontend where
the server is.

Opened at ``/adaptation``, Streamlit's frontend does not know whether the app lives at ``/adaptation/`` or at
``/``, so it probes ``/adaptation/_stcore/health`` and ``/adaptation/_stcore/host-config`` first: two 404s in
the console of every deep link, which a lecture hall's offline check counts as failed requests. Its
``window.__streamlit.BACKEND_BASE_URL`` setting names the server instead (a one-segment path is its only
candidate). These routes serve Streamlit's own ``index.html`` for each page's path with that setting set
before the bundle runs; the root page needs none (``/`` is its only candidate already).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import streamlit

__all__ = ["routes", "page_html"]

INDEX = Path(streamlit.__file__).resolve().parent / "static" / "index.html"
_SETTING = ('<script>window.__streamlit = Object.assign({BACKEND_BASE_URL: window.location.origin + "%s"}, '
            "window.__streamlit || {});</script>")


def page_html(prefix: str, index: Path = INDEX) -> str:
    """Streamlit's ``index.html`` with the server's base URL (``prefix``, e.g. ``/``) set for the frontend."""
    html = index.read_text(encoding="utf-8")
    return html.replace("<head>", "<head>\n    " + _SETTING % prefix, 1)


def routes(base_url: str, pages: Iterable[str]) -> list:
    """Starlette routes serving that HTML at ``/<base_url>/<page>`` for every page's URL path."""
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    prefix = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    body = page_html(prefix)

    async def serve(request) -> HTMLResponse:
        return HTMLResponse(body, headers={"Cache-Control": "no-cache"})

    return [Route(prefix + page + tail, serve, methods=["GET", "HEAD"]) for page in pages for tail in ("", "/")]
