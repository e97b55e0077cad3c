"""The app's thin layer over ``leo_app.url_state``: URL ⇄ session state, presentation mode, share link.

``app.py`` calls ``before_page`` before a page runs (the first time a page runs in a session, its
valid query values become its widgets' values, and notes about refused values are shown) and
``after_page`` after it (the page's current settings are written back to the query string, so the
address bar always holds a link that reproduces the view).
"""

from __future__ import annotations

import math
import runpy
import traceback
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

from leo_core.checkpoint import CheckpointError, load_checkpoint
from figures.scale import scale_figure
from . import fonts
from .live_chart import live_chart
from .share_link import share_link
from .presets import PRESETS, preset_checkpoint
from .url_state import GLOBAL_SCHEMA, SCHEMAS, parse, serialise
from .widgets import recommended_values
from leo_core.algorithms import ALGORITHMS
from leo_core.i18n import LANGUAGES, N_, _
from .language import LANG_KEY
from leo_core.tasks import TASK_FAMILIES

APP_SCRIPT = Path(__file__).resolve().parent.parent / "app.py"
RUNNER_KEY = "leo_runner"  # st.session_state: this session's TrainingRunner (set by app.py)
JOBS_KEY = "leo_jobs"  # st.session_state: this session's SessionJobs (background jobs and race; set by app.py)
RUN_KEY = "leo_run"  # st.session_state: its newest RunSnapshot, refreshed on every full rerun
APPLIED_KEY = "_leo_url_applied"  # pages whose URL values were applied in this session
RUN_PARAM = "run"  # the query key naming the session's run directory (leo_core.runs)
RUN_NOTE_KEY = "_leo_run_note"  # a note about the run the link opened, shown once on the Train page
NOTES_KEY = "_leo_url_notes"  # {page: [note, …]} shown on that page for the rest of the session
PRESENT_KEY = "present"  # presentation mode toggle (also ?present=1)
IMAGE_FORMAT_KEY = "image_format"
IMAGE_FORMATS = ("png", "svg")
# Presentation mode's sizes, all here: the page's text (CSS below) and every chart's fonts and lines grow by
# PRESENT_SCALE; a chart's height by PRESENT_HEIGHT_SCALE only, so that at 1920×1080 each page's main picture
# stays wholly above the fold (tests/test_browser_projector.py).
PRESENT_SCALE = 1.35
PRESENT_HEIGHT_SCALE = 1.1

# Every page: the picture first. Less empty space above the title (Streamlit's default is 6rem), and
# the Train page's five live numbers sized to fit their half-width column down to 1280 px wide.
_PAGE_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
.st-key-train_metrics [data-testid="stMetricValue"] { font-size: 1.5rem; }
</style>
"""
# Projector CSS: larger body text, widgets and headings; plotly fonts scale with the figure size below.
_PRESENT_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 21px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.25rem; line-height: 1.5; }
[data-testid="stCaptionContainer"] { font-size: 1.05rem !important; }
[data-testid="stMainBlockContainer"] { padding-top: 1rem; }
[data-testid="stMetricValue"] { font-size: 2.6rem !important; }
.st-key-train_metrics [data-testid="stMetricValue"] { font-size: 2.1rem !important; }
[data-testid="stMetricLabel"] p { font-size: 1.15rem !important; }
[data-testid="stWidgetLabel"] p { font-size: 1.1rem !important; }
h1 { font-size: 3rem !important; }
.stButton button p { font-size: 1.15rem; }
</style>
"""

