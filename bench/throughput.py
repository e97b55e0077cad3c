"""Meta-training throughput: the batched core against per-task-loop implementations.

Each implementation runs full meta-iterations of the sinusoid setup (MLP 1-40-40-1 ReLU, 10 shots,
10 query, α = 0.01, Adam β = 0.001, second order): sample a meta-batch, form the meta-gradient
through the k inner steps, take the outer step. All run in this one process, one after another,
so their ratios are comparable even on a noisy machine. Before timing, each implementation's
meta-gradient is checked against the core's on the same batch in float64.

    bash bench/setup_peers.sh                # once: higher and learn2learn's MAML into bench/.peers
    python bench/throughput.py               # meta-batch 25 and 100, k = 1 and 5, one thread
    python bench/throughput.py --load        # the same with another process keeping one core busy
    python bench/throughput.py --device cuda --meta-batch 25 100 1000 --impls core loop
    python bench/throughput.py --impls core core-autograd --k 1   # closed-form meta-gradient vs autograd's
    python bench/throughput.py --device cuda --impls core core-graph  # eager vs one captured CUDA graph
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / ".peers"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from leo_core import analytic  # noqa: E402
from leo_core.config import TrainConfig  # noqa: E402
from leo_core.device import keep_freed_cpu_memory  # noqa: E402
from leo_core.tasks import TaskBatch, get_family  # noqa: E402
from leo_core.train import Trainer  # noqa: E402

ALPHA, BETA = 0.01, 0.001
Step = Callable[[], None]


def _sequential(trainer: Trainer) -> nn.Sequential:
    """An nn.Sequential holding the core's θ₀ (so every implementation starts from the same point)."""
    theta = trainer.initialization()
    net = nn.Sequential(nn.Linear(1, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 1))
    net = net.to(trainer.device, trainer.dtype)
    with torch.no_grad():
        for i, layer in enumerate([net[0], net[2], net[4]]):
            layer.weight.copy_(theta[f"w{i}"].T)
            layer.bias.copy_(theta[f"b{i}"])
    return net


def _mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((pred - y) ** 2).mean()


class Impl:
    """Builds a meta-iteration for a config; ``grad(batch)`` returns the meta-gradient (for checks)."""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.trainer = Trainer(cfg)
        self.family = get_family(cfg.family)
        self.gen = torch.Generator(device=self.trainer.device).manual_seed(1)

    def batch(self) -> TaskBatch:
        c = self.cfg
        return self.family.sample(c.meta_batch, c.shots, c.query, self.gen, self.trainer.device, self.trainer.dtype)


class Core(Impl):
    name = "core (batched)"

    def step(self) -> None:
        self.trainer.step()

    def grad(self, batch: TaskBatch) -> list[torch.Tensor]:
        t = self.trainer
        g = t.algorithm.meta_step(t.model, t.family, t.meta_params, batch, self.cfg).grads
        return [g[f"{p}{i}"].T if p == "w" else g[f"{p}{i}"] for i in range(3) for p in ("w", "b")]


class CoreAutograd(Core):
    """The core with autograd through the general inner loop instead of the closed-form MLP
    meta-gradient (leo_core/analytic.py): the reference the default path is checked against."""

    name = "core, autograd meta-gradient"

    def step(self) -> None:
        with analytic.gradient_path("autograd"):
            self.trainer.step()

    def grad(self, batch: TaskBatch) -> list[torch.Tensor]:
        with analytic.gradient_path("autograd"):
            return super().grad(batch)


class CoreGraph(Core):
    """The core with one meta-iteration replayed as a captured CUDA graph (CUDA only)."""

    name = "core, CUDA graph"

    def __init__(self, cfg: TrainConfig):
        from dataclasses import replace

        super().__init__(replace(cfg, cuda_graph=True))


class ModuleImpl(Impl):
    """Implementations over an nn.Module, looping over tasks in Python."""

    def __init__(self, cfg: TrainConfig):
        super().__init__(cfg)
        self.net = _sequential(self.trainer)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=BETA)

    def meta_backward(self, batch: TaskBatch) -> None:
        raise NotImplementedError

    def step(self) -> None:
        self.opt.zero_grad()
        self.meta_backward(self.batch())
        self.opt.step()

    def grad(self, batch: TaskBatch) -> list[torch.Tensor]:
        self.opt.zero_grad()
        self.meta_backward(batch)
        return [p.grad.clone() for p in self.net.parameters()]


class Loop(ModuleImpl):
    name = "plain task loop (torch.func.functional_call)"

    def meta_backward(self, batch: TaskBatch) -> None:
        from torch.func import functional_call

        params = dict(self.net.named_parameters())
        total = 0.0
        for i in range(batch.n_tasks):
            p = dict(params)
            for _ in range(self.cfg.k):
                loss = _mse(functional_call(self.net, p, (batch.x_support[i],)), batch.y_support[i])
                grads = torch.autograd.grad(loss, list(p.values()), create_graph=True)
                p = {n: w - ALPHA * g for (n, w), g in zip(p.items(), grads)}
            total = total + _mse(functional_call(self.net, p, (batch.x_query[i],)), batch.y_query[i])
        (total / batch.n_tasks).backward()


