"""Small shared builders for the core tests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, TypeVar

import torch

from leo_core.config import TrainConfig

T = TypeVar("T")

# How long a test waits for something that should happen (a thread to end, a run to finish, a chart to
# appear): an upper bound, not a speed requirement. Generous, because the test machine may be shared
# and busy; a passing wait returns as soon as its condition holds.
WAIT_S = 60.0

TINY = dict(hidden=(8, 8), meta_batch=4, shots=5, query=5, iterations=10, device="cpu")


def tiny_config(**overrides) -> TrainConfig:
    return TrainConfig(**{**TINY, **overrides})


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def no_errors(at) -> None:
    """An AppTest run showed neither an exception nor an ``st.error``."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def wait_until(predicate: Callable[[], T], timeout: float = WAIT_S, what: str = "the condition") -> T:
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` seconds pass (AssertionError
    naming ``what``). For waits only: how long it took is never asserted."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def join_jobs(at, timeout: float = 120) -> None:
    """Wait for every background job and race thread of an AppTest session, then rerun the page."""
    jobs = at.session_state["leo_jobs"] if "leo_jobs" in at.session_state else None
    if jobs is not None:
        for thread in jobs.threads():
            thread.join(timeout)
            assert not thread.is_alive(), f"{thread.name} still running after {timeout} s"
    at.run()


def charts(at) -> dict[str, dict]:
    """The page's charts by widget key, each ``{"figure", "config", "height"}``: every chart of the app is
    its one plotly component (``leo_app.live_chart``), drawn in place by ``Plotly.react``."""
    out = {}
    for c in at.get("bidi_component"):
        data = json.loads(c.proto.json) if c.proto.component_name.endswith("leo_live_chart") else ""
        if data.startswith("{"):  # else preload_plotly's invisible element (a bundle's name)
            out[c.proto.id.split("-", 2)[2]] = json.loads(data)
    return out


APP = str(Path(__file__).resolve().parent.parent / "app.py")
APP_TIMEOUT = 300  # seconds per script run: an upper bound, short runs finish far sooner


def open_app(page: str = "train", **params: str):
    """The whole app in AppTest, opened straight at ``page`` with the link's ``params`` (as a link opens it: the
    page's own query keys applied), after its first run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.query_params.update(params)
    if page != "train":
        at.switch_page(f"pages/{page}.py")
    at.run()
    return at


def close_app(at) -> None:
    """Stop an AppTest session's runner and background jobs, and wait for their threads."""
    runner = at.session_state["leo_runner"] if "leo_runner" in at.session_state else None
    if runner is not None:
        runner.close()
        assert runner.join(WAIT_S)
    jobs = at.session_state["leo_jobs"] if "leo_jobs" in at.session_state else None
    if jobs is not None:
        jobs.close()
        for thread in jobs.threads():
            thread.join(WAIT_S)
            assert not thread.is_alive(), thread.name