# Embedded in a slide (Streamlit's ?embed=true drops the toolbar): the sidebar's controls go too, only the page.
_EMBED_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] { display: none; }
</style>
"""


def page_name(title: str) -> str:
    """The schema name of a page from its navigation title."""
    return title.strip().lower()


def presenting() -> bool:
    return bool(st.session_state.get(PRESENT_KEY, False))


def _apply_once(page: str) -> list[str]:
    applied = st.session_state.setdefault(APPLIED_KEY, set())
    notes: list[str] = []
    if page in applied:
        return notes
    applied.add(page)
    params = st.query_params.to_dict()
    schema = {**SCHEMAS.get(page, {}), **({} if "global" in applied else GLOBAL_SCHEMA)}
    applied.add("global")
    if "preset" in params:  # any page: the preset's run becomes the session's run, shown on this page
        notes += _apply_preset_param(params["preset"])
    runner = st.session_state.get(RUNNER_KEY)
    if RUN_PARAM in params and runner is not None:  # any page: the run the link names comes back from disk
        notes += _open_run_param(runner, str(params[RUN_PARAM]))
    if runner is not None:
        st.session_state[RUN_KEY] = runner.snapshot()
    if page == "train":  # a refused value falls back to what a fresh page uses: the recommended setting
        schema = {**schema, **train_schema(params.get("family"), params.get("algorithm"))}
    result = parse(schema, params)
    for key, value in result.values.items():
        st.session_state[key] = value
    return notes + result.notes + _foreign_keys(page, params, schema)


def _foreign_keys(page: str, params: dict, schema: dict) -> list[str]:
    """A note for each query key this page does not use: another page's setting, or no page's (a typo)."""
    notes = []
    for key, raw in params.items():
        if key in schema or key in GLOBAL_SCHEMA or key in (RUN_PARAM, "preset"):
            continue
        shown = f"{key}={str(raw)[:40]!r}"
        owners = [p for p, fields in SCHEMAS.items() if key in fields and p != page]
        if owners:
            notes.append(_("{setting} was ignored here: it is a setting of the {page} page").format(
                setting=shown, page=_(owners[0].title())))
            continue
        near = [k for k in schema if k.endswith("_" + key)]
        notes.append(_("{setting} was ignored: no page has a setting called {name}").format(
            setting=shown, name=repr(key[:40]))
            + (_(" (this page's is {name})").format(name=repr(near[0])) if near else ""))
    return notes


def _open_run_param(runner, raw: str) -> list[str]:
    try:
        note = runner.open(raw[:100], device=st.session_state.get("device", "auto"))
    except ValueError as exc:
        return [_("run={run} was not opened: {reason}").format(run=repr(raw[:40]), reason=exc)]
    if note:
        st.session_state.setdefault(RUN_NOTE_KEY, note)
    return []


def train_schema(family: str | None, algorithm: str | None) -> dict:
    """The Train page's URL fields with the defaults a fresh page uses for ``family`` × ``algorithm``: their
    recommended settings (a link then names every value that differs from them, and only those)."""
    base = SCHEMAS["train"]
    family = family if family in TASK_FAMILIES else base["family"].default
    algorithm = algorithm if algorithm in ALGORITHMS else base["algorithm"].default
    rec = recommended_values(family, algorithm)
    return {name: replace(fld, default=rec[name]) if name in rec else fld for name, fld in base.items()}


def _apply_preset_param(raw: str) -> list[str]:
    if raw not in PRESETS:
        return [_("preset={preset} was ignored (not one of {presets})").format(preset=repr(raw[:40]),
                                                                                presets=", ".join(PRESETS))]
    return apply_preset(raw)


def apply_preset(key: str) -> list[str]:
    """Set every Train setting from preset ``key`` and load its shipped checkpoint; notes on failure."""
    preset = PRESETS[key]
    for name, fld in SCHEMAS["train"].items():
        st.session_state[name] = preset.settings.get(name, fld.default)
    path = preset_checkpoint(key)
    runner = st.session_state.get(RUNNER_KEY)
    if path is None or runner is None:
        return []
    try:
        ckpt = load_checkpoint(path)
        runner.load(replace(ckpt.config, device=st.session_state.get("device", "auto")), ckpt.state, ckpt.metrics)
    except (CheckpointError, ValueError, RuntimeError) as exc:
        return [_("the preset's checkpoint could not be loaded ({reason}); press Start to train it").format(
            reason=exc)]
    return []


def before_page(page: str) -> None:
    """Apply the URL on this page's first run; draw the presentation toggle and its CSS; show notes."""
    new_notes = _apply_once(page)
    if new_notes:
        st.session_state.setdefault(NOTES_KEY, {})[page] = new_notes
    st.sidebar.toggle(_("Presentation mode"), key=PRESENT_KEY, persist_state="session",
                      help=_("For a projector: larger text, metrics and chart fonts, fewer controls (the advanced "
                             "settings fold away). Also in the link as ?present=1."))
    st.sidebar.selectbox("Language · 语言", list(LANGUAGES), key=LANG_KEY, format_func=LANGUAGES.get,
                         persist_state="session", help=_("Also in the link as ?lang=zh."))
    css = (_PRESENT_CSS if presenting() else _PAGE_CSS) + (_EMBED_CSS if st.context.is_embedded else "")
    st.markdown(css.replace("<style>", "<style>\n" + fonts.css(), 1), unsafe_allow_html=True)
    notes = st.session_state.get(NOTES_KEY, {}).get(page)
    if notes:
        st.warning(_("The link held settings this page cannot use; they were changed:") + "\n\n"
                   + "\n".join(f"- {n}" for n in notes), icon=":material/link_off:")


