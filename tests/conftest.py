"""Shared fixtures: the whole app under Streamlit's AppTest (its session's runner closed after), and for the
browser tests a real app server and Debian Chromium (one of each per test module)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from helpers import close_app

APP = str(Path(__file__).resolve().parent.parent / "app.py")
APP_TIMEOUT = 120  # seconds per script run: an upper bound, short runs finish far sooner
# Runs the app saves during the tests (AppTest sessions and the browser tests' servers) go to a scratch root,
# never the checkout's runs/.
os.environ["LEO_RUNS_DIR"] = tempfile.mkdtemp(prefix="leo-test-runs-")


@pytest.fixture
def app():
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.run()
    yield at
    close_app(at)


@pytest.fixture(scope="module")
def server():
    from browser_helpers import ARTIFACTS, start_server, stop_server

    ARTIFACTS.mkdir(exist_ok=True)
    try:
        url, proc = start_server(ARTIFACTS / "streamlit-server.log")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield url, proc
    stop_server(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from browser_helpers import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
