"""Compare page: trained runs and baselines on the same seeded test tasks, and α × k sweeps.

Runs to compare accumulate in ``st.session_state["leo_compare_runs"]`` (a bounded list of
``leo_core.views.comparison.ComparedRun``): the Train page's current run, uploaded checkpoints, and quick
baselines trained here with the current run's settings.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from leo_app import state as app_state
from leo_core.views import comparison as cmp
from leo_core.checkpoint import CheckpointError, load_checkpoint
from figures.compare import shots_figure, steps_figure, sweep_heatmap_figure
from leo_core.losses import LOSSES
from leo_core.config import EvalConfig, TrainConfig
from leo_core.evaluate import EvalResult
from leo_core.sweep import (MAX_CELLS, SweepConfig, cell_config, estimate_seconds, measure_its_per_sec,
                            parse_grid, run_sweep)
from leo_app.url_state import EVAL_TASKS, SHOT_CHOICES

RUNS_KEY = "leo_compare_runs"
COUNTER_KEY = "leo_compare_counter"
CHOSEN_KEY = "compare_runs"  # the multiselect of runs shown
BASELINE_ITERATIONS = 300


def _runs() -> list[cmp.ComparedRun]:
    return st.session_state.setdefault(RUNS_KEY, [])


def _new_key(prefix: str) -> str:
    st.session_state[COUNTER_KEY] = st.session_state.get(COUNTER_KEY, 0) + 1
    return f"{prefix}-{st.session_state[COUNTER_KEY]}"


def _add(run: cmp.ComparedRun) -> None:
    """Keep ``run`` (the oldest drops out past the bound) and select it in the comparison."""
    st.session_state[RUNS_KEY] = cmp.add_bounded(_runs(), run)
    chosen = st.session_state.get(CHOSEN_KEY)
    if chosen is not None:
        st.session_state[CHOSEN_KEY] = [k for k in chosen if k != run.key] + [run.key]


def _base_config() -> TrainConfig | None:
    """Settings a baseline copies: the current run's, else the newest run in the list."""
    snap = st.session_state.get(app_state.RUN_KEY)
    if snap is not None and snap.config is not None:
        return snap.config
    return _runs()[-1].config if _runs() else None


# -- cached core calls --------------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def _steps(key: str, _run: cmp.ComparedRun, eval_cfg: EvalConfig) -> EvalResult:
    return cmp.steps_curve(_run, eval_cfg)


@st.cache_data(max_entries=64, show_spinner=False)
def _shots(key: str, _run: cmp.ComparedRun, shots: tuple[int, ...], eval_cfg: EvalConfig) -> list[EvalResult]:
    return cmp.shots_curve(_run, shots, eval_cfg)


@st.cache_data(max_entries=16, show_spinner=False)
def _its_per_sec(cfg: TrainConfig) -> float:
    return measure_its_per_sec(cfg)


# -- sections -----------------------------------------------------------------------------------------


def _collect() -> None:
    st.subheader("1 · Collect runs")
    snap = st.session_state.get(app_state.RUN_KEY)
    has_run = snap is not None and snap.config is not None and snap.meta_params is not None
    c1, c2 = st.columns(2)
    with c1:
        if has_run:
            st.caption(f"Current run: {snap.config.family} / {snap.config.algorithm}, {snap.iteration:,} "
                       f"meta-iterations, status: {snap.status}.")
        else:
            st.caption("No run in this session yet: train one on the Train page, upload checkpoints, "
                       "or train a baseline here.")
        if st.button("Add current run to comparison", key="btn_add_run", disabled=not has_run,
                     icon=":material/add:"):
            _add(cmp.from_snapshot(snap, _new_key(f"run{snap.run_id}-{snap.iteration}")))
        files = st.file_uploader("…or upload checkpoints (.pt)", type=["pt"], accept_multiple_files=True,
                                 key="compare_upload", help="Checkpoints from the Train page or the command line.")
        for f in files or []:
            tag = f"upload-{f.name}-{f.size}"
            if any(r.key == tag for r in _runs()):
                continue
            try:
                _add(cmp.from_checkpoint(load_checkpoint(f.getvalue()), tag, name=f.name))
            except CheckpointError as exc:
                st.error(f"{f.name}: {exc}")
    with c2:
        base = _base_config()
        kind = st.radio("Baseline", cmp.BASELINES, horizontal=True, key="baseline_kind",
                        help="pretrained: one model trained jointly on all tasks; random: no training at all. "
                             "Both are fine-tuned with the same α and steps at test time.")
        iters = st.number_input("Baseline meta-iterations", 10, 20_000, BASELINE_ITERATIONS, step=50,
                                key="baseline_iterations", disabled=kind == "random",
                                help="random needs none: its meta-gradient is zero.")
        label = f"Train {kind} baseline" + (f" ({base.family}, α={base.alpha:g}, k={base.k})" if base else "")
        if st.button(label, key="btn_baseline", disabled=base is None, icon=":material/play_arrow:"):
            cfg = replace(base, algorithm=kind, iterations=int(iters))
            with st.spinner(f"Training the {kind} baseline…"):
                _add(cmp.train_run(cfg, _new_key(kind)))
    runs = _runs()
    if runs:
        st.caption(f"{len(runs)} run(s) collected (at most {cmp.MAX_RUNS}; the oldest is dropped).")
        if st.button("Clear the list", key="btn_clear_runs"):
            st.session_state[RUNS_KEY] = []
            st.session_state.pop(CHOSEN_KEY, None)
            st.rerun()


