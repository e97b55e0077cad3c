"""The three layers stay apart, and no module imports itself back through a cycle.

- ``leo_core/``: torch compute. Imports neither plotly, streamlit, ``figures`` nor ``leo_app``.
- ``figures/``: plotly figures from data. Imports no streamlit and nothing of ``leo_app``; it may read
  ``leo_core``'s result types.
- ``leo_app/`` and the pages: the app side, free to import both.

The imports are read from the source with ``ast`` (module-level and function-level alike), so a
lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("leo_core", "figures", "leo_app")
FORBIDDEN = {
    "leo_core": ("streamlit", "plotly", "figures", "leo_app"),
    "figures": ("streamlit", "leo_app"),
}


def _modules(package: str) -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved); TYPE_CHECKING
    blocks are left out, since they never run."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{a.name}" for a in node.names)  # "from pkg import submodule"
    return names


ALL = {name: path for pkg in PACKAGES for name, path in _modules(pkg).items()}
GRAPH = {name: {i for i in _imports(path, name) if i in ALL and i != name} for name, path in ALL.items()}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(package):
    bad = []
    for name, path in _modules(package).items():
        for imported in _imports(path, name):
            top = imported.split(".")[0]
            if top in FORBIDDEN[package]:
                bad.append(f"{name} imports {imported}")
    assert not bad, "layer rule broken:\n" + "\n".join(bad)


def test_no_import_cycles():
    # A module's own package __init__ is imported first by Python anyway; ignore that edge.
    graph = {m: {i for i in deps if not m.startswith(i + ".")} for m, deps in GRAPH.items()}
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" → ".join(stack[stack.index(nxt):] + [node, nxt]) if nxt in stack else f"{node} → {nxt}")
            elif nxt not in state:
                visit(nxt, stack + [node])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_scanner_sees_a_forbidden_import(tmp_path):
    """The scan is not vacuous: a plotly import in a core-like module is found."""
    mod = tmp_path / "x.py"
    mod.write_text("import torch\nfrom plotly import graph_objects\ndef f():\n    import streamlit\n")
    assert {"plotly", "plotly.graph_objects", "streamlit", "torch"} <= _imports(mod, "leo_core.x")


# Names whose call (or import) in a page would train or run an evaluation loop in the page script.
# Pages start background jobs instead (leo_app.background, leo_app.race) and poll them.
TRAINING_NAMES = {"Trainer", "train_to_end", "evaluate", "run_sweep", "train_run",
                  "run_cell", "run_cells", "train_cli"}


def _training_uses(path: Path) -> list[str]:
    """Every import of, call to, or attribute use of a training/evaluation entry point in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name.split(".")[-1] for a in node.names] + [a.asname for a in node.names if a.asname]
            found += [f"{path.name}:{node.lineno} imports {n}" for n in names if n in TRAINING_NAMES]
            if isinstance(node, ast.ImportFrom) and node.module in ("leo_core.train", "leo_core.evaluate"):
                bad = [a.name for a in node.names if a.name not in ("make_family", "make_model", "EvalResult")]
                found += [f"{path.name}:{node.lineno} imports {n} from {node.module}" for n in bad]
        elif isinstance(node, ast.Name) and node.id in TRAINING_NAMES:
            found.append(f"{path.name}:{node.lineno} uses {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in TRAINING_NAMES:
            found.append(f"{path.name}:{node.lineno} uses .{node.attr}")
    return found


def test_no_page_script_trains():
    """Pages and their sections (``leo_app/*_view.py``) never call the trainer or an evaluation loop directly:
    training runs in background jobs."""
    pages = sorted((ROOT / "pages").glob("*.py")) + sorted((ROOT / "leo_app").glob("*_view.py"))
    assert len(pages) >= 10
    found = [use for page in pages for use in _training_uses(page)]
    assert not found, "pages that train or evaluate in the script:\n" + "\n".join(found)


def test_the_page_scan_sees_training(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("from leo_core.train import Trainer\nfrom leo_core.views import comparison as cmp\n"
                    "def f(cfg):\n    cmp.train_run(cfg, 'k')\n    import leo_core.sweep as s\n    s.run_sweep(cfg)\n")
    uses = _training_uses(page)
    assert any("imports Trainer" in u for u in uses)
    assert any(".train_run" in u for u in uses) and any(".run_sweep" in u for u in uses)
