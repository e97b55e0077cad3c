"""The race and the background jobs: same task stream, round-robin equals training alone, one job slot,
evaluation per entry, stop/pause/close; sweeps stopped midway keep their cells; the Compare page's race
driven to the end under AppTest."""

from __future__ import annotations

import math
import threading
import time

import pytest
import torch

from helpers import join_jobs, no_errors
from leo_app.background import BackgroundJob, JobStatus, SessionJobs, sweep_work, train_work
from leo_app.jobs import JobSlots
from leo_app.race import RaceRunner, RaceStatus
from leo_core.config import EvalConfig
from leo_core.evaluate import evaluate
from leo_core.recommended import recommended_settings
from leo_core.sweep import SweepCell, SweepConfig, cell_config, run_cell
from leo_core.train import Trainer
from leo_core.views.race import SHARED_FIELDS, race_config, race_curve

SMALL = dict(meta_batch=4, shots=5, query=5, hidden=(8, 8), eval_tasks=20, eval_steps=3)


def _race(keys=("leo", "reptile", "pretrained"), iterations=12, **kw):
    return race_config("sinusoid", list(keys), iterations=iterations, **{**SMALL, **kw})


def test_entries_share_the_problem_and_keep_their_own_recommended_settings():
    race = _race(("leo", "imaml", "pretrained"), overrides={"leo": {"alpha": 0.02}})
    for e in race.entries:
        for name in SHARED_FIELDS:
            assert getattr(e.config, name) == getattr(race.shared, name)
        rec = recommended_settings("sinusoid", e.key)
        expected = {**rec, "alpha": 0.02} if e.key == "leo" else rec
        for name, value in expected.items():
            if name not in SHARED_FIELDS:
                assert getattr(e.config, name) == value, (e.key, name)
    leo = race.entries[0]
    rec_alpha = recommended_settings("sinusoid", "leo")["alpha"]
    diffs = {d.name: (d.source, d.recommended) for d in leo.differences}
    assert diffs.pop("alpha") == ("yours", rec_alpha)
    assert all(source == "recommended" for source, _ in diffs.values())  # the rest: leo's own recommendations
    assert f"yours; recommended {rec_alpha:g}" in leo.describe()
    with pytest.raises(ValueError, match="unknown algorithm"):
        _race(("leo", "nope"))
    with pytest.raises(ValueError, match="may not set"):
        _race(("leo",), overrides={"leo": {"seed": 3}})


def test_every_entry_draws_the_same_meta_batches():
    """Trainers of a race (different algorithms) sample identical meta-batches, step after step.

    Before each step the batch is drawn from a copy of the trainer's generator; after the step the
    trainer's generator must stand where that copy stands, so the step drew exactly that batch."""
    race = _race(("leo", "reptile", "pretrained", "meta-sgd", "imaml"))
    trainers = [Trainer(e.config) for e in race.entries]
    for _ in range(5):
        batches = []
        for t in trainers:  # round-robin, as the race runner steps them
            cfg = t.cfg
            g = torch.Generator(device=t.device)
            g.set_state(t.generator.get_state())
            b = t.family.sample(cfg.meta_batch, cfg.shots, cfg.query, g, t.device, t.dtype)
            batches.append(torch.cat([b.x_support.flatten(), b.y_support.flatten(), b.x_query.flatten(),
                                      b.y_query.flatten()]))
            t.step()
            assert torch.equal(t.generator.get_state(), g.get_state()), cfg.algorithm
        for other in batches[1:]:
            assert torch.equal(batches[0], other)