def _compare() -> None:
    st.subheader("2 · Compare on the same test tasks")
    runs = _runs()
    if not runs:
        st.info("Add at least two runs above (for example the current run and a baseline).")
        return
    labels = {r.key: r.label for r in runs}
    # The selection lives in session state (no ``default``), so a newly added run is selected too
    # and a run dropped from the bounded list leaves it.
    st.session_state[CHOSEN_KEY] = [k for k in st.session_state.get(CHOSEN_KEY, list(labels)) if k in labels]
    chosen = st.multiselect("Runs", list(labels), format_func=labels.get, key=CHOSEN_KEY)
    picked = [r for r in runs if r.key in chosen]
    if not picked:
        st.info("Choose at least one run.")
        return
    cmp.check_comparable(picked)
    c1, c2, c3, c4 = st.columns(4)
    tasks = c1.select_slider("Test tasks", EVAL_TASKS, 100, key="eval_tasks",
                             help="More tasks: narrower 95% intervals, slower.")
    steps = c2.slider("Adaptation steps", 1, 20, 10, key="eval_steps")
    shots = c3.multiselect("Shots (second chart)", SHOT_CHOICES, [1, 5, 10], key="eval_shots")
    seed = c4.number_input("Test-task seed", 0, 10**6, 12345, key="eval_seed",
                           help="Every run is evaluated on the tasks this seed draws.")
    family = picked[0].family
    eval_cfg = EvalConfig(tasks=int(tasks), shots=picked[0].config.shots, query=family.eval_query,
                          steps=int(steps), seed=int(seed))
    accuracy = family.is_classification
    loss_name = LOSSES[family.loss].display
    with st.spinner("Evaluating…"):
        results = [_steps(r.key, r, eval_cfg) for r in picked]
        per_shot = [_shots(r.key, r, tuple(sorted(shots)), eval_cfg) for r in picked] if shots else []
    names = [r.label for r in picked]
    if len(picked) < 2:
        st.caption("One run shown; add another (or a baseline) to compare.")
    left, right = st.columns(2)
    app_state.chart(steps_figure(names, results, accuracy=accuracy, loss_name=loss_name), "compare-steps",
                    key="compare_steps", where=left)
    app_state.chart(shots_figure(names, sorted(shots), per_shot, accuracy=accuracy, loss_name=loss_name),
                    "compare-shots", key="compare_shots", where=right)
    bad = [r.label for r, res in zip(picked, results) if not res.finite]
    if bad:
        st.warning("Not finite after some steps (the adaptation overshot): " + "; ".join(bad)
                   + ". Fewer steps, or a run trained with more inner steps, stays finite.")
    st.dataframe(cmp.final_table(picked, results), hide_index=True, width="stretch")


def _sweep() -> None:
    st.subheader("3 · α × k sweep")
    base = _base_config()
    if base is None:
        st.info("A sweep copies the current run's family, algorithm and settings: train or add a run first.")
        return
    st.caption(f"Each cell meta-trains {base.family} / {base.algorithm} with one α and k (other settings from the "
               f"current run, same seed), then measures the query loss after k steps with that α.")
    c1, c2, c3 = st.columns(3)
    alphas_text = c1.text_input("α values", "0.003, 0.01, 0.03", key="sweep_alphas")
    ks_text = c2.text_input("k values", "1, 3, 5", key="sweep_ks")
    iters = c3.number_input("Meta-iterations per cell", 10, 5000, 100, step=10, key="sweep_iterations")
    sweep = SweepConfig(base=base, alphas=parse_grid(alphas_text, float), ks=parse_grid(ks_text, int),
                        iterations=int(iters), eval=EvalConfig(tasks=100, shots=base.shots, seed=12345))
    rate = _its_per_sec(cell_config(sweep, max(sweep.alphas), max(sweep.ks)))
    est = estimate_seconds(sweep, rate)
    st.caption(f"{sweep.cells} cells (at most {MAX_CELLS}) × {sweep.iterations} iterations at ≈{rate:.0f} it/s "
               f"(measured at k = {max(sweep.ks)}) ≈ {est:.0f} s of training, plus evaluation.")
    if st.button(f"Run sweep (≈{est:.0f} s)", key="btn_sweep", icon=":material/grid_on:"):
        bar = st.progress(0.0, text="Starting…")
        result = run_sweep(sweep, progress=lambda d, t: bar.progress(d / t, text=f"{d} of {t} cells"))
        bar.empty()
        st.session_state["leo_compare_sweep"] = result
    result = st.session_state.get("leo_compare_sweep")
    if result is not None:
        app_state.chart(sweep_heatmap_figure(result), "sweep", key="sweep_heatmap")


def main() -> None:
    if app_state.run_inside_app():  # a link straight to this page on a fresh server
        return
    st.title("Compare")
    st.markdown("Meta-learned initializations and baselines side by side, adapted with the same α on the same "
                "seeded test tasks. Shaded bands are 95% intervals of the mean over tasks.")
    for section in (_collect, _compare, _sweep):
        try:
            section()
        except ValueError as exc:
            st.error(str(exc))


try:
    main()
except Exception as exc:  # never a traceback on screen
    st.error(f"Something went wrong on this page: {type(exc).__name__}: {exc}")
