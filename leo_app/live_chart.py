"""The app's plotly chart: updated in place, so a user's zoom, pan and hidden legend entries survive live updates.

``st.plotly_chart`` gives each figure its own element id, so every refresh of a live chart mounts a new
chart and the user's view is lost within a refresh. This component (Streamlit's ``components.v2``,
whose JavaScript runs in the app's page) keeps one plotly div per key and calls ``Plotly.react`` with
each new figure; the figure's ``layout.uirevision`` tells plotly to keep the user's view while the
data grows. A double click still resets the view (plotly's own autoscale). Every chart of the app
goes through it, animated ones too (their frames are passed on), so a page loads plotly.js once;
a chart drawn while hidden (a tab) or in a resized column follows its container's width.

plotly.js comes in two bundles (``leo_app.plotly_js``, which also serves them): the full one and the app's
own 2d one (the trace types it draws in 2-D, a quarter of the size, evaluated in a seventh of the time). A figure
whose traces are all in the 2d bundle (``plotly_js.bundle_for``) draws with whichever bundle is loaded; a 3-D one
(the Landscape surface) loads the full bundle. Each loads once per browser tab. A chart is first drawn when it
comes near the viewport, so the charts below the fold do not hold up the first picture; the charts that waited
for plotly.js are drawn one per frame in page order, so the first is painted before the next is drawn. A chart
with no data yet (``figures.style.empty_figure``) shows its message as plain text, so a page of placeholders
(Train before its first run) needs no plotly.js before it is usable (the bundle still loads in the background).
A placeholder can stand for a chart the page computes only when a reader gets to it (``on_seen``: the
Landscape's cosine sweep, at the bottom of the page): it asks for a rerun once it comes near the viewport. The
chart's div says what it shows in ``data-drawn``: "chart" or "placeholder"; such a placeholder also has
``data-request``: "waiting", then "sent".
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from figures.style import PLACEHOLDER

from . import plotly_js

__all__ = ["live_chart", "preload_plotly"]

# The component's code: one div per mount, drawn with Plotly.react; plotly.js loaded on first use.
_JS = """
const SOURCES = __SOURCES__;  // leo_app.plotly_js.url of each bundle
const COVER = __COVER__;
const loaded = (window.leoPlotly = window.leoPlotly || {});  // bundle name -> its Plotly module

function plotlyScript(bundle) {
  const id = 'leo-plotly-' + bundle;
  let script = document.getElementById(id);
  if (!script) {
    script = document.createElement('script');
    script.id = id;
    script.src = new URL(SOURCES[bundle], document.baseURI).href;
    script.addEventListener('load', () => { loaded[bundle] = window.Plotly; }, { once: true });
    document.head.appendChild(script);
  }
  return script;
}

// The bundles that draw a bundle's figures, smallest first (leo_app.plotly_js.covering).
function moduleFor(bundle) { const name = COVER[bundle].find((b) => loaded[b]); return name ? [name, loaded[name]] : null; }
// A bundle on its way that draws this one's figures: waited for, rather than fetching a second bundle.
function onItsWay(bundle) { return COVER[bundle].find((b) => document.getElementById('leo-plotly-' + b)); }

