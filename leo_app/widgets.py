"""Widgets made from the settings' one declaration (``leo_core.settings``), and the recommended settings.

``setting_widget`` draws the widget a ``Setting`` calls for (label, help, range, options from the
declaration; its key is the setting's name, which is also its URL key). ``start_from_recommended``
puts the recommended settings of the chosen family and algorithm into the session when the user
has not set them, ``apply_recommended`` does so on request (a family or algorithm change, the
reset button), and ``changed_from_recommended`` lists what the user has moved away from them.
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from leo_core.recommended import TUNED_FIELDS, recommended_settings
from leo_core.i18n import _, language, shown, use_language
from leo_core.settings import SETTINGS, Setting
from leo_core.config import TrainConfig
from leo_core.tasks import TASK_FAMILIES, get_family

__all__ = ["setting_widget", "in_language", "follow_run", "recommended_values", "start_from_recommended", "apply_recommended", "changed_from_recommended",
           "RECOMMENDED_FOR_KEY"]

RECOMMENDED_FOR_KEY = "_leo_recommended_for"  # (family, algorithm) whose recommendations the widgets hold
_SLIDER_MAX_SPAN = 100  # wider integer ranges get a number input instead of a slider


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def in_language(format_func: Callable[[Any], str]) -> Callable[[Any], str]:
    """``format_func`` held to the language the page is drawn in now: Streamlit's test harness calls a widget's
    ``format_func`` again outside the script run (where the session's language is not known), and it must give
    the same option text there."""
    lang = language()

    def fmt(value: Any) -> str:
        with use_language(lang):
            return format_func(value)

    return fmt


def _shown_options(format_func: Callable[[Any], str]) -> Callable[[Any], str]:
    """``format_func`` with its words in the reader's language (an option's text that the catalog holds, such as
    ``"random"`` or a family's title; numbers and keys come back as they are)."""
    return in_language(lambda value: shown(format_func(value)))


def setting_widget(where: Any, setting: Setting, *, format_func: Callable[[Any], str] | None = None,
                   on_change: Callable[[], None] | None = None, default: Any = None, high: float | None = None,
                   disabled: bool = False, help: str | None = None, label: str | None = None) -> Any:
    """Draw ``setting``'s widget in ``where`` (the sidebar, an expander, a column); returns its value.

    Label, help, range, options and default come from the declaration (``leo_core.settings``,
    ``leo_core.page_settings``); ``default`` replaces the declared one where it depends on the run, ``high``
    lowers a slider's top where the run allows fewer, ``help`` and ``label`` replace the declared text where
    the page knows more. The value lives in ``st.session_state[setting.name]`` for the whole session
    (``persist_state``), so it survives page switches and feeds the URL.
    """
    st.session_state.setdefault(setting.name, setting.default if default is None else default)
    common = dict(key=setting.name, help=shown(help or setting.help), on_change=on_change, persist_state="session",
                  disabled=disabled)
    label = shown(label or setting.label)
    fmt = _shown_options(format_func) if format_func else in_language(shown if setting.words else str)
    if setting.multi:
        return where.multiselect(label, list(setting.choices), format_func=fmt, **common)
    if setting.text:
        box = where.text_area if setting.lines else where.text_input
        return box(label, max_chars=setting.text, **common)
    if setting.choices is not None:
        options = list(setting.choices)
        if setting.radio:
            return where.radio(label, options, horizontal=True, format_func=fmt, **common)
        return where.selectbox(label, options, format_func=fmt, **common)
    if setting.stops is not None:
        common["help"] = _("{help} Log scale.").format(help=common["help"])
        return where.select_slider(label, options=list(setting.stops), format_func=format_func or _fmt, **common)
    if setting.kind is bool:
        return where.toggle(label, **common)
    top = setting.high if high is None else high
    if setting.kind is int and top - setting.low <= _SLIDER_MAX_SPAN:
        return where.slider(label, int(setting.low), int(top), step=int(setting.step or 1), **common)
    if setting.kind is float and setting.step is not None:
        return where.slider(label, float(setting.low), float(top), step=float(setting.step), **common)
    step = setting.step or (1 if setting.kind is int else None)
    return where.number_input(label, min_value=setting.kind(setting.low), max_value=setting.kind(top),
                              step=setting.kind(step) if step else None, **common)


def follow_run(page: str, run_id: int, names: tuple[str, ...]) -> None:
    """A page's run-dependent settings (its α and k start at the run's) start again from the new run's values
    when the session's run changes; the first visit keeps what a link set."""
    marker = f"_leo_{page}_follows_run"
    seen = st.session_state.get(marker)
    if seen is not None and seen != run_id:
        for name in names:
            st.session_state.pop(name, None)
    st.session_state[marker] = run_id


def _widget_fields() -> list[str]:
    """The recommended fields a page shows as widgets (the rest stay at their recommended values)."""
    return [name for name in TUNED_FIELDS if name in SETTINGS]


def recommended_values(family: str, algorithm: str) -> dict[str, Any]:
    """The recommended values of the widget fields, and the family's own problem defaults (Omniglot's one query
    image per class), as the command line takes them."""
    rec = recommended_settings(family, algorithm)
    # A field any family sets goes back to TrainConfig's default under the others (leaving Omniglot: query 10).
    defaults = TrainConfig()
    problem = {name: getattr(defaults, name) for f in TASK_FAMILIES.values() for name in f.train_defaults()}
    return {**{name: rec[name] for name in _widget_fields()}, **problem, **get_family(family).train_defaults()}


def apply_recommended(family: str, algorithm: str) -> None:
    """Set every tuned widget to the recommended value for ``family`` and ``algorithm``."""
    for name, value in recommended_values(family, algorithm).items():
        st.session_state[name] = value
    st.session_state[RECOMMENDED_FOR_KEY] = (family, algorithm)


def start_from_recommended(family: str, algorithm: str) -> None:
    """Fill the tuned widgets the session (or the link) has not set with the recommended values, once."""
    if RECOMMENDED_FOR_KEY in st.session_state:
        return
    for name, value in recommended_values(family, algorithm).items():
        st.session_state.setdefault(name, value)
    st.session_state[RECOMMENDED_FOR_KEY] = (family, algorithm)


def changed_from_recommended(family: str, algorithm: str, shown: set[str]) -> list[tuple[Setting, Any, Any]]:
    """``(setting, current, recommended)`` for each shown tuned setting the user moved away from."""
    rec = recommended_settings(family, algorithm)
    out = []
    for name in _widget_fields():
        if name in shown and name in st.session_state and st.session_state[name] != rec[name]:
            out.append((SETTINGS[name], st.session_state[name], rec[name]))
    return out
