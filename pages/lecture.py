"""Lecture page: the story in chapters, each with its live picture (``leo_app.lecture``, ``leo_app.lecture_view``).

``?ch=N`` opens chapter N with its settings; ← and → (keys or buttons) move between chapters; ``?embed=true``
(Streamlit's) hides the sidebar and the toolbar for a slide.
"""

from __future__ import annotations

import streamlit as st

from leo_app import lecture_view as view
from leo_app import state as app_state


def main() -> None:
    if app_state.run_inside_app():  # a link straight to this page on a fresh server
        return
    ch = view.shown()
    view.arrive(ch)  # its preset and settings, once per arrival
    view.navigation(ch)
    if ch.wide:  # the text above the picture, the prompts beside the text
        words, prompts = st.columns([2, 1], gap="large")
        view.text(ch, words, prompts)
        view.picture(ch)
        return
    words, pictures = st.columns([1, 2.4], gap="large")
    view.text(ch, words)
    with pictures:
        view.picture(ch)


app_state.show_errors(main)
