"""The app's Chinese font (``static/fonts/leo-cjk.woff``), served by the app itself so a page or a chart in
Chinese draws offline, on a machine without a CJK font.

``CSS`` adds its glyphs to the family Streamlit's text uses (``Source Sans``, limited by ``unicode-range`` to
CJK, so Latin text keeps its own font) and names it ``LEO CJK`` for the charts (``figures.style.FONT_FAMILY``).
The address carries the file's hash, so browsers may cache it for a year.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path

__all__ = ["FONT", "FAMILY", "url", "css", "embedded_css", "routes"]

FONT = Path(__file__).resolve().parent / "static" / "fonts" / "leo-cjk.woff"
FAMILY = "LEO CJK"
_RANGE = "U+2E80-2FFF, U+3000-303F, U+3100-9FFF, U+F900-FAFF, U+FE30-FE4F, U+FF00-FFEF"
_FACES = """@font-face {{ font-family: "Source Sans"; font-weight: 100 900; font-display: swap; src: {src};
  unicode-range: {range}; }}
@font-face {{ font-family: "{family}"; font-weight: 100 900; font-display: swap; src: {src}; }}"""


@functools.cache
def _bytes() -> bytes:
    return FONT.read_bytes()


@functools.cache
def url() -> str:
    """The font's address relative to the app's base URL (its content's hash in the name)."""
    return f"leo/fonts/leo-cjk-{hashlib.sha256(_bytes()).hexdigest()[:12]}.woff"


@functools.cache
def css() -> str:
    """The ``@font-face`` rules for the app's pages (the font fetched from the app)."""
    return _FACES.format(src=f'url("{url()}") format("woff")', range=_RANGE, family=FAMILY)


def embedded_css() -> str:
    """The same rules with the font inside (a data URL): for the offline handout."""
    data = base64.b64encode(_bytes()).decode("ascii")
    return _FACES.format(src=f'url("data:font/woff;base64,{data}") format("woff")', range=_RANGE, family=FAMILY)


def routes(base_url: str = "") -> list:
    """The Starlette route serving the font at ``url()`` under the base URL."""
    from starlette.responses import Response
    from starlette.routing import Route

    prefix = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"

    async def serve(request) -> Response:
        return Response(_bytes(), media_type="font/woff",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})

    return [Route(prefix + url(), serve, methods=["GET", "HEAD"])]
