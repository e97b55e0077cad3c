"""Train page: choose a task family and hyper-parameters, meta-train live, save or load checkpoints, and
the runs saved on this server.

The sidebar's settings, the buttons, the live view and the checkpoints are drawn by ``leo_app.train_view``;
training runs in the session's runner thread, never in this script.
"""

from __future__ import annotations

import streamlit as st

from leo_app import state as app_state
from leo_core.i18n import _
from leo_app import train_view as view
from leo_app.runs_view import runs_panel


def main() -> None:
    if app_state.run_inside_app():  # a link straight to this page on a fresh server
        return
    st.title(_("Train"), help=_(
        "The left chart shows the query loss of θ₀ alone and after k steps; the right one shows θ₀ (dashed) and "
        "its k-step adaptation (thick) on three fixed tasks, updated live. For classification families the left "
        "chart shows query accuracy, and the right one the decision regions (2-D points) or the query images "
        "judged right or wrong (digits, Omniglot) before and after adaptation."))
    st.markdown(_(
        "Meta-train an initialization θ₀ so that **k gradient steps** on a few examples of a *new* task fit it well."
    ))
    view.settings_sidebar()
    view.show_flash()
    runner = view.runner()
    snap = runner.snapshot()
    view.buttons(snap)
    st.session_state["_leo_was_active"] = snap.active
    view.live_view(snap.active)
    view.checkpoints(snap)
    runs_panel(runner, runner.root, app_state.chart)


app_state.show_errors(main)