def current_params(page: str) -> dict[str, str]:
    """The query entries for the page's current settings: those a fresh page would not use (on Train, the
    values that differ from the recommended settings), and the session's run."""
    schema = {**SCHEMAS.get(page, {}), **GLOBAL_SCHEMA}
    if page == "train":
        schema.update(train_schema(st.session_state.get("family"), st.session_state.get("algorithm")))
    values = {k: st.session_state[k] for k in schema if k in st.session_state}
    params = serialise(schema, values)
    runner = st.session_state.get(RUNNER_KEY)
    if runner is not None and runner.run_key is not None:
        params[RUN_PARAM] = runner.run_key
    return params


def after_page(page: str, url_path: str) -> None:
    """Write the page's settings into the query string and offer the link in the sidebar."""
    params = current_params(page)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    base = (st.context.url or "").rstrip("/")
    link = f"{base}/{url_path}".rstrip("/") + (f"?{urlencode(params)}" if params else "")
    with st.sidebar.expander(_("Share this view"), icon=":material/link:"):
        st.caption(_("This link opens the app with this page's settings and its run (saved on this server; "
                     "download its checkpoint to take it elsewhere)."))
        share_link(link)
        st.radio(_("Chart download format"), IMAGE_FORMATS, key=IMAGE_FORMAT_KEY, horizontal=True,
                 persist_state="session", help=_("What the camera icon in each chart's toolbar saves."))


def for_screen(fig):
    """``fig`` with larger fonts and lines in presentation mode (unchanged otherwise)."""
    return scale_figure(fig, PRESENT_SCALE, PRESENT_HEIGHT_SCALE) if presenting() else fig


def chart(fig, name: str, *, key: str, where=None, on_seen=None) -> None:
    """Show a plotly figure the app's way: full width, scaled in presentation mode, and a toolbar
    camera that saves it as ``leo-<name>.png`` or ``.svg`` (the sidebar's format).

    Every chart is drawn by one small component (``leo_app.live_chart``) that updates its plotly div
    in place: a live view's zoom, pan and hidden legend entries survive its refreshes, and the page
    loads plotly.js once (``st.plotly_chart`` would load a second, larger copy with its own chunk).
    ``on_seen``: see ``live_chart`` (a placeholder whose chart is computed when a reader gets to it)."""
    live_chart(for_screen(fig), key=key, config=chart_config(name), where=where, on_seen=on_seen)


def chart_config(name: str) -> dict:
    """plotly's config: no plotly logo; the toolbar's camera saves PNG or SVG (made in the browser)."""
    fmt = st.session_state.get(IMAGE_FORMAT_KEY, IMAGE_FORMATS[0])
    scale = 2 if fmt == "png" else 1
    return {"displaylogo": False,
            "toImageButtonOptions": {"format": fmt, "filename": f"leo-{name}", "scale": scale}}


def run_inside_app() -> bool:
    """Run ``app.py`` (navigation, URL state, presentation mode, the session's runner) around the
    page when Streamlit ran the page file alone; True when it did, and the caller draws nothing.

    With a ``pages/`` folder next to ``app.py``, Streamlit starts in its legacy multipage mode and
    leaves it only when some session runs ``app.py``'s ``st.navigation``. Until then a link straight
    to a page (the first visitor of a fresh server opening ``/adaptation?…``) runs the page file
    alone: file-name navigation, no settings from the link, narrow layout. ``app.py`` then runs the
    same page inside its navigation, in this script run (no rerun, so no widget value is lost).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not PagesManager.uses_pages_directory:
        return False
    PagesManager.uses_pages_directory = False  # what app.py's st.navigation would set anyway
    runpy.run_path(str(APP_SCRIPT), run_name="__main__")
    return True


def show_errors(body, failed: str = N_("Something went wrong on this page: {error}")) -> None:
    """Run ``body`` with no traceback on screen: a ``ValueError`` as its message (the app's own, already in the
    reader's words), anything else named in ``failed`` (marked, translated here), with the traceback in the log."""
    try:
        body()
    except ValueError as exc:
        st.error(str(exc))
    except Exception as exc:  # noqa: BLE001 — never a traceback on screen
        st.error(_(failed).format(error=f"{type(exc).__name__}: {exc}"))
        print(traceback.format_exc())


def guarded(body):
    """A fragment body that shows an error instead of a traceback (a fragment's reruns skip the page's
    ``show_errors``)."""

    def run() -> None:
        show_errors(body, N_("The live view failed: {error}"))

    run.__name__ = run.__qualname__ = body.__name__  # a stable, distinct fragment identity
    return run


def fmt_seconds(s: float | None) -> str:
    """"42 s", "3:07", or "—" for an unknown duration."""
    if s is None or not math.isfinite(s):
        return "—"
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s} s"
