"""The command-line contract that outside scripts rely on: train, evaluate, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from leo_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--iterations", "20", "--meta-batch", "5", "--quiet", "--device", "cpu"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "leo_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    proc = run_cli("train", "--family", "sinusoid", "--algorithm", "leo", "--alpha", "0.01", "--beta", "0.001",
                   "--k", "1", "--shots", "10", "--seed", "3", "--out", str(out), *SMALL)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow  # CLI subprocesses: ~20 s on a busy 2-core machine
def test_train_writes_checkpoint_and_metrics(trained):
    assert (trained / "checkpoint.pt").is_file()
    lines = (trained / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("iteration,meta_loss") and len(lines) == 21


@pytest.mark.slow  # CLI subprocesses: ~20 s on a busy 2-core machine
def test_evaluate_json_contract(trained):
    proc = run_cli("evaluate", str(trained), "--tasks", "30", "--shots", "5", "--steps", "4", "--seed", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert len(out["loss_by_step"]) == 5 and len(out["ci95_by_step"]) == 5
    assert all(c > 0 for c in out["ci95_by_step"])
    again = json.loads(run_cli("evaluate", str(trained), "--tasks", "30", "--shots", "5", "--steps", "4", "--seed",
                               "1", "--json").stdout)
    assert again["loss_by_step"] == out["loss_by_step"]


def one_line_error(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        code = main(argv)
        raise SystemExit(code)
    err = capsys.readouterr().err
    assert exc.value.code not in (0, None)
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--family", "nope", "--out", "x"], "unknown task family"),
    (["train", "--alpha", "0", "--out", "x"], "alpha must be"),
    (["train", "--alpha", "-1", "--out", "x"], "alpha must be"),
    (["train", "--alpha", "nan", "--out", "x"], "alpha must be"),
    (["train", "--beta", "inf", "--out", "x"], "beta must be"),
    (["train", "--k", "-1", "--out", "x"], "k must be"),
    (["train", "--k", "two", "--out", "x"], "invalid int value"),
    (["train", "--algorithm", "nope", "--out", "x"], "unknown algorithm"),
    (["train"], "required"),
    (["evaluate", "/nonexistent/run"], "no checkpoint"),
])
def test_bad_input_is_one_stderr_line(capsys, argv, fragment):
    assert fragment in one_line_error(capsys, argv)


def test_corrupt_and_foreign_checkpoints(capsys, trained, tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    assert "not a readable" in one_line_error(capsys, ["evaluate", str(tmp_path)])
    err = one_line_error(capsys, ["evaluate", str(trained), "--family", "linear"])
    assert "trained on family 'sinusoid'" in err


@pytest.mark.slow  # CLI subprocesses: ~20 s on a busy 2-core machine
def test_divergence_exit_code_and_checkpoint_kept(tmp_path):
    out = tmp_path / "div"
    proc = run_cli("train", "--alpha", "50", "--k", "5", "--out", str(out), *SMALL)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: training diverged")
    assert "Traceback" not in proc.stderr
    assert (out / "checkpoint.pt").is_file()


@pytest.mark.slow  # CLI subprocesses: ~20 s on a busy 2-core machine
def test_resume_continues(trained, tmp_path):
    proc = run_cli("train", "--resume", "--iterations", "30", "--out", str(trained), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert len((trained / "metrics.csv").read_text().splitlines()) == 31


def test_help_explains_every_flag():
    proc = run_cli("train", "--help")
    for flag in ["--family", "--algorithm", "--alpha", "--beta", "--k", "--shots", "--meta-batch", "--iterations",
                 "--seed", "--device", "--out", "--first-order"]:
        assert flag in proc.stdout


@pytest.mark.slow  # a CLI subprocess
def test_kill_saves_the_run_even_when_started_in_the_background(tmp_path):
    """SIGTERM (and Ctrl-C, which a shell's `cmd &` ignores) save the run and exit with 130."""
    import signal

    from leo_core.checkpoint import load_checkpoint

    out = tmp_path / "bg"
    proc = subprocess.Popen([sys.executable, "-m", "leo_core", "train", "--iterations", "1000000", "--out", str(out)],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))  # as `cmd &` does
    try:
        first = proc.stderr.readline()  # printed once the run is accepted, its handlers in place
        assert first.startswith("settings for sinusoid"), first
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted at iteration" in err
    assert load_checkpoint(out).config.iterations == 1_000_000
