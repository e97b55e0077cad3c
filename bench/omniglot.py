"""Omniglot throughput: the batched conv net (one grouped convolution per layer) against learn2learn's MAML.

Meta-iterations/s of 5-way 1-shot Omniglot (one query image per class), one inner step of α = 0.4,
second order, Adam β = 0.001, at each meta-batch: the core (``Trainer.step``), and learn2learn 0.2.0's
MAML wrapper over an ``nn.Module`` copy of the same network (4 × conv3×3-64, batch norm on the batch at
hand, ReLU, max-pool, linear head), which loops over the tasks in Python. Before timing, the two
meta-gradients are compared on one batch in float64. ``--models mlp`` measures the batch-norm MLP of
the paper (784-256-128-64-64-5) too. All in one process, one after another: compare ratios of a run.

    bash bench/setup_peers.sh                                    # once: learn2learn's MAML into bench/.peers
    python bench/omniglot.py                                     # CPU, meta-batch 16 and 32
    python bench/omniglot.py --device cuda --meta-batch 32 --impls core core-graph learn2learn
    python bench/omniglot.py --device cuda --time-to 0.97        # minutes to 97% held-out 5-way 1-shot
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / ".peers"))
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from throughput import available, measure  # noqa: E402

from leo_core.algorithms import get_algorithm  # noqa: E402
from leo_core.config import EvalConfig, TrainConfig  # noqa: E402
from leo_core.device import configure_threads, keep_freed_cpu_memory  # noqa: E402
from leo_core.evaluate import evaluate  # noqa: E402
from leo_core.models import BN_EPS  # noqa: E402
from leo_core.tasks import TaskBatch  # noqa: E402
from leo_core.train import Trainer  # noqa: E402

ALPHA, BETA = 0.4, 0.001


def config(model: str, meta_batch: int, device: str, dtype: str = "float32") -> TrainConfig:
    return TrainConfig(family="omniglot", algorithm="leo", model=model, ways=5, shots=1, query=1, alpha=ALPHA,
                       beta=BETA, k=1, meta_batch=meta_batch, device=device, dtype=dtype, seed=0)


def module_copy(trainer: Trainer) -> nn.Module:
    """An ``nn.Module`` with the trainer's θ₀: the conv net, or the batch-norm MLP."""
    theta = trainer.initialization()
    model = trainer.model
    values: list[torch.Tensor] = []  # θ₀ in the order of net.parameters()
    if model.kind == "conv4":
        layers: list[nn.Module] = [nn.Unflatten(1, (1, model.side, model.side))]
        for i in range(model.blocks):
            layers += [nn.Conv2d(theta[f"w{i}"].shape[1], model.width, 3, padding=1, bias=False),
                       nn.BatchNorm2d(model.width, eps=BN_EPS, track_running_stats=False), nn.ReLU(), nn.MaxPool2d(2)]
            values += [theta[f"w{i}"], theta[f"s{i}"], theta[f"b{i}"]]
        layers += [nn.Flatten(), nn.Linear(model.features, model.out)]
        values += [theta[f"w{model.blocks}"].T, theta[f"b{model.blocks}"]]
    else:
        layers = []
        for i in range(model.n_layers):
            last = i == model.n_layers - 1
            layers.append(nn.Linear(model.sizes[i], model.sizes[i + 1], bias=last))
            values.append(theta[f"w{i}"].T)
            if last:
                values.append(theta[f"b{i}"])
            else:
                layers += [nn.BatchNorm1d(model.sizes[i + 1], eps=BN_EPS, track_running_stats=False), nn.ReLU()]
                values += [theta[f"s{i}"], theta[f"b{i}"]]
    net = nn.Sequential(*layers).to(trainer.device, trainer.dtype)  # the dtype first: float64 checks stay exact
    with torch.no_grad():
        for param, value in zip(net.parameters(), values, strict=True):
            param.copy_(value)
    return net


def module_grads(net: nn.Module, trainer: Trainer) -> list[torch.Tensor]:
    """The module's gradients in the core's parameter order (linear weights transposed back)."""
    names = list(trainer.initialization())
    grads = [p.grad for p in net.parameters()]
    if trainer.model.kind == "conv4":  # per block: kernel, scale, shift; then the head's weight and bias
        order = []
        for i in range(trainer.model.blocks):
            order += [grads[3 * i], grads[3 * i + 1], grads[3 * i + 2]]
        order += [grads[-2].T, grads[-1]]
        by_name = dict(zip([n for i in range(trainer.model.blocks) for n in (f"w{i}", f"s{i}", f"b{i}")]
                           + [f"w{trainer.model.blocks}", f"b{trainer.model.blocks}"], order))
    else:
        by_name, it = {}, iter(grads)
        for i in range(trainer.model.n_layers):
            by_name[f"w{i}"] = next(it).T
            if i == trainer.model.n_layers - 1:
                by_name[f"b{i}"] = next(it)
            else:
                by_name[f"s{i}"], by_name[f"b{i}"] = next(it), next(it)
    return [by_name[n] for n in names]