def test_a_race_equals_each_entry_trained_alone_and_ends_with_one_evaluation_each():
    race = _race()
    slots = JobSlots(1)
    runner = RaceRunner(slots=slots)
    runner.start(race)
    assert runner.join(120)
    snap = runner.snapshot()
    assert snap.status == RaceStatus.FINISHED and snap.error is None
    assert [e.key for e in snap.entries] == ["leo", "reptile", "pretrained"]
    assert all(e.iteration == 12 and e.status == "done" for e in snap.entries)
    assert slots.busy == 0
    assert snap.evaluation is not None and len(snap.evaluation) == 3
    for e, result in zip(snap.entries, snap.evaluation):
        alone = Trainer(e.config)  # the reference: the same config trained by itself
        for _ in alone:
            pass
        for name, v in alone.meta_params.items():
            assert torch.allclose(v, e.meta_params[name], atol=1e-6), (e.key, name)
        ref = evaluate(alone.model, alone.family, alone.algorithm, alone.meta_params, e.config.alpha, race.eval)
        assert result.loss_by_step == pytest.approx(ref.loss_by_step, rel=1e-5)
        curve = race_curve(e.key, e.columns, accuracy=False)
        assert curve.iterations == tuple(range(1, 13)) and len(curve.values) == 12
        assert list(curve.seconds) == sorted(curve.seconds)  # the entry's own clock grows
    from leo_core.views.comparison import final_table

    assert len(final_table(snap.compared_runs(), list(snap.evaluation))) == 3


def test_a_classification_race_also_scores_the_meta_training_classes():
    """The overfitting lesson: the same evaluation on tasks from the meta-training classes, beside the
    held-out ones, equal to ``evaluate`` with ``split="train"``."""
    race = race_config("digits", ["leo", "pretrained"], iterations=6, meta_batch=3, shots=1, ways=3, query=2,
                       hidden=(8,), eval_tasks=10, eval_steps=2)
    runner = RaceRunner(slots=JobSlots(1))
    runner.start(race)
    assert runner.join(180)
    snap = runner.snapshot()
    assert snap.status == RaceStatus.FINISHED and snap.train_evaluation is not None
    for e, test, train in zip(snap.entries, snap.evaluation, snap.train_evaluation):
        ref = evaluate(e.model, e.family, e.algorithm, e.meta_params, e.config.alpha,
                       EvalConfig(**{**race.eval.__dict__, "split": "train"}))
        assert train.accuracy_by_step == pytest.approx(ref.accuracy_by_step)
        assert train.accuracy_by_step != test.accuracy_by_step  # other classes, other tasks
    from leo_core.views.comparison import final_table

    rows = final_table(snap.compared_runs(), list(snap.evaluation), snap.train_evaluation)
    assert all("same on meta-training classes" in row and "gap (train − test)" in row for row in rows)


def test_a_race_takes_one_slot_and_waits_queued_when_the_server_is_full():
    slots = JobSlots(1)
    assert slots.acquire(0)  # someone else holds the only slot
    runner = RaceRunner(slots=slots)
    runner.start(_race(iterations=5))
    _wait(lambda: runner.snapshot().status == RaceStatus.QUEUED)
    assert runner.snapshot().iteration == 0
    slots.release()
    _wait(lambda: slots.busy == 1 or not runner.is_alive)
    assert runner.join(120)
    assert runner.snapshot().status == RaceStatus.FINISHED and slots.busy == 0


def _wait(cond, timeout: float = 60.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if cond():
            return
        done.wait(0.01)
    raise AssertionError("condition not met within the time-out")


def test_pause_resume_stop_and_close():
    slots = JobSlots(2)
    runner = RaceRunner(slots=slots)
    runner.start(_race(iterations=100_000))
    _wait(lambda: runner.snapshot().iteration >= 2)
    runner.pause()
    _wait(lambda: slots.busy == 0)  # a paused race gives its slot back
    it = runner.snapshot().iteration
    runner.resume()
    _wait(lambda: runner.snapshot().iteration > it)
    runner.stop()  # the user's stop: training ends, every entry is still evaluated
    assert runner.join(120)
    snap = runner.snapshot()
    assert snap.status == RaceStatus.STOPPED and snap.evaluation is not None and len(snap.evaluation) == 3
    runner.start(_race(iterations=100_000))
    _wait(lambda: runner.snapshot().iteration >= 1)
    runner.close()
    assert runner.join(30) and slots.busy == 0  # closing skips the evaluation (timing: bench/race_close.py)


def test_session_jobs_close_stops_every_thread():
    slots = JobSlots(4)
    jobs = SessionJobs(slots)
    jobs.race.start(_race(iterations=100_000))
    base = _race(("leo",), iterations=100_000).shared
    jobs.start("baseline", "baseline", base.iterations, train_work(base))
    jobs.start("sweep", "sweep", 4, sweep_work(SweepConfig(base=base, alphas=(0.01, 0.02), ks=(1, 2),
                                                           iterations=100_000)))
    _wait(lambda: slots.busy == 3)
    threads = jobs.threads()
    assert len(threads) == 3 and all(t.is_alive() for t in threads)
    jobs.close()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), t.name
    assert slots.busy == 0


