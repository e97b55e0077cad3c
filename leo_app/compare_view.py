"""The Compare page's logic: the runs collected to compare, its background jobs (baselines, sweeps) and race,
the cached evaluations, and each section's widgets and charts.

No training happens in a page script: the race runs in the session's ``RaceRunner`` and the baselines
and sweeps in background jobs (``leo_app.background``), all under the server's job slots; the sections
start them and poll them in fragments. Runs to compare accumulate in ``st.session_state["leo_compare_runs"]``
(a bounded list of ``leo_core.views.comparison.ComparedRun``): the Train page's current run, uploaded
checkpoints, finished baselines and race entries. Every setting's widget is made from its declaration
(``leo_core.page_settings``).
"""

from __future__ import annotations

import streamlit as st

from figures.classification import classification_preview_figure
from figures.compare import shots_figure, steps_figure, sweep_heatmap_figure
from figures.race import race_curve_figure, race_fit_figure
from leo_core.checkpoint import CheckpointError, load_checkpoint
from leo_core.config import EvalConfig, TrainConfig
from leo_core.evaluate import EvalResult
from leo_core.i18n import N_, _, ngettext, shown
from leo_core.losses import LOSSES
from leo_core.page_settings import PAGE_SETTINGS, RECOMMENDED_CHOICE, race_override
from leo_core.sweep import MAX_CELLS, SweepConfig, cell_config, estimate_seconds, measure_its_per_sec, parse_grid
from leo_core.tasks import TASK_FAMILIES
from leo_core.views import comparison as cmp
from leo_core.views.classification_preview import classification_preview
from leo_core.views.preview import preview_curves, preview_tasks
from leo_core.views.race import RaceConfig, race_config, race_curve

from . import state as app_state
from .background import JobSnapshot, SessionJobs, TrainedResult, sweep_work, train_work
from .job import STATUS_TEXT, Status
from .polling import crowd_factor
from .race import RaceRunner, RaceSnapshot
from .widgets import setting_widget

__all__ = ["race_section", "collect_section", "compare_section", "sweep_section", "RUNS_KEY"]

S = PAGE_SETTINGS["compare"]

RUNS_KEY = "leo_compare_runs"
COUNTER_KEY = "leo_compare_counter"
CHOSEN_KEY = "compare_runs"  # the multiselect of runs shown
SWEEP_KEY = "leo_compare_sweep"  # the newest sweep result (partial when stopped)
RACE_POLL_S = 0.5  # the race chart's refresh period while racing
RACE_CHART_HEIGHT = 380  # the race chart, under the race's settings, whole at 1440×900
RACE_FIT_POLL_S = 2.0  # the fit panel's (it adapts every entry on the fixed tasks)


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


# -- background work -----------------------------------------------------------------------------------


def _jobs() -> SessionJobs:
    return st.session_state[app_state.JOBS_KEY]


def _race() -> RaceRunner:
    return _jobs().race


def race_started() -> bool:
    """Whether this session has a race (running, paused or finished) for the race section to show."""
    return _race().snapshot().status != Status.IDLE


def _job_status(snap: JobSnapshot, unit: str, stop_key: str) -> None:
    """A job's status line, progress with ETA, and (while active) its stop button."""
    text = f"{snap.label}: {_(STATUS_TEXT.get(snap.status, snap.status))}"
    if snap.status != Status.QUEUED:
        text += _(" · {done} of {total} {unit} · elapsed {elapsed}").format(
            done=f"{snap.done:,}", total=f"{snap.total:,}", unit=_(unit), elapsed=app_state.fmt_seconds(snap.elapsed))
        if snap.active:
            text += _(" · ETA {eta}").format(eta=app_state.fmt_seconds(snap.eta))
    st.progress(snap.progress, text=text)
    if snap.error:
        st.error(snap.error)
    if snap.active and st.button(_("Stop"), key=stop_key, icon=":material/stop:"):
        _jobs().stop(snap.name)
        st.rerun()


def _watch(name: str, unit: str, stop_key: str, on_done) -> None:
    """Poll job ``name`` in a fragment while it runs; when it ends, hand its result to ``on_done`` once."""
    snap = _jobs().snapshot(name)
    if snap is None:
        return
    seen = st.session_state.setdefault("_leo_jobs_taken", set())

    def view() -> None:
        now = _jobs().snapshot(name)
        if now is None:
            return
        _job_status(now, unit, stop_key)
        if not now.active and now.result is not None and now.job_id not in seen:
            seen.add(now.job_id)
            on_done(now)
            st.rerun()
        elif snap.active and not now.active:
            st.rerun()

    st.fragment(view, run_every=RACE_POLL_S * 2 * crowd_factor() if snap.active else None)()


