"""Compare page: a live race of algorithms, trained runs and baselines on the same seeded test tasks,
and α × k sweeps.

Four sections, each drawn by ``leo_app.compare_view`` (its widgets from their declarations, its
background work in the session's jobs, never in this script).
"""

from __future__ import annotations

import streamlit as st

from leo_app import compare_view as view
from leo_app import state as app_state
from leo_core.i18n import _


def main() -> None:
    if app_state.run_inside_app():  # a link straight to this page on a fresh server
        return
    st.title(_("Compare"), help=_("Algorithms and baselines side by side: race them live on the same tasks, or compare "
                                  "trained runs adapted on the same seeded test tasks. Shaded bands are 95% intervals of "
                                  "the mean over tasks."))
    for section in (view.race_section, view.collect_section, view.compare_section, view.sweep_section):
        app_state.show_errors(section)  # a failing section leaves the others standing


app_state.show_errors(main)
