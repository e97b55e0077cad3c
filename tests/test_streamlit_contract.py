"""What the app relies on inside Streamlit that Streamlit does not document.

A link straight to a page (``/adaptation?…``) as the first request of a fresh server runs the page
file alone while Streamlit is in its legacy ``pages/`` mode, which it leaves only when ``app.py``'s
``st.navigation`` runs. No public option turns that mode off while the folder is called ``pages/``
(the only public way is another folder name), so ``leo_app.state.run_inside_app`` flips the flag
``st.navigation`` itself sets. ``requirements.txt`` pins the Streamlit minor this was checked on;
these tests fail loudly, naming the fix, if an upgrade changes the mechanism.
"""

from __future__ import annotations

import inspect

import streamlit
from streamlit.commands import navigation
from streamlit.runtime import pages_manager
from streamlit.runtime.scriptrunner import script_runner

FIX = ("Streamlit changed its legacy pages/ mode; re-check leo_app.state.run_inside_app (a deep link on a fresh "
       "server must run app.py) and tests/test_browser_pages.py::test_a_link_to_a_page_is_the_first_visit_of_a_fresh_server")


def test_the_legacy_mode_flag_exists_and_is_decided_by_a_pages_folder():
    assert hasattr(pages_manager.PagesManager, "uses_pages_directory"), FIX
    assert '"pages"' in inspect.getsource(pages_manager.PagesManager.__init__), FIX


def test_st_navigation_leaves_the_legacy_mode_by_that_flag():
    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(navigation), FIX


def test_the_script_runner_chooses_the_legacy_mode_by_that_flag():
    source = inspect.getsource(script_runner)
    assert "if PagesManager.uses_pages_directory:" in source and "_mpa_v1(" in source, FIX


def test_the_installed_streamlit_is_the_tested_minor():
    assert streamlit.__version__.startswith("1.67."), (
        f"Streamlit {streamlit.__version__} is not the tested 1.67.x; {FIX}")



def test_what_the_warm_up_uses_to_open_the_browser():
    """app.py's st.App opens the browser the way Streamlit's own server does (leo_app.warmup._open_browser)."""
    from streamlit import cli_util
    from streamlit.web.server import server_util

    assert callable(cli_util.open_browser) and callable(server_util.get_url)
    assert callable(server_util.get_display_address)
