"""How often a page's live views refresh: fast while few runs train on the server, slower in a crowd.

Every live-view refresh runs a script in the server process and competes with the training threads for
the GIL; when many sessions train at once (a lecture room), the pages poll more slowly so page switches
stay responsive: the period grows with the runs wanting to train beyond ``CROWD_FREE_RUNS``. A fragment's
``run_every`` is fixed when the page builds it, so a page rebuilds its live view when the crowd has
doubled or halved since (``period_stale``).
"""

from __future__ import annotations

import streamlit as st

from .jobs import default_slots

__all__ = ["CROWD_FREE_RUNS", "RETIME_RATIO", "crowd_factor", "remember_crowd", "period_stale"]

CROWD_FREE_RUNS = 2
RETIME_RATIO = 2.0  # rebuild a live view when the crowd factor doubled or halved since it was built
_CROWD_KEY = "_leo_crowd_factor"  # the crowd factor the live view's periods were built with


def crowd_factor() -> float:
    """1 while few runs train on this server, proportionally more in a crowd."""
    return max(1.0, default_slots().demand / CROWD_FREE_RUNS)


def remember_crowd(active: bool) -> float:
    """The crowd factor the live view is built with now (kept while it polls); returns it."""
    crowd = crowd_factor()
    st.session_state[_CROWD_KEY] = crowd if active else None
    return crowd


def period_stale() -> bool:
    """True when the crowd changed so much since the live view was built that its periods are off."""
    built = st.session_state.get(_CROWD_KEY)
    return built is not None and not 1 / RETIME_RATIO < crowd_factor() / built < RETIME_RATIO