class Higher(ModuleImpl):
    name = "higher 0.2.1 (innerloop_ctx)"

    def meta_backward(self, batch: TaskBatch) -> None:
        import higher

        inner_opt = torch.optim.SGD(self.net.parameters(), lr=ALPHA)
        for i in range(batch.n_tasks):
            with higher.innerloop_ctx(self.net, inner_opt, copy_initial_weights=False) as (fnet, diffopt):
                for _ in range(self.cfg.k):
                    diffopt.step(_mse(fnet(batch.x_support[i]), batch.y_support[i]))
                (_mse(fnet(batch.x_query[i]), batch.y_query[i]) / batch.n_tasks).backward()


class L2L(ModuleImpl):
    name = "learn2learn 0.2.0 MAML"

    def __init__(self, cfg: TrainConfig):
        super().__init__(cfg)
        from learn2learn.algorithms import MAML

        self.maml = MAML(self.net, lr=ALPHA, first_order=False)

    def meta_backward(self, batch: TaskBatch) -> None:
        for i in range(batch.n_tasks):
            learner = self.maml.clone()
            for _ in range(self.cfg.k):
                learner.adapt(_mse(learner(batch.x_support[i]), batch.y_support[i]))
            (_mse(learner(batch.x_query[i]), batch.y_query[i]) / batch.n_tasks).backward()


IMPLS: dict[str, type[Impl]] = {"core": Core, "core-autograd": CoreAutograd, "core-graph": CoreGraph, "loop": Loop, "higher": Higher, "learn2learn": L2L}


def available(key: str, device: str = "cpu") -> str | None:
    """None if the implementation can run, else why not."""
    mod = {"higher": "higher", "learn2learn": "learn2learn.algorithms"}.get(key)
    if key == "core-graph" and device != "cuda":
        return "a CUDA graph needs --device cuda"
    if mod is None:
        return None
    try:
        __import__(mod)
    except ImportError as exc:
        return f"not installed ({exc}); run bench/setup_peers.sh"
    return None


def check_agreement(key: str, device: str, k: int) -> float:
    """Max |meta-gradient difference| against the core, float64, one batch of 5 tasks."""
    cfg = TrainConfig(meta_batch=5, k=k, dtype="float64", device=device)
    core, other = Core(cfg), IMPLS[key](cfg)
    batch = core.batch()
    return max((a - b).abs().max().item() for a, b in zip(core.grad(batch), other.grad(batch)))


def measure(step: Step, seconds: float, device: str, min_iters: int = 3,
            clock: Callable[[], float] = time.perf_counter) -> float:
    for _ in range(2):
        step()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    n, t0 = 0, clock()
    while n < min_iters or clock() - t0 < seconds:
        step()
        n += 1
    sync()
    return n / (clock() - t0)


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--meta-batch", type=int, nargs="+", default=[25, 100])
    p.add_argument("--k", type=int, nargs="+", default=[1, 5])
    p.add_argument("--impls", nargs="+", default=["core", "core-autograd", "loop", "higher", "learn2learn"],
                   choices=list(IMPLS))
    p.add_argument("--threads", type=int, nargs="+", default=[1])
    p.add_argument("--seconds", type=float, default=3.0, help="timing window per measurement")
    p.add_argument("--device", default="cpu")
    p.add_argument("--rounds", type=int, default=1,
                   help="measure every implementation this many times, interleaved, and keep each one's best")
    p.add_argument("--cpu-time", action="store_true",
                   help="rate per second of this thread's CPU time, not wall time (less sensitive to a busy machine)")
    p.add_argument("--load", action="store_true", help="keep one core busy with another process while measuring")
    args = p.parse_args()
    keep_freed_cpu_memory()  # as the CLI and the app do at their entry points

    stop = mp.Event()
    spinner = mp.Process(target=_spin, args=(stop,), daemon=True) if args.load else None
    if spinner:
        spinner.start()
    print(f"# torch {torch.__version__}, device {args.device}"
          + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else "")
          + f", load: {'one core busy' if args.load else 'none'}"
          + f", {'CPU' if args.cpu_time else 'wall'} time, best of {args.rounds} interleaved round(s)")
    impls = []
    for key in args.impls:
        why = available(key, args.device)
        if why:
            print(f"# skipping {key}: {why}")
            continue
        impls.append(key)
        if key not in ("core", "core-graph"):
            print(f"# {key}: max |meta-grad − core| in float64 = {check_agreement(key, args.device, 2):.1e}")
    print(f"{'threads':>7} {'batch':>5} {'k':>2}  " + "  ".join(f"{k:>12}" for k in impls) + "   core / others")
    for threads in args.threads:
        torch.set_num_threads(threads)
        for mb in args.meta_batch:
            for k in args.k:
                cfg = TrainConfig(meta_batch=mb, k=k, alpha=ALPHA, beta=BETA, device=args.device, iterations=10**9)
                built = {key: IMPLS[key](cfg) for key in impls}
                clock = time.thread_time if args.cpu_time else time.perf_counter
                rates = {key: 0.0 for key in impls}
                for _ in range(args.rounds):
                    for key in impls:
                        rates[key] = max(rates[key], measure(built[key].step, args.seconds, args.device, clock=clock))
                ratios = "  ".join(f"{rates['core'] / r:5.1f}x {key}" for key, r in rates.items() if key != "core") \
                    if "core" in rates else ""
                print(f"{threads:7d} {mb:5d} {k:2d}  " + "  ".join(f"{rates[key]:9.1f}/s" for key in impls)
                      + f"   {ratios}", flush=True)
    if spinner:
        stop.set()
        spinner.join()


if __name__ == "__main__":
    main()