// Charts waiting for plotly.js are drawn one per frame once it has loaded, in page order: the first picture
// is painted before the next chart is drawn, rather than all of them in one long task.
const queue = (window.leoDrawQueue = window.leoDrawQueue || { divs: [], busy: false });
const pageOrder = (a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
function drawNext() {
  const div = queue.divs.sort(pageOrder).shift();
  if (!div) { queue.busy = false; return; }
  requestAnimationFrame(() => setTimeout(drawNext));  // after the paint of this one (and if this one throws)
  if (div.leoDraw) div.leoDraw();  // its latest figure
}
function drawWhenLoaded(div) {
  if (!queue.divs.includes(div)) queue.divs.push(div);
  // The first draw waits for the end of the load event, so that every chart waiting for it is in the queue.
  if (!queue.busy) { queue.busy = true; setTimeout(drawNext); }
}

// Calls fn once the div comes near the viewport (at once if it has already), or again after the div's next
// figure replaces the one waiting: the charts below the fold do not hold up the first picture.
function whenSeen(div, fn) {
  div.leoWhenSeen = fn;
  if (div.leoSeen || !window.IntersectionObserver) { if (fn) fn(); return; }
  if (!div.leoSight) {
    div.leoSight = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      div.leoSight.disconnect();
      div.leoSeen = true;
      if (div.leoWhenSeen) div.leoWhenSeen();
    }, { rootMargin: '200px' });
    div.leoSight.observe(div);
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data.startsWith('{')) { if (!moduleFor(data)) plotlyScript(onItsWay(data) || data); return; }  // preload_plotly
  const spec = JSON.parse(data);
  let div = parentElement.querySelector('.leo-live-chart');
  if (!div) {
    div = document.createElement('div');
    div.className = 'leo-live-chart';
    parentElement.appendChild(div);
  }
  div.style.height = spec.height + 'px';
  if (spec.placeholder) {  // a chart with no data yet: its message as text, no plotly.js needed
    if (div.leoPlotly) { div.leoPlotly.purge(div); div.leoPlotly = null; }
    div.leoDraw = null;
    div.replaceChildren();
    const note = document.createElement('div');
    note.className = 'leo-placeholder';
    note.style.fontSize = spec.placeholder.size + 'px';
    spec.placeholder.lines.forEach((line, i) => { if (i) note.append(document.createElement('br')); note.append(line); });
    div.append(note);
    div.dataset.drawn = 'placeholder';
    if (spec.request) {  // a chart computed only when it is seen (live_chart's on_seen): tell the page when it is
      div.dataset.request = 'waiting';
      whenSeen(div, () => { div.dataset.request = 'sent'; setTriggerValue('seen', true); });
    } else {
      delete div.dataset.request;
      whenSeen(div, null);
    }
    return;
  }
  delete div.dataset.request;
  const draw = () => {
    div.querySelector(':scope > .leo-placeholder')?.remove();
    if (div.leoPlotly && !COVER[spec.bundle].includes(div.leoBundle)) {
      div.leoPlotly.purge(div);  // drawn by a smaller bundle, now a trace it lacks (3-D): start over
      div.leoPlotly = null;
    }
    if (!div.leoPlotly) [div.leoBundle, div.leoPlotly] = moduleFor(spec.bundle);  // a div keeps the module that drew it
    const fig = spec.figure;
    div.leoPlotly.react(div, { data: fig.data, layout: fig.layout, frames: fig.frames || [], config: spec.config });
    div.dataset.drawn = 'chart';
    if (!div.leoResize && window.ResizeObserver) {
      // A chart drawn while hidden (a tab, a folded section) or in a resized column follows its width.
      let width = div.clientWidth;
      div.leoResize = new ResizeObserver(() => {
        if (div.leoPlotly && div.clientWidth > 0 && div.clientWidth !== width) {
          width = div.clientWidth;
          div.leoPlotly.Plots.resize(div);
        }
      });
      div.leoResize.observe(div);
    }
  };
  div.leoDraw = draw;
  const show = () => {
    if (moduleFor(spec.bundle)) { draw(); return; }
    plotlyScript(onItsWay(spec.bundle) || spec.bundle).addEventListener('load', () => drawWhenLoaded(div), { once: true });
  };
  // Until it is first drawn a new figure replaces the one waiting; once drawn, every update is drawn at once.
  whenSeen(div, show);
}
""".replace("__SOURCES__", json.dumps({bundle: plotly_js.url(bundle) for bundle in plotly_js.BUNDLES})).replace(
    "__COVER__", json.dumps({bundle: plotly_js.covering(bundle) for bundle in plotly_js.BUNDLES}))
_CSS = (".leo-live-chart { width: 100%; } .st-key-leo_plotly_preload { display: none; } "
        ".leo-placeholder { height: 100%; display: flex; align-items: center; justify-content: center; "
        "text-align: center; color: #666; line-height: 1.35; }")
PRELOAD_KEY = "leo_plotly_preload"


@functools.cache
def _component():
    return st.components.v2.component("leo_live_chart", js=_JS, css=_CSS, isolate_styles=False)


def live_chart(fig: go.Figure, *, key: str, config: dict, height: int | None = None, where=None,
               on_seen: Callable[[], None] | None = None) -> None:
    """Draw ``fig`` under ``key``; later calls with the same key update that chart in place.

    Args:
        fig: the figure; its ``layout.uirevision`` should stay constant while the user's view should be kept.
        key: the element's key (``st-key-<key>`` in the page).
        config: plotly's config (toolbar, image export).
        height: pixels; default the figure's own height.
        where: a container (default the main area).
        on_seen: for a placeholder (``figures.style.empty_figure``) of a chart that is computed only when a
            reader gets to it: called (as a widget callback, before the rerun it causes) once the placeholder
            comes near the viewport.
    """
    height = int(height or fig.layout.height or 450)
    callbacks = {}
    if (fig.layout.meta or {}).get(PLACEHOLDER):  # figures.style.empty_figure: its message, drawn as text
        note = fig.layout.annotations[0]
        spec = {"placeholder": {"lines": note.text.split("<br>"), "size": note.font.size}, "height": height}
        if on_seen is not None:
            spec["request"], callbacks["on_seen_change"] = True, on_seen
        spec = json.dumps(spec)
    else:
        bundle = plotly_js.bundle_for(fig)
        spec = f'{{"figure": {fig.to_json()}, "config": {json.dumps(config)}, "height": {height}, "bundle": "{bundle}"}}'
    with where if where is not None else contextlib.nullcontext():
        _component()(data=spec, key=key, **callbacks)


def preload_plotly(bundle: str = "2d") -> None:
    """Start fetching a plotly.js bundle now (an invisible element, in the sidebar): called at the top of
    the script, the download overlaps the rest of the run instead of waiting for the first chart."""
    plotly_js.covering(bundle)  # a known bundle, or ValueError
    with st.sidebar:
        _component()(data=bundle, key=PRELOAD_KEY)
