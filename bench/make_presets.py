"""Write the lecture presets' small checkpoints into ``presets/`` (run by hand, a minute on a laptop CPU).

    .venv/bin/python bench/make_presets.py [--only KEY ...]

Each preset is trained for its ``checkpoint_iterations`` with a fixed seed, on the CPU, in float32,
and saved with a thinned metric history (64 records) so the file stays a few tens of kB.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leo_core.checkpoint import save_checkpoint  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(PRESETS), help="presets to write (default: all)")
    args = parser.parse_args()
    configure_threads(1)
    for key in args.only or [k for k, p in PRESETS.items() if p.checkpoint_iterations]:
        make(key)


if __name__ == "__main__":
    main()
