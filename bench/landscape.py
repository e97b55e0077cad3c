"""Time of one loss landscape on this machine (run by hand).

    python bench/landscape.py --resolution 41 --tasks 10 --k 1 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from leo_core import landscape as ls  # noqa: E402
from leo_core.losses import LOSSES  # noqa: E402
from leo_core.models import MLP  # noqa: E402
from leo_core.tasks import get_family  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--resolution", type=int, default=41)
    p.add_argument("--tasks", type=int, default=10)
    p.add_argument("--k", type=int, nargs="+", default=[1, 5])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    model = MLP()
    theta = {k: v.to(dev) for k, v in model.init(torch.Generator().manual_seed(0)).items()}
    batch = get_family("sinusoid").sample(args.tasks, 10, 100, torch.Generator(device=dev).manual_seed(1), dev)
    d1, d2 = ls.filter_normalized_directions(theta, torch.Generator().manual_seed(2))
    vals = torch.linspace(-1, 1, args.resolution, device=dev)
    plane = ls.Plane(theta, d1, d2, vals, vals)
    mse = LOSSES["mse"]
    print(f"# default MLP 1-40-40-1, {args.resolution}x{args.resolution} grid, {args.tasks} tasks, "
          f"10 support / 100 query points, {args.threads} thread(s), {dev}")
    t0 = time.perf_counter()
    ls.loss_grid(model, mse, plane, batch.x_query, batch.y_query)
    print(f"average query loss (vmap over grid):      {time.perf_counter() - t0:6.2f} s")
    for k in args.k:
        t0 = time.perf_counter()
        ls.meta_objective_grid(model, mse, plane, batch.x_support, batch.y_support, batch.x_query, batch.y_query,
                               0.01, k)
        print(f"meta-objective J, k={k} (grid x tasks inner loops): {time.perf_counter() - t0:6.2f} s")


if __name__ == "__main__":
    main()
