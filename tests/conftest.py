"""Shared fixtures: the whole app under Streamlit's AppTest, with its session's runner closed after."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
APP_TIMEOUT = 120  # seconds per script run: an upper bound, short runs finish far sooner


@pytest.fixture
def app():
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.run()
    yield at
    runner = at.session_state["leo_runner"] if "leo_runner" in at.session_state else None
    if runner is not None:
        runner.close()
        assert runner.join(10)