class Core:
    name = "core (batched)"

    def __init__(self, cfg: TrainConfig):
        self.cfg, self.trainer = cfg, Trainer(cfg)
        self.gen = torch.Generator(device=self.trainer.device).manual_seed(1)

    def batch(self) -> TaskBatch:
        c = self.cfg
        return self.trainer.family.sample(c.meta_batch, c.shots, c.query, self.gen, self.trainer.device,
                                          self.trainer.dtype)

    def step(self) -> None:
        self.trainer.step()

    def grad(self, batch: TaskBatch) -> list[torch.Tensor]:
        t = self.trainer
        g = t.algorithm.meta_step(t.model, t.family, t.meta_params, batch, self.cfg).grads
        return [g[n] for n in t.initialization()]


class CoreGraph(Core):
    name = "core, CUDA graph"

    def __init__(self, cfg: TrainConfig):
        super().__init__(replace(cfg, cuda_graph=True))


class L2L(Core):
    name = "learn2learn 0.2.0 MAML (task loop)"

    def __init__(self, cfg: TrainConfig):
        super().__init__(cfg)
        from learn2learn.algorithms import MAML

        self.net = module_copy(self.trainer)
        self.maml = MAML(self.net, lr=ALPHA, first_order=False)
        self.opt = torch.optim.Adam(self.maml.parameters(), lr=BETA)

    def backward(self, batch: TaskBatch) -> None:
        ce = nn.functional.cross_entropy
        for i in range(batch.n_tasks):
            learner = self.maml.clone()
            learner.adapt(ce(learner(batch.x_support[i]), batch.y_support[i]))
            (ce(learner(batch.x_query[i]), batch.y_query[i]) / batch.n_tasks).backward()

    def step(self) -> None:
        self.opt.zero_grad()
        self.backward(self.batch())
        self.opt.step()

    def grad(self, batch: TaskBatch) -> list[torch.Tensor]:
        self.opt.zero_grad()
        self.backward(batch)
        return module_grads(self.net, self.trainer)


IMPLS = {"core": Core, "core-graph": CoreGraph, "learn2learn": L2L}


def agreement(key: str, model: str, device: str) -> float:
    """Max |meta-gradient difference| against the core on one float64 batch of 4 tasks."""
    cfg = config(model, 4, device, "float64")
    core, other = Core(cfg), IMPLS[key](cfg)
    batch = core.batch()
    return max((a - b).abs().max().item() for a, b in zip(core.grad(batch), other.grad(batch)))


def time_to(target: float, device: str, meta_batch: int, every: int, limit_s: float) -> None:
    """Train the core until held-out 5-way 1-shot accuracy after 3 steps (200 tasks) reaches ``target``."""
    trainer = Trainer(replace(config("conv4", meta_batch, device), iterations=10**7))
    algorithm = get_algorithm("leo", trainer.cfg)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        for _ in range(every):
            trainer.step()
        result = evaluate(trainer.model, trainer.family, algorithm, trainer.meta_params, ALPHA,
                          EvalConfig(tasks=200, shots=1, query=15, steps=3, seed=1), trainer.device)
        acc = result.accuracy_by_step[3]
        minutes = (time.perf_counter() - t0) / 60
        print(f"  {trainer.iteration:6d} it  {minutes:6.1f} min (training {trainer.elapsed / 60:.1f})  "
              f"held-out accuracy after 3 steps {acc:.3f}", flush=True)
        if acc >= target:
            print(f"time to {target:.0%}: {minutes:.1f} min wall, {trainer.elapsed / 60:.1f} min of training, "
                  f"{trainer.iteration} iterations")
            return
    print(f"{target:.0%} not reached in {limit_s / 60:.0f} min")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--meta-batch", type=int, nargs="+", default=[16, 32])
    p.add_argument("--models", nargs="+", default=["conv4"], choices=["conv4", "mlp"])
    p.add_argument("--impls", nargs="+", default=["core", "learn2learn"], choices=list(IMPLS))
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10.0, help="timed seconds per measurement")
    p.add_argument("--time-to", type=float, default=None, help="also train to this held-out accuracy (e.g. 0.97)")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--limit-min", type=float, default=30.0)
    args = p.parse_args()
    configure_threads(args.threads)
    keep_freed_cpu_memory()
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {args.threads} threads"
    print(f"Omniglot 5-way 1-shot, 1 query/class, k = 1, α = {ALPHA}, second order; {device_name}")
    impls = []
    for key in args.impls:
        why = available(key, args.device)
        if why:
            print(f"  skip {key}: {why}")
        else:
            impls.append(key)
    for model in args.models:
        for key in impls[1:]:
            print(f"  {model}: max |meta-gradient − core's| ({key}, float64): {agreement(key, model, args.device):.2e}")
        for mb in args.meta_batch:
            rates = {key: measure(IMPLS[key](config(model, mb, args.device)).step, args.seconds, args.device)
                     for key in impls}
            base = rates.get("learn2learn")
            cells = "  ".join(f"{IMPLS[k].name}: {r:7.2f} it/s" + (f" ({r / base:.1f}x)" if base and k != "learn2learn"
                                                                   else "") for k, r in rates.items())
            print(f"  {model} meta-batch {mb:4d}: {cells}", flush=True)
    if args.time_to is not None:
        time_to(args.time_to, args.device, args.meta_batch[-1], args.eval_every, args.limit_min * 60)


if __name__ == "__main__":
    main()
