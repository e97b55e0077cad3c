"""Meta-training as an iterator of metric records.

The CLI, the app and the tests all consume ``Trainer``: each ``next()`` runs one meta-iteration
and returns a ``MetricRecord``. The step itself is ``leo_core.step.plain_step``; the trainer runs it with
its accelerations (a flat parameter store and fused Adam, CUDA graphs) and its bookkeeping (divergence
rollback, the β schedule, timing, θ₀'s path) around it, named below. Stopping is simply not asking for the next record; the trainer's
whole state (θ₀, optimizer, random generator, iteration, clock) goes into a checkpoint and comes
back from it, so a run can be paused, stopped and resumed.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, Iterator

import torch

from .algorithms import MetaAlgorithm, get_algorithm
from .config import TrainConfig
from .cuda_graph import CapturedMetaStep, check_cuda_graph
from .device import resolve_device
from .flat_params import FlatParams, fused_adam_step
from .history import MetricRecord, ThetaPath
from .i18n import N_, Message
from .models import MLP, Model, Params, build_model
from .tasks import TaskFamily, get_family

__all__ = ["MetricRecord", "Trainer", "TrainingDiverged", "make_model", "make_family", "train_to_end", "fused_adam_step"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
_RATE_WINDOW = 50  # iterations/s is averaged over this many recent iterations


class TrainingDiverged(RuntimeError):
    """A non-finite loss, gradient or θ₀; the trainer keeps the last finite θ₀. ``message`` is the English text
    that ``str`` gives, as a ``Message`` the app shows in the reader's language."""

    @property
    def message(self) -> Message:
        return self.args[0]


def make_family(cfg: TrainConfig) -> TaskFamily:
    """The registered family configured for ``cfg`` (classification: ``cfg.ways`` classes)."""
    return get_family(cfg.family).configure(cfg)


def make_model(family: TaskFamily, cfg: TrainConfig) -> Model:
    """The run's model (``cfg.model``; output size ``cfg.ways`` for classification), with the
    configured hidden widths when it is an MLP."""
    model = family.configure(cfg).model(cfg.model)
    if isinstance(model, MLP) and not model.batch_norm:  # Omniglot's MLP is the paper's, widths included
        model = replace(model, sizes=(model.sizes[0], *cfg.hidden, model.sizes[-1]))
    return model


