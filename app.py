"""LEO Explorer — the Streamlit app's entry point: page setup, navigation, the session's runner.

Run with ``streamlit run app.py``: Streamlit serves the ``st.App`` at the bottom of this file, whose
lifespan imports torch and the pages before the server answers (``leo_app.warmup``). Pages live in
``pages/`` and are thin: widgets → config → core call → figure builder.

Session state shared by all pages of one browser session:

- ``st.session_state["leo_runner"]``: this session's ``leo_app.runner.TrainingRunner``. It comes
  from a session-scoped ``st.cache_resource`` whose ``on_release`` hook calls ``runner.close()``,
  so when the browser session ends (tab closed, websocket gone) the training thread stops.
- ``st.session_state["leo_run"]``: the newest ``leo_app.runner.RunSnapshot`` — status, config,
  metrics, the trained θ₀ (CPU tensors), model, family and algorithm — refreshed on every full
  rerun and by the Train page's live view while training runs. Read it; never mutate it.
- ``st.session_state["leo_jobs"]``: this session's ``leo_app.background.SessionJobs`` — its
  background jobs (baselines, sweeps, the pretrained start) and its race. Like the runner it comes
  from a session-scoped ``st.cache_resource`` whose ``on_release`` calls ``close()``, so a closed
  tab stops every one of their threads. No page script trains: pages start jobs and poll them.

Every page's settings live in the URL's query string (``leo_app.state``, over ``leo_app.url_state``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from leo_app.live_chart import preload_plotly  # plotly and streamlit only: no torch

ICON = Path(__file__).resolve().parent / "leo_app" / "static" / "icon.png"

if TYPE_CHECKING:
    from leo_app.background import SessionJobs
    from leo_app.runner import TrainingRunner


def _release_runner(runner: "TrainingRunner") -> None:
    runner.close()


def _usable(runner: "TrainingRunner") -> bool:
    return not runner.closed


@st.cache_resource(scope="session", on_release=_release_runner, validate=_usable, show_spinner=False)
def session_runner() -> "TrainingRunner":
    """One training runner per browser session, closed when the session ends (a closed one is replaced).
    Its runs are saved under the runs root (``leo_core.runs``); a new session prunes the oldest app runs."""
    from leo_app.runs_view import session_runs_root
    from leo_app.runner import TrainingRunner

    return TrainingRunner(root=session_runs_root())


def _release_jobs(jobs: "SessionJobs") -> None:
    jobs.close()


def _jobs_usable(jobs: "SessionJobs") -> bool:
    return not jobs.closed


@st.cache_resource(scope="session", on_release=_release_jobs, validate=_jobs_usable, show_spinner=False)
def session_jobs() -> "SessionJobs":
    """This session's background jobs (baselines, sweeps) and race, all stopped when the session ends; their
    runs are saved under the runs root."""
    from leo_app.background import SessionJobs
    from leo_core.runs import runs_root

    return SessionJobs(root=runs_root())


def main() -> None:
    # The tab icon is a file served by the app itself (a material icon would be fetched from a font CDN, which a
    # lecture hall without internet cannot reach); θ₀ drawn with DejaVu Sans Bold, 128 px.
    st.set_page_config(page_title="LEO Explorer", page_icon=str(ICON), layout="wide")
    from leo_app.language import choose_language, session_language
    from leo_core.i18n import _, set_language_source

    set_language_source(session_language)
    choose_language()
    pages = [
        st.Page("pages/lecture.py", title=_("Lecture"), icon=":material/school:", url_path="lecture"),
        st.Page("pages/train.py", title=_("Train"), icon=":material/model_training:", default=True),
        st.Page("pages/adaptation.py", title=_("Adaptation"), icon=":material/timeline:", url_path="adaptation"),
        st.Page("pages/landscape.py", title=_("Landscape"), icon=":material/landscape:", url_path="landscape"),
        st.Page("pages/compare.py", title=_("Compare"), icon=":material/compare_arrows:", url_path="compare"),
        st.Page("pages/theory.py", title=_("Theory"), icon=":material/functions:", url_path="theory"),
    ]
    nav = st.navigation(pages)
    if nav.url_path != "theory":  # the only page without a chart
        # The browser fetches plotly.js while the rest of the page renders. A 3-D chart (the Landscape
        # surface, on request) fetches the full bundle when it is drawn.
        preload_plotly("2d")
    # torch and the core: imported here, after the messages above are on their way to the browser.
    from leo_app import state as app_state
    from leo_core.device import DEFAULT_CPU_THREADS, configure_threads

    configure_threads(DEFAULT_CPU_THREADS)  # tiny tensors: one torch thread (leo_core/device.py)
    runner = session_runner()
    st.session_state[app_state.RUNNER_KEY] = runner
    st.session_state[app_state.RUN_KEY] = runner.snapshot()
    st.session_state[app_state.JOBS_KEY] = session_jobs()
    st.sidebar.caption(_("LEO Explorer — gradient-based meta-learning (the source document's “LEO” = MAML)."))
    page = app_state.page_name(nav.url_path or "train")
    app_state.before_page(page)  # settings from the URL on first load, presentation mode
    nav.run()
    app_state.after_page(page, nav.url_path)  # settings back into the URL, the share link


# Streamlit runs this file as "__main__", once per page view. ``streamlit run app.py`` finds the st.App below
# and imports this file as the module "app" to serve it: its lifespan warms the process up before the first
# request (leo_app/warmup.py). A worker process that re-imports it (the sweep's process pool) runs neither.
if __name__ == "__main__":
    main()
elif __name__ == "app":
    from leo_app import deep_links, fonts, plotly_js
    from leo_app.warmup import lifespan

    _base = st.get_option("server.baseUrlPath")
    _pages = [p.stem for p in (Path(__file__).resolve().parent / "pages").glob("*.py")]
    app = st.App(__file__, lifespan=lifespan, routes=[*plotly_js.routes(_base), *fonts.routes(_base),
                                                               *deep_links.routes(_base, _pages)])
