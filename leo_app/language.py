"""The session's language: chosen once from the link (``?lang=zh``) or the browser, switched in the sidebar.

Light (Streamlit and ``leo_core.i18n`` only): ``app.py`` needs it before the navigation's titles, ahead of torch.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from leo_core.i18n import LANGUAGES, best_language

__all__ = ["LANG_KEY", "session_language", "choose_language"]

LANG_KEY = "lang"  # the session's language (also ?lang=zh); the browser's by default


def session_language() -> str | None:
    """The session's language, for ``leo_core.i18n`` (None outside a script run: a worker thread)."""
    if get_script_run_ctx() is None:
        return None
    try:
        return st.session_state.get(LANG_KEY)
    except Exception:  # noqa: BLE001 — no session (a bare import in a test)
        return None


def choose_language() -> str:
    """The session's language, decided once: the link's ``?lang=``, else the browser's, else English."""
    if LANG_KEY not in st.session_state:
        raw = str(st.query_params.get(LANG_KEY, "")).strip().lower()
        st.session_state[LANG_KEY] = raw if raw in LANGUAGES else best_language(st.context.locale)
    return st.session_state[LANG_KEY]
