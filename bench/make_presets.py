"""Write the lecture presets' small checkpoints into ``presets/`` (run by hand, a minute on a laptop CPU).

    .venv/bin/python bench/make_presets.py [--only KEY ...]

Each preset is trained for its ``checkpoint_iterations`` with a fixed seed, on the CPU, in float32,
and saved with a thinned metric history (64 records) so the file stays a few tens of kB.

Omniglot's presets take an hour or more on two CPU cores, so they are trained by the command line
(in the background, resumable) and then packaged from the run directory::

    nice python -m leo_core train --family omniglot --algorithm leo --alpha 0.4 --beta 0.001 --k 1 --shots 1 \
        --query 1 --meta-batch 16 --ways 5 --iterations 20000 --seed 0 --threads 1 --out runs/omniglot-5way
    # stopped by hand (Ctrl-C saves) once the held-out accuracy is there, then:
    .venv/bin/python bench/make_presets.py --only maml-omniglot --from-run runs/omniglot-5way

``--from-run`` checks that the run has the preset's settings and records the iterations it trained
(``checkpoint_iterations`` in ``leo_app/presets.py`` must then name the same number).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leo_core.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from leo_core.device import configure_threads  # noqa: E402
from leo_core.history import MetricHistory  # noqa: E402
from leo_app.presets import PRESET_DIR, PRESETS, preset_config  # noqa: E402
from leo_core.train import Trainer  # noqa: E402

HISTORY_RECORDS = 64


def make(key: str) -> None:
    preset = PRESETS[key]
    cfg = preset_config(key, device="cpu", iterations=preset.checkpoint_iterations)
    trainer, history = Trainer(cfg), MetricHistory(HISTORY_RECORDS)
    t0 = time.perf_counter()
    for record in trainer:
        history.append(record)
    path = save_checkpoint(PRESET_DIR / f"{key}.pt", trainer.state_dict(), history)
    last = history.latest
    print(f"{key}: {cfg.iterations} it in {time.perf_counter() - t0:.1f} s, query loss θ₀ {last.pre_loss:.3f} → "
          f"after k {last.post_loss:.3f}; {path.stat().st_size / 1024:.1f} kB → {path}")


def package(key: str, run: Path) -> None:
    """``presets/<key>.pt`` from a finished (or stopped) command-line run of the preset's settings."""
    ckpt = load_checkpoint(run)
    want = preset_config(key, device=ckpt.config.device, iterations=ckpt.config.iterations)
    differ = {k: (v, getattr(ckpt.config, k)) for k, v in want.to_dict().items()
              if k not in ("threads",) and v != ckpt.config.to_dict()[k]}
    if differ:
        raise SystemExit(f"{run}: not the preset's settings: {differ}")
    state = dict(ckpt.state, config={**ckpt.state["config"], "iterations": ckpt.iteration})
    history = MetricHistory(HISTORY_RECORDS)
    history.extend(ckpt.metrics.records())
    path = save_checkpoint(PRESET_DIR / f"{key}.pt", state, history)
    print(f"{key}: packaged {ckpt.iteration} iterations ({ckpt.state['elapsed'] / 60:.0f} min of training) from {run}; "
          f"{path.stat().st_size / 1024:.1f} kB → {path}")
    if PRESETS[key].checkpoint_iterations != ckpt.iteration:
        print(f"now set checkpoint_iterations={ckpt.iteration} for {key} in leo_app/presets.py", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(PRESETS), help="presets to write (default: all)")
    parser.add_argument("--from-run", type=Path, help="package this run directory as the (one) --only preset")
    args = parser.parse_args()
    if args.from_run is not None:
        if not args.only or len(args.only) != 1:
            raise SystemExit("--from-run packages one preset: name it with --only KEY")
        package(args.only[0], args.from_run)
        return
    configure_threads(1)
    for key in args.only or [k for k, p in PRESETS.items() if p.checkpoint_iterations and not p.from_run]:
        if PRESETS[key].from_run:
            raise SystemExit(f"{key} is packaged from a command-line run: use --from-run DIR (see the docstring)")
        make(key)


if __name__ == "__main__":
    main()
