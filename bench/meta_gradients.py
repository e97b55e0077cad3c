"""Cost of the Landscape page's meta-gradient section on the document-linear preset (run by hand).

    .venv/bin/python bench/meta_gradients.py [--frames 30] [--repeats 3]

Prints the seconds for the J/average grids plus the arrows at ``--frames`` points of θ₀'s path (five
algorithms each), for the cosine sweep (10 α × 11 k), and the size of the page's HTML handout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from figures.handout import page_html  # noqa: E402
from figures.meta_gradients import cosine_figure, meta_gradient_figure  # noqa: E402
from leo_app.presets import preset_checkpoint  # noqa: E402
from leo_app.url_state import LANDSCAPE_ALPHAS  # noqa: E402
from leo_core.checkpoint import load_checkpoint  # noqa: E402
from leo_core.device import configure_threads  # noqa: E402
from leo_core.train import make_family, make_model  # noqa: E402
from leo_core.views import meta_gradients as mg  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configure_threads(1)
    ckpt = load_checkpoint(preset_checkpoint("document-linear"))
    family = make_family(ckpt.config)
    model = make_model(family, ckpt.config)
    batch = family.sample(5, ckpt.config.shots, 50, torch.Generator().manual_seed(0))
    theta0 = ckpt.meta_params
    view, sweep = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        data = mg.linear_meta_gradients(model, family, theta0, ckpt.theta_path, batch, ckpt.config, 0.05, 1, 61,
                                        args.frames)
        t1 = time.perf_counter()
        cos = mg.cosine_sweep(model, family, theta0, batch, ckpt.config, 0.05, 1, LANDSCAPE_ALPHAS, range(11))
        t2 = time.perf_counter()
        view.append(t1 - t0)
        sweep.append(t2 - t1)
    html = page_html("bench", [("path", meta_gradient_figure(data)), ("cosines", cosine_figure(cos))], [])
    print(f"path view, 61×61 grids + {args.frames} frames × 5 algorithms: {min(view):.3f}–{max(view):.3f} s")
    print(f"cosine sweep, (10 α + 11 k) × 5 algorithms: {min(sweep):.3f}–{max(sweep):.3f} s")
    print(f"handout with these two figures: {len(html.encode()) / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
