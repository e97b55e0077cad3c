"""A page as one self-contained HTML file: its figures (with their animation frames) and its settings.

plotly.js is embedded once, inline, before the first figure, so the file opens offline (a handout
for students without the app, or slides); every later figure reuses it. No network, no app.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Sequence

import plotly.graph_objects as go
import plotly.io as pio

from leo_core.i18n import _, language

__all__ = ["page_html"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1500px;
       padding: 0 1.5rem; color: #222; }
h1 { font-size: 2rem; margin-bottom: .2rem; } h2 { font-size: 1.4rem; margin-top: 2.2rem; }
p.note { color: #555; } table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
td, th { border: 1px solid #ccc; padding: .3rem .8rem; text-align: left; } th { background: #f3f3f3; }
.figure { margin-bottom: 1rem; }
"""


def page_html(title: str, figures: Sequence[tuple[str, go.Figure]], settings: Sequence[tuple[str, str]], *,
              intro: str = "", notes: Sequence[str] = (), css: str = "") -> str:
    """The whole page as one HTML document.

    ``figures``: (heading, figure) pairs in page order; ``settings``: (name, value) rows of the page's
    settings table; ``intro`` and ``notes``: plain text (escaped), above the settings and after the figures;
    ``css``: more style rules (the app's Chinese font, embedded). Its fixed text is in the language of ``_``.
    """
    if not figures:
        raise ValueError("a handout needs at least one figure")
    parts = [f"<h1>{html.escape(title)}</h1>"]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note = _("LEO Explorer handout, made {stamp}. Opens offline: plotly.js is inside this file. Charts are "
             "interactive (zoom, hover; ▶ play where a chart has frames).").format(stamp=stamp)
    parts.append(f"<p class='note'>{html.escape(note)}</p>")
    if intro:
        parts.append(f"<p>{html.escape(intro)}</p>")
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in settings)
    h_settings, h_setting, h_value = (html.escape(t) for t in (_("Settings"), _("setting"), _("value")))
    parts.append(f"<h2>{h_settings}</h2><table><tr><th>{h_setting}</th><th>{h_value}</th></tr>{rows}</table>")
    for i, (heading, fig) in enumerate(figures):
        body = pio.to_html(fig, include_plotlyjs=i == 0, full_html=False, auto_play=False,
                           config={"displaylogo": False, "responsive": True}, div_id=f"figure-{i}")
        parts.append(f"<h2>{html.escape(heading)}</h2><div class='figure'>{body}</div>")
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    lang = "zh-CN" if language() == "zh" else language()
    return (f"<!DOCTYPE html>\n<html lang='{lang}'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_STYLE}{css}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