class Trainer:
    """Runs ``cfg.iterations`` meta-iterations; iterate it, or call ``step()`` yourself."""

    def __init__(self, cfg: TrainConfig, *, device: torch.device | None = None):
        self.cfg = cfg
        self.family: TaskFamily = make_family(cfg)
        self.algorithm: MetaAlgorithm = get_algorithm(cfg.algorithm, cfg)
        self.device = device if device is not None else resolve_device(cfg.device)
        check_cuda_graph(cfg.cuda_graph, self.device)
        self._captured: CapturedMetaStep | None = None
        self.fallback_reason: str | None = None  # why a requested CUDA graph is not used (eager instead)
        self.dtype = _DTYPES[cfg.dtype]
        self.model: Model = make_model(self.family, cfg)
        # θ₀ is drawn on the CPU so the same seed gives the same start on every device.
        init_gen = torch.Generator().manual_seed(cfg.seed)
        theta0 = {k: v.to(self.device) for k, v in self.model.init(init_gen, self.dtype).items()}
        # Acceleration: all meta-parameters live in one flat leaf tensor (leo_core/flat_params.py).
        self.store = FlatParams(self.algorithm.init_meta_params(theta0, cfg))
        self._shapes = self.store.shapes
        self._flat = self.store.leaf
        self.optimizer = self._make_optimizer()
        self.scheduler = self._make_scheduler()
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.iteration = 0
        self.elapsed = 0.0
        self._recent: list[float] = []
        # Two-parameter models (the linear family): θ₀ after every iteration, for the Landscape page.
        self._init_names = list(self.algorithm.initialization(self.meta_params))
        two = sum(self._shapes[n].numel() for n in self._init_names if n in self._shapes) == 2
        self.theta_path: ThetaPath | None = ThetaPath() if two and len(self._init_names) == 2 else None
        self._record_theta()

    def _record_theta(self) -> None:
        if self.theta_path is not None:
            init = self.algorithm.initialization(self.meta_params)
            a, b = (float(init[n].detach().reshape(-1)[0]) for n in self._init_names)
            self.theta_path.append(self.iteration, a, b)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        # fused: one kernel for the whole update (CPU and CUDA); about 1.6x cheaper than the
        # default on CPU, which matters at ~2 ms per meta-iteration.
        fused = self.device.type in ("cpu", "cuda")
        return _OPTIMIZERS[self.cfg.outer_optimizer]([self._flat], lr=self.cfg.beta, fused=fused or None)

    def _make_scheduler(self) -> torch.optim.lr_scheduler.LambdaLR | None:
        """β's schedule: None for a constant β; "linear": β·(1 − t/iterations) at update t (0-based)."""
        if self.cfg.beta_schedule == "constant":
            return None
        # Reads self.cfg at call time, so a resumed run with more iterations stretches the schedule.
        return torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda t: max(0.0, 1.0 - t / max(self.cfg.iterations, 1))
        )

    @property
    def meta_params(self) -> Params:
        """The meta-parameters as named views into the flat leaf (gradients reach the leaf)."""
        return self.store.views()

    # -- the loop ---------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.iteration >= self.cfg.iterations

    def __iter__(self) -> Iterator[MetricRecord]:
        while not self.done:
            yield self.step()

    def step(self) -> MetricRecord:
        """One meta-iteration: sample a meta-batch, form the meta-gradient, update θ₀."""
        t0 = time.perf_counter()
        cfg = self.cfg
        batch = self.family.sample(cfg.meta_batch, cfg.shots, cfg.query, self.generator, self.device, self.dtype)
        grad, stacked = self._meta_gradient(batch)
        values = stacked.tolist()  # one host synchronisation per iteration for every scalar
        if not all(math.isfinite(v) for v in values):
            self._diverged(values)
        self.store.keep()
        self._flat.grad = grad
        if not fused_adam_step(self.optimizer, self._flat):
            self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.iteration += 1
        self._record_theta()
        dt = time.perf_counter() - t0
        self.elapsed += dt
        self._recent.append(dt)
        if len(self._recent) > _RATE_WINDOW:
            self._recent.pop(0)
        rate = len(self._recent) / sum(self._recent)
        n_acc, has_residual = self._layout
        acc = values[5:5 + n_acc] if n_acc else [None, None]
        inner_residual = values[5 + n_acc] if has_residual else None
        return MetricRecord(self.iteration, *values[:4], rate, self.elapsed, *acc, inner_residual)

    def _compute(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The flat meta-gradient and the logged scalars: meta-loss, pre, post, |g|, |θ|, then the
        accuracies and the inner residual where the family and algorithm have them (``self._layout``)."""
        extra = {"generator": self.generator} if self.algorithm.stochastic else {}
        result = self.algorithm.meta_step(self.model, self.family, self.meta_params, batch, self.cfg, **extra)
        grad = self.store.flatten(result.grads)
        grad_norm = torch.linalg.vector_norm(grad)
        param_norm = torch.linalg.vector_norm(self._flat.detach())
        extras = [a for a in (result.pre_accuracy, result.post_accuracy) if a is not None]
        residual = [] if result.inner_residual is None else [result.inner_residual.to(grad_norm.dtype)]
        self._layout = (len(extras), bool(residual))  # fixed for a run, so a captured graph keeps it
        return grad, torch.stack([result.meta_loss, result.pre_loss, result.post_loss, grad_norm, param_norm,
                                  *extras, *residual])

    def _meta_gradient(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.cfg.cuda_graph or self.fallback_reason is not None:
            return self._compute(batch)
        if self._captured is None or not self._captured.matches(batch):
            try:
                self._captured = CapturedMetaStep(self._compute, batch)
            except Exception as exc:  # capture is an optimisation: fall back to the eager reference
                self.fallback_reason = f"CUDA graph capture failed ({type(exc).__name__}: {exc}); running eagerly"
                self._captured = None
                return self._compute(batch)
        return self._captured(batch)

    def _diverged(self, values: list[float]) -> None:
        meta_loss, _, _, grad_norm, param_norm = values[:5]
        if not math.isfinite(param_norm):
            # The last update produced a non-finite θ₀: go back to the one before it.
            self.store.restore()
            kept = self.iteration - 1
        else:
            kept = self.iteration
        what = (N_("meta-loss") if not math.isfinite(meta_loss) else
                N_("meta-gradient") if not math.isfinite(grad_norm) else "θ₀")
        raise TrainingDiverged(Message(
            N_("training diverged at iteration {n}: the {what} is not finite ({hint}). θ₀ from iteration {kept} is "
               "kept."), n=self.iteration + 1, what=what, hint=self.algorithm.divergence_hint(self.cfg), kept=kept))

    # -- results and state ---------------------------------------------------------------------

    def initialization(self) -> Params:
        """The learned θ₀ (detached copy) a new task adapts from."""
        return {k: v.detach().clone() for k, v in self.algorithm.initialization(self.meta_params).items()}

    def state_dict(self) -> dict[str, Any]:
        return {
            "config": self.cfg.to_dict(),
            "model": self.model.spec(),
            "meta_params": {k: v.detach().cpu() for k, v in self.meta_params.items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "generator": self.generator.get_state().cpu(),
            "generator_device": self.device.type,
            "iteration": self.iteration,
            "elapsed": self.elapsed,
            **({"theta_path": self.theta_path.state()} if self.theta_path is not None else {}),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from ``state_dict()`` of a run with the same family and model."""
        if build_model(state["model"]) != self.model:
            raise ValueError(f"checkpoint model {state['model']} does not match this run's {self.model.spec()}")
        self.store.load(state["meta_params"])
        # The outer optimizer's moments carry over only to the same kind of optimizer.
        if state["config"].get("outer_optimizer") == self.cfg.outer_optimizer:
            self.optimizer.load_state_dict(state["optimizer"])
            for group in self.optimizer.param_groups:
                group["lr"] = self.cfg.beta  # β may be changed on resume
        if state.get("generator_device") == self.device.type:
            self.generator.set_state(state["generator"].to(torch.uint8))
        self.iteration = int(state["iteration"])
        self.elapsed = float(state["elapsed"])
        if self.theta_path is not None:  # an older checkpoint has no path: it starts at the loaded θ₀
            saved_path = state.get("theta_path")
            self.theta_path = ThetaPath.from_state(saved_path) if saved_path else ThetaPath()
            self._record_theta()

        if self.scheduler is not None:  # β (maybe changed) at this iteration of the (maybe longer) schedule
            if state.get("scheduler") is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            self.scheduler.base_lrs = [self.cfg.beta]
            self.scheduler.last_epoch = self.iteration
            for group in self.optimizer.param_groups:
                group["lr"] = self.cfg.beta * self.scheduler.lr_lambdas[0](self.iteration)


def train_to_end(cfg: TrainConfig) -> Trainer:
    """Run ``cfg.iterations`` meta-iterations in this thread and return the finished trainer.

    For short runs whose caller waits (tests, benchmarks, a worker process); the app trains in its
    session runner instead. A divergence raises ``TrainingDiverged``.
    """
    trainer = Trainer(cfg)
    for _ in trainer:
        pass
    return trainer
