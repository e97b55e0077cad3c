"""Tables as Markdown text: the same text as a data grid, without its ≈ 1.3 MB of JavaScript (evaluated before a
page is usable: bench/first_paint.py), for the Theory page's tables and the runs list."""

from __future__ import annotations

__all__ = ["markdown_table"]


def markdown_table(rows: list[dict]) -> str:
    """``rows`` (dicts with the same keys) as a markdown table, each cell's ``|`` escaped."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(row[k]) for k in head) + " |" for row in rows]
    return "\n".join(lines)
