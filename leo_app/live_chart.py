"""The app's plotly chart: updated in place, so a user's zoom, pan and hidden legend entries survive live updates.

``st.plotly_chart`` gives each figure its own element id, so every refresh of a live chart mounts a new
chart and the user's view is lost within a refresh. This component (Streamlit's ``components.v2``,
whose JavaScript runs in the app's page) keeps one plotly div per key and calls ``Plotly.react`` with
each new figure; the figure's ``layout.uirevision`` tells plotly to keep the user's view while the
data grows. A double click still resets the view (plotly's own autoscale). Every chart of the app
goes through it, animated ones too (their frames are passed on), so a page loads plotly.js once;
a chart drawn while hidden (a tab) or in a resized column follows its container's width.

plotly.js itself is the copy the ``plotly`` package ships, served by Streamlit's static file serving
(``.streamlit/config.toml``: ``enableStaticServing``) from ``static/plotly.min.js``, which
``ensure_plotly_js`` copies there at start-up (it is not kept in git). It loads once per browser tab.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st

__all__ = ["live_chart", "preload_plotly", "ensure_plotly_js", "PLOTLY_JS"]

PLOTLY_JS = Path(__file__).resolve().parent.parent / "static" / "plotly.min.js"
_SOURCE = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

# The component's code: one div per mount, drawn with Plotly.react; plotly.js loaded on first use.
_JS = """
function plotlyScript() {
  let script = document.getElementById('leo-plotly-js');
  if (!script) {
    script = document.createElement('script');
    script.id = 'leo-plotly-js';
    script.src = new URL('app/static/plotly.min.js', document.baseURI).href;
    document.head.appendChild(script);
  }
  return script;
}

export default function (component) {
  const { data, parentElement } = component;
  if (!data) { if (!window.Plotly) plotlyScript(); return; }  // preload_plotly(): fetch only
  const spec = JSON.parse(data);
  let div = parentElement.querySelector('.leo-live-chart');
  if (!div) {
    div = document.createElement('div');
    div.className = 'leo-live-chart';
    parentElement.appendChild(div);
  }
  div.style.height = spec.height + 'px';
  const draw = () => {
    const fig = spec.figure;
    window.Plotly.react(div, { data: fig.data, layout: fig.layout, frames: fig.frames || [], config: spec.config });
    if (!div.leoResize && window.ResizeObserver) {
      // A chart drawn while hidden (a tab, a folded section) or in a resized column follows its width.
      let width = div.clientWidth;
      div.leoResize = new ResizeObserver(() => {
        if (div.clientWidth > 0 && div.clientWidth !== width) {
          width = div.clientWidth;
          window.Plotly.Plots.resize(div);
        }
      });
      div.leoResize.observe(div);
    }
  };
  if (window.Plotly) { draw(); return; }
  plotlyScript().addEventListener('load', draw, { once: true });
}
"""
_CSS = ".leo-live-chart { width: 100%; } .st-key-leo_plotly_preload { display: none; }"
PRELOAD_KEY = "leo_plotly_preload"


def ensure_plotly_js() -> Path:
    """Put the plotly package's ``plotly.min.js`` where Streamlit serves static files (once)."""
    if not PLOTLY_JS.exists() or PLOTLY_JS.stat().st_size != _SOURCE.stat().st_size:
        PLOTLY_JS.parent.mkdir(exist_ok=True)
        tmp = PLOTLY_JS.with_suffix(".tmp")
        shutil.copyfile(_SOURCE, tmp)
        tmp.replace(PLOTLY_JS)  # atomic: a tab never loads half a file
    return PLOTLY_JS


@functools.cache
def _component():
    ensure_plotly_js()
    return st.components.v2.component("leo_live_chart", js=_JS, css=_CSS, isolate_styles=False)


def live_chart(fig: go.Figure, *, key: str, config: dict, height: int | None = None, where=None) -> None:
    """Draw ``fig`` under ``key``; later calls with the same key update that chart in place.

    Args:
        fig: the figure; its ``layout.uirevision`` should stay constant while the user's view should be kept.
        key: the element's key (``st-key-<key>`` in the page).
        config: plotly's config (toolbar, image export).
        height: pixels; default the figure's own height.
        where: a container (default the main area).
    """
    spec = (f'{{"figure": {fig.to_json()}, "config": {json.dumps(config)}, '
            f'"height": {int(height or fig.layout.height or 450)}}}')
    if where is None:
        _component()(data=spec, key=key)
    else:
        with where:
            _component()(data=spec, key=key)


def preload_plotly() -> None:
    """Start fetching plotly.js now (an invisible element, in the sidebar): called at the top of the
    script, the download and parse overlap the rest of the run instead of waiting for the first chart."""
    with st.sidebar:
        _component()(data="", key=PRELOAD_KEY)
