"""The server's start-up warm-up (leo_app/warmup.py): what it imports, that ``streamlit run app.py`` serves it,
and that a failed warm-up or a headless server still starts."""

from __future__ import annotations

import ast
import asyncio
import gzip
import subprocess
import sys
import urllib.request
from pathlib import Path

from streamlit import cli_util, config
from streamlit.web.server.app_discovery import discover_asgi_app

from leo_app import plotly_js, warmup

ROOT = Path(__file__).resolve().parent.parent


def test_the_page_imports_are_read_from_every_page():
    statements = warmup.page_imports().body
    modules = {node.module for node in statements if isinstance(node, ast.ImportFrom)}
    names = {(node.module, alias.name) for node in statements if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    # The pages import their views (which import torch, the core and the figures); the warm-up runs these.
    assert {("leo_app", "train_view"), ("leo_app", "compare_view"), ("leo_app.runs_view", "runs_panel")} <= names
    assert "__future__" not in modules


def test_a_fresh_interpreter_has_everything_a_first_page_loads_after_the_warm_up():
    # The pages import submodules by name (``from leo_core.views import landscape``): those count too.
    expected = ("torch", "pandas", "sympy", "torch._dynamo", "leo_app.runner", "leo_core.views.landscape", "leo_core.views.race",
                "figures.compare", "leo_core.checkpoint")
    code = ("import sys, torch; from leo_app.warmup import warm_up; seconds = warm_up(); "
            f"missing = [m for m in {expected!r} if m not in sys.modules]; "
            "assert not missing, missing; assert seconds > 0; assert torch.get_num_threads() == 1; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_streamlit_run_finds_the_app_that_app_py_defines():
    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app", found


def _run_lifespan() -> list[str]:
    events = []

    async def go():
        async with warmup.lifespan(None):
            events.append("serving")

    asyncio.run(go())
    return events


def test_a_failed_warm_up_still_starts_the_server(monkeypatch, capsys):
    def broken() -> float:
        raise ImportError("no module named 'torch'")

    opened = []
    monkeypatch.setattr(warmup, "warm_up", broken)
    monkeypatch.setattr(warmup, "_open_browser", lambda: opened.append(True))
    assert _run_lifespan() == ["serving"]
    assert opened == [True]
    err = capsys.readouterr().err
    assert "warm-up failed" in err and "no module named 'torch'" in err


def test_the_browser_opens_after_the_warm_up_unless_headless(monkeypatch):
    opened = []
    monkeypatch.setattr(cli_util, "open_browser", opened.append)
    monkeypatch.setattr(warmup, "warm_up", lambda: 0.0)
    for headless, expected in ((True, 0), (False, 1)):
        config.set_option("server.headless", headless)
        try:
            _run_lifespan()
        finally:
            config.set_option("server.headless", None)
        assert len(opened) == expected
    assert opened[0].startswith("http://localhost:"), opened


def test_a_fresh_server_answers_after_its_warm_up_and_serves_the_app(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    from app_server import start_server, stop_server

    log = tmp_path / "server.log"
    url, proc = start_server(log, timeout_s=120)
    try:
        # The server answers only once the lifespan is done, so its line is already in the log.
        assert "LEO Explorer is ready" in log.read_text(), log.read_text()
        with urllib.request.urlopen(f"{url}/adaptation", timeout=30) as page:
            assert page.status == 200 and '<div id="root"' in page.read().decode()
        # plotly.js: compressed at start-up, cached by the browser for good (leo_app/plotly_js.py)
        request = urllib.request.Request(f"{url}/{plotly_js.url('2d')}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=30) as bundle:
            assert bundle.status == 200 and bundle.headers["Content-Encoding"] == "gzip"
            assert "immutable" in bundle.headers["Cache-Control"]
            assert gzip.decompress(bundle.read()) == plotly_js.BUNDLES["2d"].read_bytes()
    finally:
        stop_server(proc)
