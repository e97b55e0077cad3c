"""What a fresh server does before it answers its first request.

``streamlit run app.py`` finds the ``st.App`` that ``app.py`` defines and serves it; the app's lifespan
(``lifespan`` below) turns Nagle's algorithm off on the server's socket (``leo_app.nodelay``: otherwise every
small response waits 40 ms) and runs ``warm_up`` before the server accepts a connection. Without it, the first
visitor's first page paid for everything a Python process loads once (measured with cProfile on the
first script run of a fresh server, 2-core machine):

- ``torch`` ≈ 1.2 s; our core and figure modules ≈ 0.3 s;
- ``pandas`` ≈ 0.5 s, which Streamlit imports the first time a custom component's data is checked;
- ``torch.fx.experimental.symbolic_shapes`` (it imports ``sympy``) ≈ 0.8 s, which torch imports lazily
  on the first ``torch.autograd.grad``;
- ``torch._dynamo`` ≈ 1.2 s (3–6 s on a loaded core), which ``torch.optim`` imports when the first optimizer is
  built: paid inside a Start callback it froze every session pressing Start at that moment (all ten Start
  callbacks of bench/load_test.py ran together 3.3 s late), and imported in a thread after the first page it
  slowed the pages the next visitors opened;
- compressing the plotly.js bundles (``leo_app.plotly_js``), which the server otherwise did per request.

The same imports now happen once at start-up (``streamlit run`` prints the URL at once and the server
answers when they are done: a request that comes earlier waits, as it did for the imports before). The
browser is opened after the warm-up, where Streamlit's own server would have opened it at start, so a
lecturer's first page finds everything loaded.

No torch at import: ``app.py`` imports this module in the server process before the warm-up.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import sys
import time
import traceback
from contextlib import asynccontextmanager
from pathlib import Path

from leo_app.nodelay import nodelay_listeners

__all__ = ["page_imports", "warm_up", "lifespan", "WARM_MODULES"]

ROOT = Path(__file__).resolve().parent.parent
# What app.py imports in a first script run, and what torch and Streamlit load lazily on a first page.
WARM_MODULES = ("torch", "pandas", "torch.fx.experimental.symbolic_shapes", "torch._dynamo", "leo_app.state",
                "leo_app.runner", "leo_app.background")


def page_imports(pages_dir: Path = ROOT / "pages") -> ast.Module:
    """The top-level import statements of every page script (read from their source), as one module."""
    body: list[ast.stmt] = []
    for page in sorted(pages_dir.glob("*.py")):
        tree = ast.parse(page.read_text(encoding="utf-8"), filename=str(page))
        body += [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                 and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")]
    return ast.Module(body=body, type_ignores=[])


def warm_up() -> float:
    """Import what every first page needs (the pages' own import statements, run here) and what the first
    Start needs, compress the plotly.js bundles and set torch's threads; returns the seconds it took."""
    t0 = time.perf_counter()
    for name in WARM_MODULES:
        importlib.import_module(name)
    exec(compile(page_imports(), "<the pages' imports>", "exec"), {"__name__": "leo_app.warmup.pages"})
    from leo_app import plotly_js

    plotly_js.prepare()  # each plotly.js bundle compressed once, before any tab asks for it
    from leo_core.device import DEFAULT_CPU_THREADS, configure_threads, keep_freed_cpu_memory

    configure_threads(DEFAULT_CPU_THREADS)
    keep_freed_cpu_memory()  # process-wide, once: the server's training threads reuse freed memory
    return time.perf_counter() - t0


def _open_browser() -> None:
    """Open the app in a browser unless the server is headless: what ``streamlit run`` does for a plain script."""
    from streamlit import cli_util, config
    from streamlit.web.server import server_util

    if config.get_option("server.headless"):
        return
    if config.is_manually_set("browser.serverAddress"):
        address = config.get_option("browser.serverAddress")
    elif config.is_manually_set("server.address"):
        address = server_util.get_display_address(config.get_option("server.address"))
    else:
        address = "localhost"
    cli_util.open_browser(server_util.get_url(address))


@asynccontextmanager
async def lifespan(_app):
    """The app's lifespan: TCP_NODELAY on the server's socket (``leo_app.nodelay``), the warm-up (in a worker
    thread), then the browser; a failed warm-up is logged and the server starts anyway (the page that needs the
    missing piece shows the error)."""
    nodelay_listeners()  # before the first connection: every small response otherwise waits 40 ms
    try:
        seconds = await asyncio.to_thread(warm_up)
        print(f"  LEO Explorer is ready (torch and the pages loaded in {seconds:.1f} s).", file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001 - the pages report it properly; the server must still start
        print("  LEO Explorer: the start-up warm-up failed; the first page will load what it needs.\n"
              + traceback.format_exc(), file=sys.stderr, flush=True)
    _open_browser()
    yield
    from leo_app.runner import close_all  # shutting down: every session's run is saved before the process ends

    await asyncio.to_thread(close_all)
