"""The runs list (like TensorBoard's run selector): every run directory under the runs root, the app's
and the CLI's, to open, compare and delete; and the session's runs root.

Pages call ``runs_panel``; the run directories themselves are ``leo_core.runs``'s, and the session's
runner (``leo_app.runner.TrainingRunner``) writes and opens them.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from figures.race import race_curve_figure
from leo_core.i18n import _, ngettext
from leo_core.losses import LOSSES
from leo_core.runs import RunInfo, delete_run, list_runs, max_app_runs, prune, read_metrics, runs_root
from leo_core.tasks import TASK_FAMILIES
from leo_core.views.race import race_curve
from .markdown import markdown_table
from .runner import TrainingRunner, runs_in_use

__all__ = ["session_runs_root", "runs_panel", "COMPARE_KEY", "SHOWN_KEY"]

COMPARE_KEY = "runs_compare"  # the runs whose curves the list overlays
SHOWN_KEY = "runs_shown"  # the list is drawn (a toggle, off on a new page)
_FLASH_KEY = "_leo_runs_flash"
_MAX_LISTED = 200  # runs offered by the pickers
_TABLE_ROWS = 12  # the newest runs in the table (a long Markdown table slows every Train page's first paint)
_PRUNE_EVERY_S = 60.0
_pruned = {"at": float("-inf")}


def session_runs_root() -> Path:
    """The runs root (``$LEO_RUNS_DIR`` or ``runs/``), after pruning the oldest app runs not in use (at most once
    a minute per server: a new session should not pay for it every time)."""
    root = runs_root()
    if time.monotonic() - _pruned["at"] >= _PRUNE_EVERY_S:
        _pruned["at"] = time.monotonic()
        try:
            prune(root, max_app_runs(), runs_in_use())
        except OSError:
            pass  # a read-only or missing root: the runner's first save says so
    return root


def _age(stamp: float) -> str:
    s = max(0, int(time.time() - stamp))
    for unit, n in ((_("d"), 86400), (_("h"), 3600), (_("min"), 60)):
        if s >= n:
            return _("{n} {unit} ago").format(n=s // n, unit=unit)
    return _("{n} {unit} ago").format(n=s, unit=_("s"))


def _row(r: RunInfo, current: str | None) -> dict:
    return {_("run"): ("▶ " if r.run_id == current else "") + r.run_id, _("family"): r.family,
            _("algorithm"): r.algorithm, _("iterations"): f"{r.iteration:,} / {r.total:,}", _("status"): _(r.status),
            _("saved"): _age(r.modified), _("from"): r.origin}


def _on_open(runner: TrainingRunner, run_id: str) -> None:
    try:
        note = runner.open(run_id, device=st.session_state.get("device", "auto"))
    except ValueError as exc:
        st.session_state[_FLASH_KEY] = ("error", str(exc))
    else:
        st.session_state[_FLASH_KEY] = ("success", note or _("Opened run {run}.").format(run=run_id))


def _on_delete(root: Path, run_id: str) -> None:
    if run_id in runs_in_use():
        st.session_state[_FLASH_KEY] = ("error", _("Run {run} is open in a session; it was not deleted.").format(
            run=run_id))
        return
    try:
        delete_run(root, run_id)
    except (OSError, ValueError) as exc:
        st.session_state[_FLASH_KEY] = ("error", _("Run {run} was not deleted: {reason}").format(run=run_id,
                                                                                                reason=exc))
    else:
        st.session_state[_FLASH_KEY] = ("success", _("Deleted run {run}.").format(run=run_id))


def _compare_figure(runs: list[RunInfo]):
    """The chosen runs' query accuracy after k steps when every one is a classification run, else their loss."""
    metrics = {}
    for r in runs:
        try:
            metrics[r.run_id] = read_metrics(r.path)
        except (OSError, ValueError):
            continue
    accuracy = bool(metrics) and all(any(v is not None for v in c.get("post_accuracy", [])) for c in metrics.values())
    losses = {LOSSES[TASK_FAMILIES[r.family].loss].display for r in runs if r.family in TASK_FAMILIES}
    curves = [race_curve(run_id, columns, accuracy=accuracy) for run_id, columns in metrics.items()]
    return race_curve_figure(curves, accuracy=accuracy,
                             loss_name=_(losses.pop()) if len(losses) == 1 else _("each family's"), height=400)


def runs_panel(runner: TrainingRunner, root: Path | None, chart) -> None:
    """The runs list: a table, Open and Delete for one chosen run, and the curves of the runs chosen to compare.
    ``chart(fig, name, key=)`` draws a figure the app's way. Nothing without a runs root."""
    if root is None:
        return
    st.subheader(_("Runs"), help=_("Every run directory under {root}: the app saves each run there while it trains, "
                                   "and `python -m leo_core train --out <root>/NAME` runs show here too. The address "
                                   "bar names the open run, so a reload or a restarted server brings it back."
                                   ).format(root=root))
    flash = st.session_state.pop(_FLASH_KEY, None)
    if flash:
        (st.error if flash[0] == "error" else st.success)(flash[1])
    try:
        runs = list_runs(root)[:_MAX_LISTED]
    except OSError as exc:
        st.error(_("The runs under {root} cannot be read: {reason}").format(root=root, reason=exc))
        return
    if not runs:
        st.caption(_("No runs under {root} yet: press Start, or train one with `python -m leo_core train --out "
                     "{root}/my-run`.").format(root=root))
        return
    # Drawn on request: the Train page's first paint should not wait for a list it does not show yet.
    if not st.toggle(ngettext("Show the {n} run saved on this server", "Show the {n} runs saved on this server",
                              len(runs)).format(n=len(runs)), key=SHOWN_KEY, persist_state="session"):
        return
    current = runner.run_key
    st.markdown(markdown_table([_row(r, current) for r in runs[:_TABLE_ROWS]]))
    if len(runs) > _TABLE_ROWS:
        st.caption(_("The {shown} newest of {n} runs; every one can be chosen below.").format(shown=_TABLE_ROWS,
                                                                                             n=len(runs)))
    ids = [r.run_id for r in runs]
    pick, opener, deleter = st.columns([3, 1, 1], vertical_alignment="bottom")
    chosen = pick.selectbox(_("Run"), ids, key="runs_pick", index=ids.index(current) if current in ids else 0)
    opener.button(_("Open"), key="runs_open", icon=":material/folder_open:", width="stretch",
                  on_click=_on_open, args=(runner, chosen), disabled=chosen == current,
                  help=_("Make this run the session's run: its curves, θ₀ and settings; Continue trains it on."))
    deleter.button(_("Delete"), key="runs_delete", icon=":material/delete:", width="stretch",
                   on_click=_on_delete, args=(root, chosen), disabled=chosen in runs_in_use(),
                   help=_("Delete the run's directory (a run open in any session cannot be deleted)."))
    shown = st.multiselect(_("Compare the curves of"), ids, key=COMPARE_KEY, max_selections=8,
                           placeholder=_("Choose runs to overlay their curves…"))
    by_id = {r.run_id: r for r in runs}
    if shown:
        chart(_compare_figure([by_id[i] for i in shown if i in by_id]), "runs", key="runs_chart")