def test_the_sweep_job_cell_is_a_cell_trained_and_scored_alone():
    """The sweep job's cell (the sweep engine's, stoppable) against its config trained alone and evaluated."""
    base = _race(("leo",), iterations=6).shared
    sweep = SweepConfig(base=base, alphas=(0.01,), ks=(2,), iterations=6, eval=EvalConfig(tasks=20, shots=5, seed=1))
    alone = Trainer(cell_config(sweep, 0.01, 2))
    for _ in alone:
        pass
    ref = evaluate(alone.model, alone.family, alone.algorithm, alone.meta_params, 0.01,
                   EvalConfig(tasks=20, shots=5, seed=1, steps=2))
    job = BackgroundJob("sweep", "sweep", 1, sweep_work(sweep), slots=JobSlots(1)).start()
    assert job.join(60)
    grid = job.snapshot().result
    assert (grid.loss[0][0], grid.ci95[0][0]) == pytest.approx((ref.loss_by_step[-1], ref.ci95_by_step[-1]))
    assert grid.accuracy is None and not grid.diverged[0][0]


def test_a_sweep_stopped_midway_keeps_its_finished_cells():
    base = _race(("leo",), iterations=5).shared
    sweep = SweepConfig(base=base, alphas=(0.01, 0.02), ks=(1, 2), iterations=5,
                        eval=EvalConfig(tasks=10, shots=5, seed=1))
    stop_after = 2
    job_box = {}

    def work(ctx):
        inner = sweep_work(sweep)

        class Ctx:  # stop the job once two cells are done (as the user's Stop button would)
            def report(self, done, partial=None):
                ctx.report(done, partial)
                if done >= stop_after:
                    job_box["job"]._stop.set()

            def __getattr__(self, name):
                return getattr(ctx, name)

        return inner(Ctx())

    job = BackgroundJob("sweep", "sweep", sweep.cells, work, slots=JobSlots(1))
    job_box["job"] = job
    job.start()
    assert job.join(120)
    snap = job.snapshot()
    assert snap.status == JobStatus.STOPPED and snap.done == 2
    result = snap.result
    finished = [(i, j) for i in range(2) for j in range(2) if math.isfinite(result.loss[i][j])]
    assert finished == [(0, 0), (0, 1)]  # the first row (k = 1), in run_sweep's order
    for j, alpha in enumerate(sweep.alphas):
        assert result.loss[0][j] == pytest.approx(run_cell(sweep, SweepCell(alpha, 1, base.seed)).loss_by_step[-1])


def test_compare_page_race_to_the_end(app):
    """AppTest: a race of three entries from the page, driven to the end by joining the runner."""
    app.switch_page("pages/compare.py").run()
    no_errors(app)
    app.multiselect(key="race").set_value(["leo", "reptile", "pretrained"])
    app.number_input(key="race_iterations").set_value(10)
    app.number_input(key="race_meta_batch").set_value(4)
    app.slider(key="race_shots").set_value(5).run()
    button = app.button(key="btn_race")
    assert "race" in button.label.lower()
    button.click().run()
    join_jobs(app)
    no_errors(app)
    snap = app.session_state["leo_jobs"].race.snapshot()
    assert snap.status == RaceStatus.FINISHED and [e.key for e in snap.entries] == ["leo", "reptile", "pretrained"]
    table = next(d.value for d in app.dataframe if "run" in d.value.columns and "meta-iterations" in d.value.columns)
    assert list(table["algorithm"]) == ["leo", "reptile", "pretrained"]
    app.button(key="btn_race_current_reptile").click().run()
    no_errors(app)
    run = app.session_state["leo_runner"].snapshot()
    assert run.config.algorithm == "reptile" and run.iteration == 10 and run.status == "loaded"


def test_race_link_drops_unknown_entries_with_a_note(app):

    app.query_params["race"] = "leo,bogus,pretrained"
    app.switch_page("pages/compare.py").run()
    assert app.multiselect(key="race").value == ["leo", "pretrained"]
    assert any("bogus" in w.value for w in app.warning)


