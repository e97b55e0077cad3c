"""Run directories: the app's runs saved in the CLI's format, brought back after a closed session, a
restart and a ``kill -9``; a run held by another tab opened as a copy; listing, pruning, a disk that
cannot be written; and links that reproduce the Train page's settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import WAIT_S, tiny_config, wait_until
from leo_app.runner import INTERRUPTED, RunStatus, TrainingRunner, holder
from leo_app.state import train_schema
from leo_app.url_state import parse, serialise
from leo_app.widgets import recommended_values
from leo_core import cli
from leo_core.checkpoint import load_checkpoint
from leo_core.runs import (STATUS_FILE, list_runs, prune, read_metrics, read_status, run_path,
                           valid_run_id)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runners():
    made: list[TrainingRunner] = []

    def make(root: Path, **kw) -> TrainingRunner:
        made.append(TrainingRunner(root=root, **kw))
        return made[-1]

    yield make
    for r in made:
        r.close()
        assert r.join(WAIT_S)


def test_a_run_is_saved_in_the_cli_format_while_it_trains_and_when_it_stops(tmp_path, runners):
    r = runners(tmp_path, save_every_s=0.2)
    r.start(tiny_config(iterations=100_000))
    key = r.run_key
    assert key and valid_run_id(key) and holder(key) is r
    wait_until(lambda: read_status(tmp_path / key).get("iteration", 0) > 5, what="a periodic save")
    r.stop()
    saved = read_status(tmp_path / key)
    assert saved["status"] == RunStatus.STOPPED and saved["iteration"] == r.snapshot().iteration
    ckpt = load_checkpoint(tmp_path / key)
    assert ckpt.iteration == saved["iteration"] and ckpt.config == r.snapshot().config
    assert read_metrics(tmp_path / key)["iteration"][-1] == saved["iteration"]
    assert json.loads((tmp_path / key / "config.json").read_text())["iterations"] == 100_000


def test_a_closed_session_s_run_trains_on_when_opened_again_in_the_same_server(tmp_path, runners):
    first = runners(tmp_path)
    first.start(tiny_config(iterations=100_000))
    key = first.run_key
    wait_until(lambda: first.snapshot().iteration > 5, what="5 iterations")
    first.close()  # a reload: the old session ends
    assert first.join(WAIT_S)
    saved = read_status(tmp_path / key)
    assert saved["status"] == INTERRUPTED and holder(key) is None
    second = runners(tmp_path)
    assert second.open(key) is None
    assert second.run_key == key and second.snapshot().status in RunStatus.ACTIVE
    wait_until(lambda: second.snapshot().iteration > saved["iteration"], what="training to go on")
    assert second.snapshot().columns["iteration"][0] == 1  # the curve came back with it


def test_after_a_restart_a_run_opens_stopped_and_continue_trains_it_on_in_its_directory(tmp_path, runners):
    first = runners(tmp_path)
    first.start(tiny_config(iterations=60))
    key = first.run_key
    wait_until(lambda: first.snapshot().iteration > 5, what="5 iterations")
    first.close()
    assert first.join(WAIT_S)
    status = tmp_path / key / STATUS_FILE
    status.write_text(json.dumps({**json.loads(status.read_text()), "boot": "another-process"}))
    second = runners(tmp_path)
    second.open(key)
    snap = second.snapshot()
    assert snap.status == RunStatus.LOADED and snap.run_key == key and 5 < snap.iteration < 60
    second.extend(7)  # Continue: 7 more, in the same directory
    assert second.join(WAIT_S) and second.snapshot().iteration == snap.iteration + 7 and second.run_key == key
    assert read_status(tmp_path / key)["status"] == RunStatus.FINISHED


def test_a_run_held_by_another_live_tab_opens_as_a_copy(tmp_path, runners):
    lecturer, student = runners(tmp_path), runners(tmp_path)
    lecturer.start(tiny_config(iterations=100_000))
    key = lecturer.run_key
    wait_until(lambda: lecturer.snapshot().iteration > 3, what="3 iterations")
    note = student.open(key)
    assert "another tab" in note and student.run_key is None and student.snapshot().status == RunStatus.LOADED
    assert lecturer.snapshot().status in RunStatus.ACTIVE and holder(key) is lecturer  # untouched
    student.extend(5)
    assert student.run_key not in (None, key)  # the copy trains as a new run


def test_a_killed_server_leaves_a_run_whose_checkpoint_loads(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from helpers import tiny_config
        from leo_app.runner import TrainingRunner
        r = TrainingRunner(root={str(tmp_path)!r}, save_every_s=0.05)
        r.start(tiny_config(iterations=10**7))
        print(r.run_key, flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        key = proc.stdout.readline().strip()
        wait_until(lambda: read_status(tmp_path / key).get("iteration", 0) > 20, what="saves while training")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(WAIT_S)
    assert load_checkpoint(tmp_path / key).iteration > 0


def test_an_unwritable_root_keeps_training_in_memory_and_says_why(tmp_path, runners):
    root = tmp_path / "not-a-directory"
    root.write_text("a file where the runs root should be")
    r = runners(root)
    r.start(tiny_config(iterations=30))
    assert r.join(WAIT_S)
    snap = r.snapshot()
    assert snap.status == RunStatus.FINISHED and snap.iteration == 30
    assert "not being saved" in snap.save_error and "in memory" in snap.save_error


def test_cli_runs_are_listed_with_their_curves_and_pruning_spares_them_and_runs_in_use(tmp_path, runners):
    assert cli.main(["train", "--family", "linear", "--iterations", "12", "--quiet", "--out", str(tmp_path / "cli-run")]) == 0
    app_runs = []
    for _ in range(3):
        r = runners(tmp_path)
        r.start(tiny_config(iterations=5))
        assert r.join(WAIT_S)
        app_runs.append(r)
    listed = {i.run_id: i for i in list_runs(tmp_path)}
    assert listed["cli-run"].origin == "cli" and listed["cli-run"].iteration == 12 and listed["cli-run"].family == "linear"
    assert read_metrics(tmp_path / "cli-run")["iteration"][-1] == 12
    oldest = min((r.run_key for r in app_runs), key=lambda k: listed[k].modified)
    deleted = prune(tmp_path, keep=0, in_use={oldest})
    assert oldest not in deleted and "cli-run" not in deleted and len(deleted) == 2
    assert {i.run_id for i in list_runs(tmp_path)} == {"cli-run", oldest}


def test_run_ids_are_plain_directory_names():
    for bad in ("../etc", "a/b", "", ".hidden", "x" * 101, "a..b"):
        assert not valid_run_id(bad)
        with pytest.raises(ValueError):
            run_path(Path("runs"), bad)
    assert valid_run_id("app-20261206-103311-9f2c")


def test_a_train_link_names_every_value_a_fresh_page_would_not_use():
    rec = recommended_values("sinusoid", "leo")
    values = {**rec, "family": "sinusoid", "algorithm": "leo", "beta": 0.001, "k": 1}
    assert rec["beta"] != 0.001 or rec["k"] != 1  # the preset differs from the recommended settings
    link = serialise(train_schema("sinusoid", "leo"), values)
    fresh = {**rec, **parse(train_schema("sinusoid", "leo"), link).values}
    assert fresh["beta"] == 0.001 and fresh["k"] == 1
    assert set(link) <= {"beta", "k"}  # nothing the recommended settings already give


def test_a_refused_value_names_the_value_actually_used():
    rec = recommended_values("sinusoid", "leo")
    notes = parse(train_schema("sinusoid", "leo"), {"beta": "abc"}).notes
    assert notes and f"using the default {rec['beta']:g}" in notes[0]


def test_race_entries_baselines_and_sweep_cells_are_run_directories(tmp_path):
    from leo_app.background import BackgroundJob, SessionJobs, sweep_work, train_work
    from leo_app.jobs import JobSlots
    from leo_core.sweep import SweepConfig
    from leo_core.views.race import race_config

    jobs = SessionJobs(JobSlots(4), root=tmp_path)
    try:
        jobs.race.start(race_config("linear", ["leo", "reptile"], iterations=6, shots=5, meta_batch=4, seed=0))
        assert jobs.race.join(WAIT_S)
        snap = jobs.race.snapshot()
        assert len(snap.run_keys) == 2 and snap.save_error is None
        for key in snap.run_keys:
            assert load_checkpoint(tmp_path / key).iteration == 6 and read_status(tmp_path / key)["status"] == "finished"
        base = tiny_config(iterations=7)
        job = BackgroundJob("baseline", "b", 7, train_work(base, root=tmp_path), slots=JobSlots(1)).start()
        assert job.join(WAIT_S)
        key = job.snapshot().result.run_key
        assert key and load_checkpoint(tmp_path / key).iteration == 7
        sweep = SweepConfig(base=base, alphas=(0.01, 0.02), ks=(1,), iterations=3)
        job = BackgroundJob("sweep", "s", 2, sweep_work(sweep, root=tmp_path), slots=JobSlots(1)).start()
        assert job.join(WAIT_S)
        cells = [r for r in list_runs(tmp_path) if "-alpha" in r.run_id]
        assert len(cells) == 2 and all(r.iteration == 3 and r.status == "finished" for r in cells)
    finally:
        jobs.close()