# -- the race ------------------------------------------------------------------------------------------


def _overrides(chosen: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for key in chosen:
        mine = {}
        a = st.session_state.get(race_override("alpha", key).name, RECOMMENDED_CHOICE)
        k = st.session_state.get(race_override("k", key).name, RECOMMENDED_CHOICE)
        if a != RECOMMENDED_CHOICE:
            mine["alpha"] = float(a)
        if k != RECOMMENDED_CHOICE:
            mine["k"] = int(k)
        out[key] = mine
    return out


def _race_config() -> RaceConfig | None:
    """The race's widgets (each from its declaration) and the race they set up, or None without entries."""
    c1, c2, c3, c4, c5 = st.columns([1.2, 3, 1, 1, 1])
    family = setting_widget(c1, S["race_family"],
                            format_func=lambda k: _(TASK_FAMILIES[k].title).split(" (")[0].split("（")[0])
    chosen = setting_widget(c2, S["race"])
    iterations = setting_widget(c3, S["race_iterations"])
    shots = setting_widget(c4, S["race_shots"])
    meta_batch = setting_widget(c5, S["race_meta_batch"])
    fam = TASK_FAMILIES[family]
    with st.expander(_("Each entry's settings (α, k), the shared seed and ways"), icon=":material/tune:"):
        st.caption(_race_settings_text(family, chosen, iterations, shots, meta_batch))
        d1, d2 = st.columns(2)
        seed = setting_widget(d1, S["race_seed"])
        ways = setting_widget(d2, S["race_ways"], disabled=not fam.is_classification)
        for key in chosen:
            e1, e2, _rest = st.columns([1, 1, 3])
            setting_widget(e1, race_override("alpha", key))
            setting_widget(e2, race_override("k", key))
    if not chosen:
        st.info(_("Choose at least one algorithm to race."))
        return None
    return race_config(family, chosen, iterations=int(iterations), seed=int(seed), shots=int(shots),
                       ways=int(ways) if fam.is_classification else None, meta_batch=int(meta_batch),
                       overrides=_overrides(chosen))


def _race_settings_text(family: str, chosen: list[str], iterations, shots, meta_batch) -> str:
    """What each entry trains with (recommended unless the user set it) and what they share."""
    try:
        cfg = race_config(family, chosen, iterations=int(iterations), shots=int(shots), meta_batch=int(meta_batch),
                          seed=int(st.session_state.get("race_seed", S["race_seed"].default)),
                          overrides=_overrides(chosen),
                          ways=int(st.session_state.get("race_ways", S["race_ways"].default))
                          if TASK_FAMILIES[family].is_classification
                          else None)
    except ValueError as exc:
        return str(exc)
    shared = cfg.shared
    return _("Each entry's own settings (recommended unless marked yours): {entries}. Shared: {family} · "
             "{shots} shots · query {query} · meta-batch {meta_batch} · seed {seed} · {iterations} meta-iterations "
             "each.").format(entries=" ‖ ".join(f"**{e.key}** {e.describe()}" for e in cfg.entries),
                             family=shared.family, shots=shared.shots, query=shared.query,
                             meta_batch=shared.meta_batch, seed=shared.seed, iterations=f"{shared.iterations:,}")


def race_section() -> None:
    st.subheader(_("Race: algorithms meta-training side by side"),
                 help=_("Every entry trains at once, one meta-iteration each in turn, on the same meta-batches (same "
                        "seed). A race runs as one background job of this session, so it takes one of the server's "
                        "training slots however many entries it has."))
    race = _race()
    snap = race.snapshot()
    cfg = _race_config()
    b = st.columns([2, 1, 1, 3])
    n = len(cfg.entries) if cfg else 0
    if b[0].button(ngettext("Start the race ({n} entry)", "Start the race ({n} entries)", n).format(n=n),
                   key="btn_race", type="primary",
                   icon=":material/sprint:", disabled=cfg is None):
        race.start(cfg)
        st.rerun()
    if snap.status == Status.PAUSED:
        if b[1].button(_("Resume"), key="btn_race_resume", icon=":material/play_arrow:"):
            race.resume()
            st.rerun()
    elif b[1].button(_("Pause"), key="btn_race_pause", icon=":material/pause:",
                     disabled=snap.status not in (Status.RUNNING, Status.QUEUED)):
        race.pause()
        st.rerun()
    if b[2].button(_("Stop"), key="btn_race_stop", icon=":material/stop:", disabled=not snap.active):
        race.stop()
        st.rerun()
    if snap.race is None:
        return
    active = snap.active
    crowd = crowd_factor()
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.fragment(app_state.guarded(_race_live), run_every=RACE_POLL_S * crowd if active else None)()
    with right:
        st.fragment(app_state.guarded(_race_fit), run_every=RACE_FIT_POLL_S * crowd if active else None)()
    if snap.evaluation is not None:
        _race_results(snap)


def _race_live() -> None:
    snap = _race().snapshot()
    was = st.session_state.get("_leo_race_was_active", False)
    st.session_state["_leo_race_was_active"] = snap.active
    if snap.race is None:
        return
    classify = snap.entries[0].family.is_classification if snap.entries else False
    text = _("**{status}** · iteration {iteration} of {total}").format(
        status=_(STATUS_TEXT.get(snap.status, snap.status)), iteration=f"{snap.iteration:,}", total=f"{snap.total:,}")
    if snap.active:
        text += _(" · ETA {eta}").format(eta=app_state.fmt_seconds(snap.eta))
    top, toggle = st.columns([3, 2], vertical_alignment="bottom")
    top.markdown(text)
    top.progress(snap.progress)
    if snap.error:
        st.error(snap.error)
    if snap.save_error:
        st.warning(shown(snap.save_error), icon=":material/save:")
    for e in snap.entries:
        if e.status == "diverged":
            st.warning(_("{entry} diverged at iteration {iteration}: {error}").format(
                entry=e.key, iteration=f"{e.iteration:,}", error=shown(e.error)))
    x_axis = S["race_x"]
    st.session_state.setdefault(x_axis.name, x_axis.default)
    x = toggle.segmented_control(shown(x_axis.label), x_axis.choices, key=x_axis.name, required=True,
                                 persist_state="session", help=shown(x_axis.help),
                                 format_func=lambda v: _("iterations") if v == "iterations" else _("seconds"))
    curves = [race_curve(e.key, e.columns, accuracy=classify, status=e.status) for e in snap.entries]
    loss_name = _(LOSSES[snap.entries[0].family.loss].display) if snap.entries else "MSE"
    app_state.chart(race_curve_figure(curves, x=x or x_axis.default, accuracy=classify, loss_name=loss_name,
                                      height=RACE_CHART_HEIGHT),
                   "race", key="race_chart")
    if was and not snap.active:
        st.rerun()  # the race ended: show the evaluation and stop polling


def _race_fit() -> None:
    snap = _race().snapshot()
    if not snap.entries:
        return
    family = snap.entries[0].family
    if family.is_classification:
        st.markdown(_("**Each entry adapted (k steps) on the same fixed tasks**"))
        tabs = st.tabs([e.key for e in snap.entries])
        for tab, e in zip(tabs, snap.entries):
            if e.meta_params is None:
                continue
            data = classification_preview(e.model, e.family, e.algorithm, e.meta_params, e.config.shots,
                                          e.config.alpha, e.config.k)
            app_state.chart(classification_preview_figure(data), f"race-fit-{e.key}", key=f"race_fit_{e.key}",
                            where=tab)
        return
    st.markdown(_("**Each entry adapted (its k steps) on the same three fixed tasks**"))
    tasks = preview_tasks(family, snap.entries[0].config.shots)
    curves = [preview_curves(e, tasks, e.config.k) if e.meta_params is not None else None for e in snap.entries]
    app_state.chart(race_fit_figure([e.key for e in snap.entries], curves), "race-fit", key="race_fit")


def _race_results(snap: RaceSnapshot) -> None:
    st.markdown(_("**After the race: every entry on the same {tasks} test tasks (seed {seed})**").format(
        tasks=snap.race.eval.tasks, seed=snap.race.eval.seed))
    family = snap.entries[0].family
    accuracy = family.is_classification
    keys = [e.key for e in snap.entries]
    app_state.chart(steps_figure(keys, list(snap.evaluation), accuracy=accuracy,
                                 loss_name=_(LOSSES[family.loss].display)),
                    "race-evaluation", key="race_eval_chart")
    runs = snap.compared_runs()
    st.dataframe(cmp.final_table(runs, list(snap.evaluation), snap.train_evaluation), hide_index=True,
                 width="stretch", key="race_table")
    if snap.train_evaluation is not None:
        st.caption(_("Meta-test classes are held out from meta-training. The same tasks drawn from the classes the "
                     "initializations were meta-trained on score higher: the gap is overfitting to those classes, "
                     "and it is part of the lesson (few meta-training classes, a flexible model)."))
    st.caption(_("Make an entry the session's current run (for the Adaptation and Landscape pages), or add it to the "
                 "comparison below:"))
    cols = st.columns(max(1, len(snap.entries)))
    for col, e, run in zip(cols, snap.entries, runs):
        if col.button(_("{entry} → current run").format(entry=e.key), key=f"btn_race_current_{e.key}",
                      icon=":material/star:"):
            cfg, state, history = _race().entry_state(e.key)
            st.session_state[app_state.RUNNER_KEY].load(cfg, state, history)
            st.session_state[app_state.RUN_KEY] = st.session_state[app_state.RUNNER_KEY].snapshot()
            st.toast(_("{entry} is now the session's current run.").format(entry=e.key))
        if col.button(_("add {entry} to comparison").format(entry=e.key), key=f"btn_race_add_{e.key}",
                      icon=":material/add:"):
            _add(run)


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


def collect_section() -> None:
    st.subheader(_("1 · Collect runs"))
    snap = st.session_state.get(app_state.RUN_KEY)
    has_run = snap is not None and snap.config is not None and snap.meta_params is not None
    c1, c2 = st.columns(2)
    with c1:
        if has_run:
            st.caption(_("Current run: {family} / {algorithm}, {iterations} meta-iterations, status: {status}.").format(
                family=snap.config.family, algorithm=snap.config.algorithm, iterations=f"{snap.iteration:,}",
                status=_(snap.status)))
        else:
            st.caption(_("No run in this session yet: train one on the Train page, upload checkpoints, "
                         "or train a baseline here."))
        if st.button(_("Add current run to comparison"), key="btn_add_run", disabled=not has_run,
                     icon=":material/add:"):
            _add(cmp.from_snapshot(snap, _new_key(f"run{snap.run_id}-{snap.iteration}")))
        files = st.file_uploader(_("…or upload checkpoints (.pt)"), type=["pt"], accept_multiple_files=True,
                                 key="compare_upload", help=_("Checkpoints from the Train page or the command line."))
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
        kind = setting_widget(st, S["baseline_kind"])
        iters = setting_widget(st, S["baseline_iterations"], disabled=kind == "random")
        cfg = cmp.baseline_config(base, kind, int(iters)) if base else None
        label = (_("Train {kind} baseline ({family}, α={alpha})").format(kind=kind, family=cfg.family,
                                                                           alpha=f"{cfg.alpha:g}")
                 if cfg else _("Train {kind} baseline").format(kind=kind))
        if st.button(label, key="btn_baseline", disabled=cfg is None, icon=":material/play_arrow:"):
            jobs = _jobs()
            jobs.start("baseline", _("{kind} baseline").format(kind=kind), cfg.iterations,
                       train_work(cfg, root=jobs.root))
        _watch("baseline", N_("meta-iterations"), "btn_baseline_stop", _take_baseline)
    runs = _runs()
    if runs:
        st.caption(_("{n} run(s) collected (at most {limit}; the oldest is dropped).").format(
            n=len(runs), limit=cmp.MAX_RUNS))
        if st.button(_("Clear the list"), key="btn_clear_runs"):
            st.session_state[RUNS_KEY] = []
            st.session_state.pop(CHOSEN_KEY, None)
            st.rerun()


def _take_baseline(snap: JobSnapshot) -> None:
    """A finished (or stopped: partly trained) baseline joins the comparison."""
    r: TrainedResult = snap.result
    source = _("baseline") if r.complete else _("baseline, stopped at {iterations}").format(
        iterations=f"{r.iterations:,}")
    _add(cmp.ComparedRun(_new_key(r.config.algorithm), cmp.run_label(r.config, r.iterations, source),
                         r.config, r.model, r.meta_params, r.iterations, r.seconds))


def compare_section() -> None:
    st.subheader(_("2 · Compare on the same test tasks"))
    runs = _runs()
    if not runs:
        st.info(_("Add at least two runs above (for example the current run and a baseline)."))
        return
    labels = {r.key: r.label for r in runs}
    # The selection lives in session state (no ``default``), so a newly added run is selected too
    # and a run dropped from the bounded list leaves it.
    st.session_state[CHOSEN_KEY] = [k for k in st.session_state.get(CHOSEN_KEY, list(labels)) if k in labels]
    chosen = st.multiselect(_("Runs"), list(labels), format_func=labels.get, key=CHOSEN_KEY)
    picked = [r for r in runs if r.key in chosen]
    if not picked:
        st.info(_("Choose at least one run."))
        return
    cmp.check_comparable(picked)
    tasks, steps, shots, seed = (setting_widget(col, S[name]) for col, name in zip(
        st.columns(4), ("eval_tasks", "eval_steps", "eval_shots", "eval_seed")))
    family = picked[0].family
    eval_cfg = EvalConfig(tasks=int(tasks), shots=picked[0].config.shots, query=family.eval_query,
                          steps=int(steps), seed=int(seed))
    accuracy = family.is_classification
    loss_name = _(LOSSES[family.loss].display)
    with st.spinner(_("Evaluating…")):
        results = [_steps(r.key, r, eval_cfg) for r in picked]
        per_shot = [_shots(r.key, r, tuple(sorted(shots)), eval_cfg) for r in picked] if shots else []
    names = [r.label for r in picked]
    if len(picked) < 2:
        st.caption(_("One run shown; add another (or a baseline) to compare."))
    left, right = st.columns(2)
    app_state.chart(steps_figure(names, results, accuracy=accuracy, loss_name=loss_name), "compare-steps",
                    key="compare_steps", where=left)
    app_state.chart(shots_figure(names, sorted(shots), per_shot, accuracy=accuracy, loss_name=loss_name),
                    "compare-shots", key="compare_shots", where=right)
    bad = [r.label for r, res in zip(picked, results) if not res.finite]
    if bad:
        st.warning(_("Not finite after some steps (the adaptation overshot): {runs}. Fewer steps, or a run trained "
                     "with more inner steps, stays finite.").format(runs="; ".join(bad)))
    st.dataframe(cmp.final_table(picked, results), hide_index=True, width="stretch")


def sweep_section() -> None:
    st.subheader(_("3 · α × k sweep"))
    base = _base_config()
    if base is None:
        st.info(_("A sweep copies the current run's family, algorithm and settings: train or add a run first."))
        return
    st.caption(_("Each cell meta-trains {family} / {algorithm} with one α and k (other settings from the "
                 "current run, same seed), then measures the query loss after k steps with that α.").format(
        family=base.family, algorithm=base.algorithm))
    alphas_text, ks_text, iters = (setting_widget(col, S[name]) for col, name in zip(
        st.columns(3), ("sweep_alphas", "sweep_ks", "sweep_iterations")))
    sweep = SweepConfig(base=base, alphas=parse_grid(alphas_text, float), ks=parse_grid(ks_text, int),
                        iterations=int(iters), eval=EvalConfig(tasks=100, shots=base.shots, seed=12345))
    rate = _its_per_sec(cell_config(sweep, max(sweep.alphas), max(sweep.ks)))
    est = estimate_seconds(sweep, rate)
    st.caption(_("{cells} cells (at most {limit}) × {iterations} iterations at ≈{rate} it/s "
                 "(measured at k = {k}) ≈ {seconds} s of training, plus evaluation.").format(
        cells=sweep.cells, limit=MAX_CELLS, iterations=sweep.iterations, rate=f"{rate:.0f}", k=max(sweep.ks),
        seconds=f"{est:.0f}"))
    if st.button(_("Run sweep (≈{seconds} s)").format(seconds=f"{est:.0f}"), key="btn_sweep",
                 icon=":material/grid_on:"):
        jobs = _jobs()
        jobs.start("sweep", _("α × k sweep ({cells} cells)").format(cells=sweep.cells), sweep.cells,
                   sweep_work(sweep, root=jobs.root))
    _watch("sweep", N_("cells"), "btn_sweep_stop", lambda snap: st.session_state.__setitem__(SWEEP_KEY, snap.result))
    result = st.session_state.get(SWEEP_KEY)
    if result is not None:
        app_state.chart(sweep_heatmap_figure(result), "sweep", key="sweep_heatmap")