def test_race_settings_survive_a_visit_to_another_page(app):
    app.switch_page("pages/compare.py").run()
    app.multiselect(key="race").set_value(["leo", "imaml"])
    app.number_input(key="race_iterations").set_value(77).run()
    app.switch_page("pages/adaptation.py").run()
    app.switch_page("pages/compare.py").run()
    no_errors(app)
    assert app.multiselect(key="race").value == ["leo", "imaml"]
    assert app.number_input(key="race_iterations").value == 77


def test_race_figures_name_one_trace_per_entry_and_validate():
    import plotly.graph_objects as go

    from figures.race import race_curve_figure, race_fit_figure
    from leo_core.views.preview import preview_curves, preview_tasks

    runner = RaceRunner(slots=JobSlots(1))
    runner.start(_race(iterations=6))
    assert runner.join(120)
    snap = runner.snapshot()
    curves = [race_curve(e.key, e.columns, accuracy=False) for e in snap.entries]
    for x in ("iterations", "seconds"):
        fig = go.Figure(race_curve_figure(curves, x=x).to_dict())  # plotly validates the whole figure
        assert [t.name for t in fig.data] == ["leo", "reptile", "pretrained"]
        expected = curves[0].iterations if x == "iterations" else curves[0].seconds
        assert list(fig.data[0].x) == list(expected)
    with pytest.raises(ValueError, match="x must be"):
        race_curve_figure(curves, x="hours")
    tasks = preview_tasks(snap.entries[0].family, 5)
    fits = [preview_curves(e, tasks, e.config.k) for e in snap.entries]
    fig = go.Figure(race_fit_figure([e.key for e in snap.entries], fits).to_dict())
    shown = {t.name for t in fig.data}
    assert {"leo", "reptile", "pretrained", "true function", "support points"} <= shown
    # each entry's panel draws that entry's adapted fit (the same numbers preview_curves gave)
    leo_lines = [t for t in fig.data if t.name == "leo"]
    assert list(leo_lines[0].y) == fits[0].after[0]
    # Five entries: rows of three panels, each title over its own panel, the second row below the first.
    five = go.Figure(race_fit_figure(["a", "b", "c", "d", "e"], [fits[0]] * 5).to_dict())
    titles = five.layout.annotations
    assert [t.text.split("<br>")[0] for t in titles] == [f"<b>{k}</b>" for k in "abcde"]
    rows = [five.layout[f"yaxis{'' if i == 0 else i + 1}"].domain for i in range(5)]
    assert rows[0] == rows[1] == rows[2] and rows[3] == rows[4] and rows[3][1] < rows[0][0]
    assert [t.y for t in titles] == [r[1] for r in rows]
    columns = [five.layout[f"xaxis{'' if i == 0 else i + 1}"].domain for i in range(5)]
    assert columns[3] == columns[0] and columns[4] == columns[1] and columns[0][1] < columns[1][0]


def test_every_kind_of_background_work_is_one_job_model():
    """The run, the race and a baseline or sweep are one ``Job``: one status vocabulary, pause gives the slot
    back, resume takes it again, stop keeps the partial result."""
    from leo_app.job import Job, Status
    from leo_app.runner import RunStatus, TrainingRunner

    assert RunStatus is RaceStatus is JobStatus is Status
    assert all(issubclass(kind, Job) for kind in (TrainingRunner, RaceRunner, BackgroundJob))
    slots = JobSlots(1)
    base = _race(("leo",), iterations=100_000).shared
    job = BackgroundJob("baseline", "baseline", base.iterations, train_work(base, report_every=1), slots=slots).start()
    try:
        _wait(lambda: job.snapshot().done > 2)
        job.pause()
        assert job.snapshot().status == Status.PAUSED
        first = job.snapshot().done
        time.sleep(0.3)  # not a wait: nothing may happen meanwhile (but the step in flight)
        frozen = job.snapshot().done
        assert frozen <= first + 1
        time.sleep(0.3)
        assert job.snapshot().done == frozen
        job.resume()
        _wait(lambda: job.snapshot().done > frozen + 2)
    finally:
        assert job.stop(30)
    snap = job.snapshot()
    assert snap.status == Status.STOPPED and snap.result.iterations >= frozen + 2 and not snap.result.complete
