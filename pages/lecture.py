"""Lecture page: the story in chapters (``leo_app.lecture``)."""

from __future__ import annotations

import streamlit as st

from leo_app import state as app_state
from leo_core.i18n import _

if not app_state.run_inside_app():
    st.title(_("Lecture"))
